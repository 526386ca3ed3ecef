"""The shared type-check action: tsc --noEmit over a package's sources with a generated tsconfig."""

def _relative_to_execroot(path):
    """"../" repeated so that a file in dirname(path) can reach the execroot."""
    return "/".join([".."] * len(path.split("/")[:-1]))

def npm_file(target, path):
    """The file `node_modules/<path>` inside an @npm//<pkg> closure target; fails clearly when absent.

    Args:
      target: an @npm//<pkg> target (its files are the package's dependency closure).
      path: the file's path below node_modules, e.g. "typescript/lib/tsc.js".

    Returns:
      The File.
    """
    want = "node_modules/" + path
    for f in target.files.to_list():
        if f.short_path.endswith(want):
            return f
    fail("{} has no file {}: is the package installed (npm ci) and listed in package.json?".format(target.label, want))

def typecheck_action(ctx, srcs, transitive_srcs, npm, types):
    """Declares `<name>.typecheck.ok`: written only when tsc finds no error in `srcs` (deps are checked too).

    Args:
      ctx: the rule context; its rule has the TSC_ATTRS attributes.
      srcs: the package's .ts files to check.
      transitive_srcs: depset of the .ts files they import (type-checked with them).
      npm: depset of the npm files the sources import.
      types: names of the @types packages to load, e.g. ["node"].

    Returns:
      The stamp File; depend on it to depend on the check.
    """
    tsconfig = ctx.actions.declare_file("{}.typecheck.tsconfig.json".format(ctx.label.name))
    stamp = ctx.actions.declare_file("{}.typecheck.ok".format(ctx.label.name))
    up = _relative_to_execroot(tsconfig.path)
    bin_dir = ctx.bin_dir.path
    config = {
        "extends": up + "/" + ctx.file._base_tsconfig.path,
        "compilerOptions": {
            "noEmit": True,
            "baseUrl": up,
            # Source and generated files (ts_proto_library) live in two trees; `@nexa/x` looks in both.
            "paths": {"@nexa/*": ["*", bin_dir + "/*"]},
            "typeRoots": [up + "/node_modules/@types"],
            "types": types,
            "preserveSymlinks": True,
            "incremental": False,
        },
        "files": [up + "/" + f.path for f in srcs],
        "include": [],
    }
    ctx.actions.write(tsconfig, json.encode(config))
    ctx.actions.run_shell(
        # npm packages resolve through node_modules at the execroot root (package.json "exports" included), a link
        # to @npm made inside the action's sandbox.
        command = '[[ -e node_modules ]] || ln -s external/npm/node_modules node_modules; "$1" "$2" -p "$3" && : > "$4"',
        arguments = [ctx.executable._node.path, npm_file(ctx.attr._typescript, "typescript/lib/tsc.js").path, tsconfig.path, stamp.path],
        inputs = depset([tsconfig, ctx.file._base_tsconfig] + srcs, transitive = [transitive_srcs, npm, ctx.attr._typescript.files, ctx.attr._types_node.files]),
        outputs = [stamp],
        tools = [ctx.executable._node],
        mnemonic = "TsTypeCheck",
        progress_message = "Type-checking {} (typecheck)".format(ctx.label),
    )
    return stamp

TSC_ATTRS = {
    "_node": attr.label(default = "@nexa_node//:node", executable = True, cfg = "exec", allow_single_file = True),
    "_typescript": attr.label(default = "@npm//typescript"),
    "_types_node": attr.label(default = "@npm//@types/node"),
    "_base_tsconfig": attr.label(default = "//:tsconfig.json", allow_single_file = True),
}
