"""Providers shared by the TypeScript and protobuf rule families."""

TsInfo = provider(
    doc = "TypeScript sources of a package and everything it needs to type-check, bundle or test it.",
    fields = {
        "srcs": "depset[File]: this target's own .ts sources (source or generated)",
        "transitive_srcs": "depset[File]: .ts sources of this target and all its TS deps",
        "npm": "depset[File]: files of every npm package (with dependency closure) this target and its deps use",
        "typecheck": "depset[File]: type-check stamps of this target and its deps (built with it)",
        "runfiles": "runfiles: data files this target and its deps need at run time",
        "native_npm": "depset[File]: closures of npm packages with native addons used by this target and its deps " +
                      "(never bundled; loaded from @npm at run time)",
    },
)

# Packages with native addons (.node files) cannot be bundled; they are loaded from @npm at run time.
NATIVE_PACKAGES = ["better-sqlite3", "koffi", "@swc/core", "esbuild", "fsevents", "tiktoken"]

def native_npm_files(npm_deps, extra = []):
    """depset of the closures of the native packages among `npm_deps` (@npm//<name> targets)."""
    names = NATIVE_PACKAGES + extra
    return [d.files for d in npm_deps if d.label.package in names]

def collect_ts(deps):
    """Merges TsInfo of `deps` into (transitive_srcs, npm, typecheck, runfiles) lists of depsets."""
    infos = [d[TsInfo] for d in deps]
    return struct(
        transitive_srcs = [i.transitive_srcs for i in infos],
        npm = [i.npm for i in infos],
        typecheck = [i.typecheck for i in infos],
        runfiles = [i.runfiles for i in infos],
        native_npm = [i.native_npm for i in infos],
    )

def runfiles_path(ctx, f):
    """Path of `f` under the runfiles root (external repos without the legacy prefix)."""
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path
