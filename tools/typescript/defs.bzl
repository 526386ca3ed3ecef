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

def module_tests(name, deps = [], npm_deps = [], data = [], size = None, integration_deps = [], integration_data = []):
    """A module's two test targets, the pair governance requires of every module with code.

    `<name>_test` runs the unit tests (`*.test.ts`: the module's own functions); `<name>_integration_test`, tagged
    `integration`, runs `*.integration.test.ts` (the module with real files, processes or other modules). Both
    share `deps`, `npm_deps`, `data` and `size`; `integration_deps` / `integration_data` are for the second only.
    """
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
        deps = deps + integration_deps,
    )
