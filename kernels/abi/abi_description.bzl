"""abi_description(): a C ABI header read, checked against the C compiler and measured, as data for the conformance tests.

    abi_description(name = "nexa_kernels_abi", header = "nexa_kernels.h")

makes, from the header alone (nothing is listed by hand, so a new declaration is covered at once):
  <name>_probe.c      a C program (abi_gen probe) with one _Static_assert per constant, callback, struct field and
                      function stating the type the ABI reader saw; compiling it as C11 with -Werror proves the
                      reader and the C compiler agree
  <name>_probe        that program (cc_binary), built with the system C compiler against the header
  <name>_layout.json  what it prints: size and alignment of every struct, offset, size and alignment of every field
  <name>.json         the description: the header as read plus the measured layout (abi_gen describe; the fields
                      must tile each struct as C lays it out), read by the koffi conformance test
  <name>_view.rs      Rust entries (abi_gen rust) pairing each header fact with the Rust item's, included by
                      abi_view.rs in //kernels/abi:abi_test
"""

load("//tools/typescript:defs.bzl", "TsBinaryInfo")

def _abi_gen_impl(ctx):
    tool = ctx.attr._abi_gen[TsBinaryInfo]
    src = ctx.file.src
    out = ctx.outputs.out
    args = ["--preserve-symlinks", "--preserve-symlinks-main", tool.bundle.path, ctx.attr.command]
    inputs = [tool.bundle, src]
    if ctx.attr.command == "rust":
        args.append("--description=" + src.path)
    else:
        args.append("--header=" + src.path)
    if ctx.attr.command == "probe":
        args.append("--include=" + src.short_path)
    if ctx.attr.command == "describe":
        if not ctx.file.layout:
            fail("{}: describe needs layout".format(ctx.label))
        args.append("--layout=" + ctx.file.layout.path)
        inputs.append(ctx.file.layout)
    args += ["--as=" + src.short_path, "--out=" + out.path]
    ctx.actions.run(
        executable = tool.node,
        arguments = args,
        inputs = depset(inputs, transitive = [tool.externals]),
        outputs = [out],
        mnemonic = "AbiGen",
        progress_message = "abi_gen {} {}".format(ctx.attr.command, src.short_path),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

_abi_gen = rule(
    implementation = _abi_gen_impl,
    attrs = {
        "command": attr.string(mandatory = True, values = ["probe", "describe", "rust"]),
        "src": attr.label(mandatory = True, allow_single_file = [".h", ".json"], doc = "The header (probe, describe) or the description (rust)."),
        "layout": attr.label(allow_single_file = [".json"], doc = "describe: the probe's output."),
        "out": attr.output(mandatory = True),
        "_abi_gen": attr.label(default = "//kernels/abi:abi_gen", providers = [TsBinaryInfo], cfg = "exec"),
    },
    doc = "Runs one abi_gen step (see abi_gen.ts).",
)

# The probe must compile cleanly as C11: a header that does not is not a portable C ABI. (-Wno-comment: the header's
# prose writes `*_new/*_train`, which -Wall reads as a nested comment opener.)
PROBE_COPTS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wno-comment"]

def abi_description(name, header, visibility = None):
    """The probe, layout, description and Rust view of `header` (see the file comment).

    Args:
      name: prefix of the targets; `:<name>` is the description (<name>.json), `:<name>_view` the Rust entries.
      header: the C header, a file of this package (source or generated).
      visibility: of the description and the Rust entries.
    """
    _abi_gen(name = name + "_probe_src", command = "probe", src = header, out = name + "_probe.c")
    native.cc_binary(
        name = name + "_probe",
        srcs = [name + "_probe.c", header],
        copts = PROBE_COPTS,
    )
    native.genrule(
        name = name + "_layout",
        outs = [name + "_layout.json"],
        cmd = "$(execpath :{}_probe) > $@".format(name),
        tools = [":" + name + "_probe"],
    )
    _abi_gen(name = name, command = "describe", src = header, layout = ":" + name + "_layout", out = name + ".json", visibility = visibility)
    _abi_gen(name = name + "_view", command = "rust", src = ":" + name, out = name + "_view.rs", visibility = visibility)
