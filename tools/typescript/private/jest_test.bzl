"""jest_test: type-check and run a package's *.test.ts files with jest (@swc/jest transform, JUnit XML)."""

load(":providers.bzl", "TsInfo", "collect_ts", "runfiles_path")
load(":tsc.bzl", "TSC_ATTRS", "npm_file", "typecheck_action")

_LAUNCHER = """#!/usr/bin/env bash
# Runs jest for {label} from its runfiles tree.
set -euo pipefail
if [[ -z "${{RUNFILES_DIR:-}}" ]]; then
  if [[ -n "${{TEST_SRCDIR:-}}" ]]; then RUNFILES_DIR="$TEST_SRCDIR"; else RUNFILES_DIR="$0.runfiles"; fi
fi
export RUNFILES_DIR
exec "$RUNFILES_DIR/{node}" --preserve-symlinks --preserve-symlinks-main \\
  "$RUNFILES_DIR/{jest}" --config "$RUNFILES_DIR/{config}" --ci --runInBand {args} "$@"
"""

def _jest_test_impl(ctx):
    srcs = ctx.files.srcs
    deps = collect_ts(ctx.attr.deps)
    tools_npm = [ctx.attr._jest.files, ctx.attr._swc_jest.files, ctx.attr._jest_junit.files, ctx.attr._types_jest.files]
    npm = depset(transitive = [d.files for d in ctx.attr.npm_deps] + deps.npm)
    transitive_srcs = depset(srcs, transitive = deps.transitive_srcs)

    # swc strips types without checking them, so the tests and their deps are type-checked first.
    stamp = typecheck_action(ctx, srcs, transitive_srcs, depset(transitive = [npm] + tools_npm), ["node", "jest"])

    config = ctx.actions.declare_file(ctx.label.name + ".jest.config.js")
    ctx.actions.expand_template(
        template = ctx.file._config_template,
        output = config,
        substitutions = {
            "{WORKSPACE}": ctx.workspace_name,
            "{PACKAGE}": ctx.label.package,
            "{TEST_FILES}": json.encode([f.short_path for f in srcs]),
        },
    )
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        launcher,
        _LAUNCHER.format(
            label = ctx.label,
            node = runfiles_path(ctx, ctx.file._node),
            jest = runfiles_path(ctx, npm_file(ctx.attr._jest, "jest/bin/jest.js")),
            config = runfiles_path(ctx, config),
            args = " ".join(ctx.attr.jest_args),
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(
        files = srcs + ctx.files.data + [config, stamp, ctx.file._node],
        transitive_files = depset(transitive = [transitive_srcs, npm] + tools_npm + deps.typecheck),
    )
    for d in ctx.attr.data:
        runfiles = runfiles.merge(d[DefaultInfo].default_runfiles)
    for r in deps.runfiles:
        runfiles = runfiles.merge(r)
    return [DefaultInfo(executable = launcher, runfiles = runfiles)]

_ATTRS = dict(TSC_ATTRS)
_ATTRS.update({
    "srcs": attr.label_list(allow_files = [".ts"], mandatory = True, doc = "The package's *.test.ts files."),
    "deps": attr.label_list(providers = [TsInfo], doc = "ts_project / ts_proto_library targets under test."),
    "npm_deps": attr.label_list(doc = "npm packages the tests import directly (@npm//<name>)."),
    "data": attr.label_list(allow_files = True, doc = "Runtime files (fixtures, binaries), found through runfiles."),
    "jest_args": attr.string_list(doc = "Extra jest CLI arguments."),
    "_config_template": attr.label(default = ":jest.config.tpl.js", allow_single_file = True),
    "_jest": attr.label(default = "@npm//jest"),
    "_swc_jest": attr.label(default = "@npm//@swc/jest"),
    "_jest_junit": attr.label(default = "@npm//jest-junit"),
    "_types_jest": attr.label(default = "@npm//@types/jest"),
})

jest_test = rule(
    implementation = _jest_test_impl,
    attrs = _ATTRS,
    test = True,
    doc = "Jest tests of one package (prefer one target per package: each jest start costs seconds).",
)
