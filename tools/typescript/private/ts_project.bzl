"""ts_project: type-check a TypeScript package with tsc and emit CommonJS JavaScript (esbuild transform)."""

load(":providers.bzl", "TsInfo", "collect_ts", "native_npm_files")
load(":tsc.bzl", "TSC_ATTRS", "npm_file", "typecheck_action")

def _ts_project_impl(ctx):
    srcs = ctx.files.srcs
    for f in srcs:
        if f.owner.package != ctx.label.package:
            fail("{}: source {} is not in this package; depend on its ts_project instead".format(ctx.label, f.short_path))
    deps = collect_ts(ctx.attr.deps)
    npm = depset(transitive = [d.files for d in ctx.attr.npm_deps] + deps.npm)
    transitive_srcs = depset(srcs, transitive = deps.transitive_srcs)

    stamp = typecheck_action(ctx, srcs, transitive_srcs, npm, ["node"])

    # JavaScript emit: a per-file transform (no bundling); `@nexa/` imports are resolved when bundling (ts_binary).
    js = []
    for f in srcs:
        if f.path.endswith(".d.ts"):
            continue
        js.append(ctx.actions.declare_file(f.basename[:-len(".ts")] + ".js"))
    if js:
        esbuild = npm_file(ctx.attr._esbuild, "@esbuild/linux-x64/bin/esbuild")
        args = ctx.actions.args()
        args.add_all([f for f in srcs if not f.path.endswith(".d.ts")])
        args.add("--format=cjs")
        args.add("--platform=node")
        args.add("--target=node20")
        args.add("--log-level=warning")
        args.add("--outdir=" + js[0].dirname)
        ctx.actions.run(
            executable = esbuild,
            arguments = [args],
            inputs = srcs,
            outputs = js,
            mnemonic = "TsEmit",
            progress_message = "Emitting JavaScript for {}".format(ctx.label),
        )

    runfiles = ctx.runfiles(files = ctx.files.data)
    for d in ctx.attr.data:
        runfiles = runfiles.merge(d[DefaultInfo].default_runfiles)
    for r in deps.runfiles:
        runfiles = runfiles.merge(r)
    typecheck = depset([stamp], transitive = deps.typecheck)
    return [
        DefaultInfo(files = depset(js + [stamp]), runfiles = runfiles),
        TsInfo(
            srcs = depset(srcs),
            transitive_srcs = transitive_srcs,
            npm = npm,
            typecheck = typecheck,
            runfiles = runfiles,
            native_npm = depset(transitive = native_npm_files(ctx.attr.npm_deps) + deps.native_npm),
        ),
        OutputGroupInfo(typecheck = typecheck),
    ]

_ATTRS = dict(TSC_ATTRS)
_ATTRS.update({
    "srcs": attr.label_list(allow_files = [".ts"], doc = "TypeScript sources of this package (no tests)."),
    "deps": attr.label_list(providers = [TsInfo], doc = "ts_project or ts_proto_library targets imported via @nexa/..."),
    "npm_deps": attr.label_list(doc = "npm packages imported, as @npm//<name> labels."),
    "data": attr.label_list(allow_files = True, doc = "Files needed at run time, found through runfiles."),
    "_esbuild": attr.label(default = "@npm//esbuild"),
})

ts_project = rule(
    implementation = _ts_project_impl,
    attrs = _ATTRS,
    doc = "A TypeScript package: strict tsc type-check (a build failure on any type error) and CommonJS emit.",
)
