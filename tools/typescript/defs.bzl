"""Public face of the TypeScript rule family: ts_project, ts_binary, jest_test (and the TsInfo provider).

Names and core attributes follow rules_ts (`ts_project`), rules_esbuild and rules_jest, so a team with network
access can switch to upstream by changing this load. Cross-package imports use the `@nexa/<workspace path>`
prefix; npm packages are `@npm//<name>` labels generated from package-lock.json.
"""

load("//tools/typescript/private:jest_test.bzl", _jest_test = "jest_test")
load("//tools/typescript/private:providers.bzl", _TsInfo = "TsInfo")
load("//tools/typescript/private:ts_binary.bzl", _TsBinaryInfo = "TsBinaryInfo", _ts_binary = "ts_binary")
load("//tools/typescript/private:ts_project.bzl", _ts_project = "ts_project")

TsInfo = _TsInfo
ts_project = _ts_project
ts_binary = _ts_binary
TsBinaryInfo = _TsBinaryInfo
jest_test = _jest_test

def _absolute(label):
    # "//a/b" and "//a/b:b" (or "@r//a/b" and "@r//a/b:b") name one target: labels are compared in full form
    if label.startswith(":"):
        return "//{}{}".format(native.package_name(), label)
    if "//" in label and ":" not in label.split("//")[1]:
        return "{}:{}".format(label, label.split("/")[-1])
    return label

def _union(*lists):
    seen = {}
    for labels in lists:
        for label in labels:
            seen.setdefault(_absolute(label), True)
    return seen.keys()

def module_tests(name, deps = [], npm_deps = [], data = [], size = None, integration_deps = [], integration_data = []):
    """A module's two test targets, the pair governance requires of every module with code.

    The module's library (the `ts_project` named `name`, declared above the call) is embedded, like rules_go's
    `embed`: both tests depend on it and on its `deps` and `npm_deps`, so the arguments name only what the tests
    use beyond the library (test fixtures, other contracts).

    Args:
      name: the module's name; declares `<name>_test` (the unit tests, `*.test.ts`: the module's own functions)
        and `<name>_integration_test`, tagged `integration` (`*.integration.test.ts`: the module with real files,
        processes or other modules).
      deps: ts_project / ts_proto_library targets the tests import beyond the library's.
      npm_deps: `@npm//` packages the tests import beyond the library's.
      data: runtime files of both tests.
      size: Bazel test size of both tests.
      integration_deps: deps of the integration tests only.
      integration_data: data of the integration tests only.
    """
    library = native.existing_rule(name)
    if library:
        deps = _union([":" + name], library.get("deps", []), deps)
        npm_deps = _union(library.get("npm_deps", []), npm_deps)
    _jest_test(
        name = name + "_test",
        size = size,
        srcs = native.glob(["*.test.ts"], exclude = ["*.integration.test.ts"]),
        data = data,
        npm_deps = npm_deps,
        deps = deps,
    )
    _jest_test(
        name = name + "_integration_test",
        size = size,
        srcs = native.glob(["*.integration.test.ts"]),
        data = data + integration_data,
        npm_deps = npm_deps,
        tags = ["integration"],
        deps = _union(deps, integration_deps),
    )

def ts_module(
        name,
        deps = [],
        npm_deps = [],
        visibility = None,
        test_deps = [],
        test_npm_deps = [],
        test_data = [],
        test_size = None,
        integration_deps = [],
        integration_data = []):
    """A module's library and its test pair, the usual shape of a module BUILD file.

    Declares `:<name>`, a ts_project of the package's `*.ts` files but tests and `main.ts` (an entry point, bundled
    by a ts_binary), compiled against `@types/node`, and `module_tests(name)` (which embeds the library).

    Args:
      name: the module's name (the package's last component).
      deps: ts_project / ts_proto_library targets the library imports.
      npm_deps: `@npm//` packages the library imports beyond `@types/node`.
      visibility: the library's visibility (a package group of the layering, tests/governance/layers.bzl).
      test_deps: what the tests import beyond the library.
      test_npm_deps: `@npm//` packages the tests import beyond the library's.
      test_data: runtime files of both tests.
      test_size: Bazel test size of both tests.
      integration_deps: deps of the integration tests only.
      integration_data: data of the integration tests only.
    """
    _ts_project(
        name = name,
        srcs = native.glob(
            ["*.ts"],
            exclude = [
                "*.test.ts",
                "main.ts",
            ],
        ),
        npm_deps = _union(["@npm//@types/node"], npm_deps),
        visibility = visibility,
        deps = deps,
    )
    module_tests(
        name = name,
        size = test_size,
        data = test_data,
        npm_deps = test_npm_deps,
        deps = test_deps,
        integration_deps = integration_deps,
        integration_data = integration_data,
    )
