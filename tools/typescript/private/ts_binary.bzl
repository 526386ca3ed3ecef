"""ts_binary: bundle a TypeScript entry point with esbuild into one .js file run by the pinned node."""

load(":providers.bzl", "NATIVE_PACKAGES", "TsInfo", "collect_ts", "native_npm_files", "runfiles_path")
load(":tsc.bzl", "TSC_ATTRS", "npm_file", "typecheck_action")

TsBinaryInfo = provider(
    doc = "A bundled node tool: stages run `node <bundle>` inside actions.",
    fields = {
        "bundle": "File: the single-file CommonJS bundle",
        "node": "File: the pinned node binary",
        "externals": "depset[File]: npm files of packages left out of the bundle (native addons)",
    },
)

_LAUNCHER = """#!/usr/bin/env bash
# Runs the bundled node tool {label}.
set -euo pipefail
if [[ -z "${{RUNFILES_DIR:-}}" ]]; then
  if [[ -d "$0.runfiles" ]]; then RUNFILES_DIR="$0.runfiles"; else RUNFILES_DIR="${{TEST_SRCDIR:-$0.runfiles}}"; fi
fi
export RUNFILES_DIR
export NODE_PATH="$RUNFILES_DIR/npm/node_modules"
# Stack traces name TypeScript lines with NODE_OPTIONS=--enable-source-maps (the bundle's .map file lies beside it);
# not on by default: node then parses the whole map at every start.
exec "$RUNFILES_DIR/{node}" --preserve-symlinks --preserve-symlinks-main "$RUNFILES_DIR/{bundle}" "$@"
"""

def _ts_binary_impl(ctx):
    entry = ctx.file.entry
    deps = collect_ts(ctx.attr.deps)
    npm = depset(transitive = [d.files for d in ctx.attr.npm_deps] + deps.npm)
    transitive_srcs = depset([entry], transitive = deps.transitive_srcs)
    stamp = typecheck_action(ctx, [entry], transitive_srcs, npm, ["node"])

    externals = NATIVE_PACKAGES + ctx.attr.externals
    external_files = depset(transitive = native_npm_files(ctx.attr.npm_deps, ctx.attr.externals) + deps.native_npm)

    # esbuild resolves @nexa/ through a generated tsconfig (source tree first, then generated files).
    tsconfig = ctx.actions.declare_file(ctx.label.name + ".esbuild.tsconfig.json")
    up = "/".join([".."] * len(tsconfig.dirname.split("/")))
    ctx.actions.write(tsconfig, json.encode({
        "compilerOptions": {"baseUrl": up, "paths": {"@nexa/*": ["*", ctx.bin_dir.path + "/*"]}},
    }))
    bundle = ctx.actions.declare_file(ctx.label.name + ".bundle.js")
    source_map = ctx.actions.declare_file(ctx.label.name + ".bundle.js.map")
    args = ctx.actions.args()
    args.add(entry.path)
    args.add("--bundle")
    args.add("--platform=node")
    args.add("--target=node20")
    args.add("--format=cjs")

    # A separate map: an inline one is most of the file node reads and compiles at every start.
    args.add("--sourcemap=linked")
    args.add("--legal-comments=none")
    args.add("--log-level=warning")
    args.add("--preserve-symlinks")
    args.add("--tsconfig=" + tsconfig.path)
    args.add_all(externals, format_each = "--external:%s")
    args.add("--outfile=" + bundle.path)
    ctx.actions.run(
        executable = npm_file(ctx.attr._esbuild, "@esbuild/linux-x64/bin/esbuild"),
        arguments = [args],
        inputs = depset([tsconfig, stamp], transitive = [transitive_srcs, npm]),
        outputs = [bundle, source_map],
        env = {"NODE_PATH": "external/npm/node_modules"},
        mnemonic = "EsbuildBundle",
        progress_message = "Bundling {}".format(ctx.label),
    )

    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(launcher, _LAUNCHER.format(
        label = ctx.label,
        node = runfiles_path(ctx, ctx.file._node),
        bundle = runfiles_path(ctx, bundle),
    ), is_executable = True)
    runfiles = ctx.runfiles(files = [bundle, source_map, ctx.file._node] + ctx.files.data, transitive_files = external_files)
    for d in ctx.attr.data:
        runfiles = runfiles.merge(d[DefaultInfo].default_runfiles)
    for r in deps.runfiles:
        runfiles = runfiles.merge(r)
    return [
        DefaultInfo(executable = launcher, files = depset([launcher, bundle]), runfiles = runfiles),
        TsBinaryInfo(bundle = bundle, node = ctx.file._node, externals = external_files),
    ]

_ATTRS = dict(TSC_ATTRS)
_ATTRS.update({
    "entry": attr.label(allow_single_file = [".ts"], mandatory = True, doc = "The entry point (main.ts)."),
    "deps": attr.label_list(providers = [TsInfo], doc = "ts_project / ts_proto_library targets the entry imports."),
    "npm_deps": attr.label_list(doc = "npm packages used (bundled, except native addons which stay external)."),
    "externals": attr.string_list(doc = "More npm package names to keep out of the bundle."),
    "data": attr.label_list(allow_files = True, doc = "Runtime files, found through runfiles."),
    "_esbuild": attr.label(default = "@npm//esbuild"),
})

ts_binary = rule(
    implementation = _ts_binary_impl,
    attrs = _ATTRS,
    executable = True,
    doc = "A node tool: the entry and its deps type-checked and bundled by esbuild into `<name>.bundle.js` (never the name of a ts_project output, whatever the sources are called).",
)
