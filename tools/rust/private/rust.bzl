"""Rust rules that call rustc directly (std only, edition 2021 by default)."""

load("@nexa_cc//:defs.bzl", "CC", "TOOLS_ENV")

RustInfo = provider(
    doc = "A compiled Rust library crate.",
    fields = {
        "crate_name": "string: the crate name other crates use in `use` paths",
        "rlib": "File: the compiled .rlib",
        "transitive_rlibs": "depset[File]: this rlib and every rlib it depends on (for -L dependency=)",
        "srcs": "depset[File]: this crate's sources (for rust_test(crate = ...))",
        "crate_root": "File: the crate root source file",
        "deps": "list[Target]: direct rust_library deps (for rust_test(crate = ...))",
        "edition": "string: the crate's edition",
        "rustc_flags": "list[string]: the crate's extra rustc flags",
    },
)

_OPT_FLAGS = {
    "opt": ["-C", "opt-level=3"],
    "fastbuild": ["-C", "opt-level=1"],
    "dbg": ["-C", "opt-level=0", "-C", "debuginfo=2"],
}

def _crate_name(ctx):
    return ctx.attr.crate_name or ctx.label.name.replace("-", "_")

def _crate_root(ctx, srcs, default_name):
    if ctx.file.crate_root:
        return ctx.file.crate_root
    for f in srcs:
        if f.basename == default_name:
            return f
    if len(srcs) == 1:
        return srcs[0]
    fail("{}: no crate root: set crate_root, or name one of srcs {}".format(ctx.label, default_name))

def _compile(ctx, crate_name, crate_type, crate_root, srcs, deps, edition, extra_flags, output, extra_inputs = []):
    """Runs one rustc action producing `output`."""
    direct = [d[RustInfo] for d in deps]
    transitive = depset(transitive = [d.transitive_rlibs for d in direct])
    args = ctx.actions.args()
    args.add(crate_root.path)
    args.add("--crate-name", crate_name)
    if crate_type == "test":
        args.add("--test")
    else:
        args.add("--crate-type", crate_type)
    args.add("--edition", edition)
    args.add_all(_OPT_FLAGS[ctx.var["COMPILATION_MODE"]])

    # Reproducible outputs: sources are execroot-relative paths, no incremental state, fixed codegen units.
    args.add("-C", "codegen-units=1" if ctx.var["COMPILATION_MODE"] == "opt" else "codegen-units=4")
    args.add("-C", "metadata=" + str(ctx.label).replace("/", "_").replace(":", "_").replace("@", ""))
    for d in direct:
        args.add("--extern", "{}={}".format(d.crate_name, d.rlib.path))
    dirs = {}
    for f in transitive.to_list():
        dirs[f.dirname] = True
    for d in sorted(dirs.keys()):
        args.add("-L", "dependency=" + d)

    # rustc links executables and cdylibs through the C compiler driver resolved by @nexa_cc.
    if crate_type != "rlib":
        args.add("-C", "linker=" + CC)
    args.add_all(extra_flags)
    args.add("-o", output.path)
    ctx.actions.run(
        executable = ctx.executable._rustc,
        arguments = [args],
        inputs = depset(srcs + extra_inputs, transitive = [transitive]),
        outputs = [output],
        # The driver runs as/ld/collect2 by name; strict action env gives no PATH otherwise.
        env = dict(TOOLS_ENV),
        mnemonic = "Rustc",
        progress_message = "Compiling Rust {} {} ({})".format(crate_type, crate_name, ctx.label),
    )
    return transitive

_COMMON_ATTRS = {
    "srcs": attr.label_list(allow_files = [".rs"], doc = "Rust sources of the crate."),
    "crate_root": attr.label(allow_single_file = [".rs"], doc = "The crate root; defaults to lib.rs/main.rs in srcs."),
    "crate_name": attr.string(doc = "Crate name; defaults to the target name with - replaced by _."),
    "deps": attr.label_list(providers = [RustInfo], doc = "rust_library crates this crate uses."),
    "edition": attr.string(default = "2021", values = ["2015", "2018", "2021", "2024"]),
    "rustc_flags": attr.string_list(doc = "Extra rustc flags, e.g. [\"-C\", \"opt-level=3\"]. No -C target-cpu by default."),
    "compile_data": attr.label_list(allow_files = True, doc = "Files read at compile time (include_str!, include_bytes!)."),
    "_rustc": attr.label(default = "@nexa_rust//:rustc", executable = True, cfg = "exec", allow_single_file = True),
}

# ---- rust_library ------------------------------------------------------------------------------------------------

def _rust_library_impl(ctx):
    name = _crate_name(ctx)
    root = _crate_root(ctx, ctx.files.srcs, "lib.rs")
    rlib = ctx.actions.declare_file("lib{}.rlib".format(name))
    transitive = _compile(
        ctx,
        name,
        "rlib",
        root,
        ctx.files.srcs,
        ctx.attr.deps,
        ctx.attr.edition,
        ctx.attr.rustc_flags,
        rlib,
        ctx.files.compile_data,
    )
    return [
        DefaultInfo(files = depset([rlib])),
        RustInfo(
            crate_name = name,
            rlib = rlib,
            transitive_rlibs = depset([rlib], transitive = [transitive]),
            srcs = depset(ctx.files.srcs + ctx.files.compile_data),
            crate_root = root,
            deps = ctx.attr.deps,
            edition = ctx.attr.edition,
            rustc_flags = ctx.attr.rustc_flags,
        ),
    ]

rust_library = rule(
    implementation = _rust_library_impl,
    attrs = _COMMON_ATTRS,
    doc = "A Rust library crate (.rlib) other Rust targets depend on.",
)

# ---- rust_shared_library -----------------------------------------------------------------------------------------

def _rust_shared_library_impl(ctx):
    name = _crate_name(ctx)
    root = _crate_root(ctx, ctx.files.srcs, "lib.rs")
    so = ctx.actions.declare_file("lib{}.so".format(name))
    _compile(
        ctx,
        name,
        "cdylib",
        root,
        ctx.files.srcs,
        ctx.attr.deps,
        ctx.attr.edition,
        ctx.attr.rustc_flags + ["-C", "link-arg=-Wl,-soname,lib{}.so".format(name)],
        so,
        ctx.files.compile_data,
    )
    return [DefaultInfo(files = depset([so]), runfiles = ctx.runfiles(files = [so]))]

rust_shared_library = rule(
    implementation = _rust_shared_library_impl,
    attrs = _COMMON_ATTRS,
    doc = "A C-ABI shared library (cdylib, lib<crate_name>.so) for C, C++ (cc_import) or TypeScript (koffi) callers.",
)

# ---- rust_binary / rust_test -------------------------------------------------------------------------------------

def _executable_impl(ctx, crate_type):
    if crate_type == "test" and ctx.attr.crate:
        info = ctx.attr.crate[RustInfo]
        name = info.crate_name
        root = info.crate_root
        srcs = info.srcs.to_list() + ctx.files.srcs
        deps = info.deps + ctx.attr.deps
        edition = info.edition
        flags = info.rustc_flags + ctx.attr.rustc_flags
    else:
        name = _crate_name(ctx)
        root = _crate_root(ctx, ctx.files.srcs, "main.rs" if crate_type == "bin" else "lib.rs")
        srcs = ctx.files.srcs
        deps = ctx.attr.deps
        edition = ctx.attr.edition
        flags = ctx.attr.rustc_flags
    exe = ctx.actions.declare_file(ctx.label.name)
    _compile(ctx, name, crate_type, root, srcs, deps, edition, flags, exe, ctx.files.compile_data)
    runfiles = ctx.runfiles(files = ctx.files.data)
    for d in ctx.attr.data:
        runfiles = runfiles.merge(d[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = exe, files = depset([exe]), runfiles = runfiles)]

def _rust_binary_impl(ctx):
    return _executable_impl(ctx, "bin")

def _rust_test_impl(ctx):
    return _executable_impl(ctx, "test")

_EXEC_ATTRS = dict(_COMMON_ATTRS)
_EXEC_ATTRS.update({
    "data": attr.label_list(allow_files = True, doc = "Runtime files (found through runfiles)."),
})

rust_binary = rule(
    implementation = _rust_binary_impl,
    attrs = _EXEC_ATTRS,
    executable = True,
    doc = "A Rust executable.",
)

_TEST_ATTRS = dict(_EXEC_ATTRS)
_TEST_ATTRS.update({
    "crate": attr.label(providers = [RustInfo], doc = "Compile this rust_library's sources with --test (unit tests)."),
})

rust_test = rule(
    implementation = _rust_test_impl,
    attrs = _TEST_ATTRS,
    test = True,
    doc = "Rust tests (`#[test]` functions) built with rustc --test; either of `crate` or srcs.",
)
