"""cuda_archive: one nvcc action per source, then a deterministic static library (ar rcsD).

nvcc (by its real path, through @nexa_cuda//:nvcc), its host compiler and ar are the tools resolved by the
toolchain repositories (tools/toolchains/repositories.bzl); actions get their PATH from @nexa_cc too.
"""

load("@nexa_cc//:defs.bzl", "AR", "GCC", "TOOLS_ENV")

def _cuda_archive_impl(ctx):
    headers = depset(ctx.files.hdrs, transitive = [d[CcInfo].compilation_context.headers for d in ctx.attr.deps if CcInfo in d])
    includes = ["-I."]
    for d in ctx.attr.deps:
        if CcInfo in d:
            for inc in d[CcInfo].compilation_context.includes.to_list() + d[CcInfo].compilation_context.system_includes.to_list():
                includes.append("-I" + inc)
    includes.append("-I" + ctx.bin_dir.path)
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_objs/{}/{}.o".format(ctx.label.name, src.basename.rpartition(".")[0]))
        args = ctx.actions.args()
        args.add("-c", src.path)
        args.add("-o", obj.path)
        args.add("-std=c++17")
        args.add("-O3")
        args.add("-arch=" + ctx.attr.gpu_arch)
        args.add("-ccbin", GCC)
        args.add_all(["-Xcompiler", "-fPIC"])
        args.add_all(includes)
        args.add_all(ctx.attr.copts)
        ctx.actions.run(
            executable = ctx.executable._nvcc,
            arguments = [args],
            inputs = depset([src], transitive = [headers]),
            outputs = [obj],
            # nvcc runs the host compiler given by -ccbin, which runs `as` by name.
            env = dict(TOOLS_ENV),
            mnemonic = "Nvcc",
            progress_message = "Compiling CUDA {}".format(src.short_path),
        )
        objects.append(obj)
    archive = ctx.actions.declare_file("lib{}.a".format(ctx.label.name.rpartition("_archive")[0] or ctx.label.name))
    ctx.actions.run(
        executable = AR,
        arguments = ["rcsD", archive.path] + [o.path for o in objects],
        inputs = objects,
        outputs = [archive],
        env = dict(TOOLS_ENV),
        mnemonic = "CudaArchive",
        progress_message = "Archiving {}".format(archive.short_path),
    )
    return [
        DefaultInfo(files = depset([archive]), runfiles = ctx.runfiles(files = [archive])),
        OutputGroupInfo(objects = depset(objects)),
    ]

cuda_archive = rule(
    implementation = _cuda_archive_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".cu", ".cc", ".cpp"], mandatory = True),
        "hdrs": attr.label_list(allow_files = [".h", ".cuh", ".hpp"]),
        "deps": attr.label_list(),
        "copts": attr.string_list(),
        "gpu_arch": attr.string(default = "sm_90"),
        "_nvcc": attr.label(default = "@nexa_cuda//:nvcc", executable = True, cfg = "exec", allow_single_file = True),
    },
)
