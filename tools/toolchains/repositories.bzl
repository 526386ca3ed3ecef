"""Repository rules that detect host toolchains, check them against pins.bzl and expose them to the build.

Nothing here downloads anything (tools/setup/setup.sh installs what is missing). Each rule produces a small
external repository:
  @nexa_node   //:node (the node binary), //:BUILD info
  @nexa_rust   //:rustc (runs the real rustc by its path, not the rustup proxy), //:rustfmt (the real rustfmt)
  @nexa_cc     //:defs.bzl: absolute paths of cc, gcc, ar (and as, ld) and the PATH actions that run them get
  @com_google_protobuf  //:protoc and proto_library targets for the well-known types (the names upstream uses)
  @nexa_cuda   //:defs.bzl (CUDA_AVAILABLE, CUDA_CONSTRAINT, CUDA_ROOT), //:nvcc, //:cuda_headers, //:cudart_static
  @nexa_chromium //:chromium.json (the headless browser the page tests drive: path and version, or why it is missing)
  @nexa_pyenv //:pyenv.json (the pinned python environment of the interop checks, or why it is missing)
  @npm         one filegroup per npm package with its dependency closure, from package-lock.json
"""

load("//tools/toolchains:pins.bzl", "CUDA_WHEELS", "TOOL_PINS")

# ---------------------------------------------------------------------------------------------------------------
# version checks

def _version_matches(found, pin):
    """True when `found` starts with `pin` on a component boundary ("1.95" matches "1.95.0", not "1.950")."""
    if found == pin:
        return True
    return found.startswith(pin + ".")

def _check_version(tool, path, found):
    pin = TOOL_PINS[tool]
    if not _version_matches(found, pin.version):
        fail(("\n[nexa toolchain] {tool} version mismatch\n  found:    {found} at {path}\n  expected: {expected}.x " +
              "(pinned in tools/toolchains/pins.bzl)\n  fix:      {fix}\n").format(
            tool = tool,
            found = found,
            path = path,
            expected = pin.version,
            fix = pin.fix,
        ))

def _missing(tool, searched):
    fail(("\n[nexa toolchain] {tool} not found\n  searched: {searched}\n  expected: {expected}.x " +
          "(pinned in tools/toolchains/pins.bzl)\n  fix:      {fix}\n").format(
        tool = tool,
        searched = searched,
        expected = TOOL_PINS[tool].version,
        fix = TOOL_PINS[tool].fix,
    ))

def _run(rctx, args, tool):
    res = rctx.execute(args)
    if res.return_code != 0:
        fail("\n[nexa toolchain] `{}` failed (exit {}) while probing {}:\n{}{}".format(
            " ".join([str(a) for a in args]),
            res.return_code,
            tool,
            res.stdout,
            res.stderr,
        ))
    return res.stdout.strip()

def _first_version(text):
    """The first dotted number in `text`, e.g. "libprotoc 3.21.12" -> "3.21.12"."""
    digits = "0123456789"
    start = -1
    for i in range(len(text)):
        if text[i] in digits:
            start = i
            break
    if start < 0:
        return ""
    end = start
    for i in range(start, len(text)):
        if text[i] in digits or text[i] == ".":
            end = i + 1
        else:
            break
    return text[start:end].rstrip(".")

def _realpath(rctx, path):
    """readlink -f: Bazel 4's path.realpath resolves relative symlinks against the wrong directory."""
    return rctx.path(_run(rctx, ["readlink", "-f", str(path)], "realpath of " + str(path)))

def _searched(rctx, env_override):
    override = rctx.os.environ.get(env_override, "")
    return "${}={}".format(env_override, override) if override else "PATH (override with --repo_env={}=/path)".format(env_override)

def _which(rctx, tool, env_override):
    override = rctx.os.environ.get(env_override, "")
    if override:
        return rctx.path(override)
    return rctx.which(tool)

# ---------------------------------------------------------------------------------------------------------------
# node

def _host_node_impl(rctx):
    node = _which(rctx, "node", "NEXA_NODE")
    if node == None or not node.exists:
        _missing("node", _searched(rctx, "NEXA_NODE"))
    version = _run(rctx, [node, "--version"], "node").lstrip("v")
    _check_version("node", node, version)
    rctx.symlink(node, "node")
    rctx.file("BUILD.bazel", """# Host Node.js {version}, detected at {path}.
exports_files(["node"], visibility = ["//visibility:public"])
""".format(version = version, path = node))
    rctx.file("version.bzl", 'NODE_VERSION = "{}"\n'.format(version))

host_node = repository_rule(
    implementation = _host_node_impl,
    environ = ["NEXA_NODE", "PATH"],
    local = True,
)

# ---------------------------------------------------------------------------------------------------------------
# rust

def _host_rust_impl(rctx):
    proxy = _which(rctx, "rustc", "NEXA_RUSTC")
    if proxy == None or not proxy.exists:
        _missing("rustc", _searched(rctx, "NEXA_RUSTC"))

    # `rustc` on PATH is usually the rustup proxy, which needs HOME and picks a toolchain at run time. Resolve the
    # real compiler through its sysroot so actions call one fixed binary.
    sysroot = _run(rctx, [proxy, "--print", "sysroot"], "rustc")
    real = rctx.path(sysroot + "/bin/rustc")
    if not real.exists:
        _missing("rustc", sysroot + "/bin/rustc")
    version = _first_version(_run(rctx, [real, "--version"], "rustc"))
    _check_version("rustc", real, version)

    # A wrapper that runs the real compiler by its absolute path, not a symlink to it: rustc finds
    # librustc_driver through RUNPATH $ORIGIN/../lib, which holds only where the binary really lies. A symlinked
    # input is materialised as a copy by remote executors (and by sandboxes that copy), where the copy cannot load
    # its driver. The wrapper's text carries `rustc -vV` (version, commit hash, LLVM version), so actions are
    # re-keyed whenever the toolchain behind the path changes.
    verbose = _run(rctx, [real, "-vV"], "rustc")
    rctx.file("rustc", "#!/bin/sh\n{comments}\nexec {real} \"$@\"\n".format(
        comments = "\n".join(["# " + line for line in verbose.split("\n")]),
        real = real,
    ), executable = True)

    # rustfmt ships with the same toolchain (rustup's default profile): the real binary beside the real rustc,
    # used by //tools/format. Without it only formatting fails, with the fix; building Rust does not need it.
    rustfmt = rctx.path(sysroot + "/bin/rustfmt")
    if rustfmt.exists:
        rustfmt_version_line = _run(rctx, [rustfmt, "--version"], "rustfmt")
        rustfmt_version = _first_version(rustfmt_version_line)

        # A wrapper like rustc's: rustfmt loads librustc_driver through $ORIGIN/../lib too.
        rctx.file("rustfmt", "#!/bin/sh\n# {version}\nexec {real} \"$@\"\n".format(
            version = rustfmt_version_line,
            real = rustfmt,
        ), executable = True)
    else:
        rustfmt_version = ""
        rctx.file("rustfmt", """#!/bin/sh
echo '[nexa toolchain] rustfmt not found at {path}' >&2
echo '  fix: rustup component add rustfmt (for the toolchain of {rustc}), then run the command again' >&2
exit 2
""".format(path = rustfmt, rustc = real), executable = True)
    rctx.file("BUILD.bazel", """# Host rustc {version} (sysroot {sysroot}); rustfmt {rustfmt_version}.
exports_files(["rustc", "rustfmt"], visibility = ["//visibility:public"])
""".format(version = version, sysroot = sysroot, rustfmt_version = rustfmt_version or "missing"))
    rctx.file("version.bzl", 'RUSTC_VERSION = "{}"\nRUSTFMT_VERSION = "{}"\n'.format(version, rustfmt_version))

host_rust = repository_rule(
    implementation = _host_rust_impl,
    environ = ["NEXA_RUSTC", "PATH", "RUSTUP_TOOLCHAIN"],
    local = True,
)

# ---------------------------------------------------------------------------------------------------------------
# cc: the C compiler/linker driver and binutils that rustc and nvcc run. Actions get these absolute paths and a
# PATH made of the directories they were found in (gcc runs `as`, `collect2` and `ld` by name), never literals.
# Each tool is called by the path it was found at under its own name, not by its realpath (recorded alongside):
# programs read meaning into the name. rustc infers the linker flavour from it: with `-C linker=/usr/bin/cc` it
# links through cc with its bundled lld as by default, with the realpath x86_64-linux-gnu-gcc-12 it falls back to
# GNU ld and every Rust binary changes.

# (constant in defs.bzl, program, override, Debian package, what it is for)
_CC_TOOLS = [
    ("CC", "cc", "NEXA_CC", "gcc", "the C compiler and linker driver rustc links through (-C linker)"),
    ("GCC", "gcc", "NEXA_GCC", "gcc", "nvcc's host compiler (-ccbin)"),
    ("AR", "ar", "NEXA_AR", "binutils", "the archiver of cuda_library"),
    ("AS", "as", "NEXA_AS", "binutils", "the assembler gcc runs"),
    ("LD", "ld", "NEXA_LD", "binutils", "the linker gcc runs"),
]

def _host_cc_impl(rctx):
    found = {}
    dirs = []
    lines = []
    for const, program, override, package, purpose in _CC_TOOLS:
        where = _which(rctx, program, override)
        if where == None or not where.exists:
            fail(("\n[nexa toolchain] {program} not found\n  needed as: {purpose}\n  searched:  {searched}\n  " +
                  "fix:       install Debian's {package} package (`bash tools/setup/setup.sh` does), or point " +
                  "--repo_env={override}=/path at one\n").format(
                program = program,
                purpose = purpose,
                searched = _searched(rctx, override),
                package = package,
                override = override,
            ))
        real = _realpath(rctx, where)
        found[const] = str(where)

        # The directory it was found in under its own name: drivers run their helpers by name through PATH.
        d = str(where.dirname)
        if d not in dirs:
            dirs.append(d)
        lines.append("# {}: {}{}: {}".format(const, where, "" if str(real) == str(where) else " -> " + str(real), purpose))
    version = _run(rctx, [found["CC"], "--version"], "cc").split("\n")[0]
    rctx.file("BUILD.bazel", "# Host C tools; see defs.bzl.\nexports_files([\"defs.bzl\"], visibility = [\"//visibility:public\"])\n")
    rctx.file("defs.bzl", """# Generated by host_cc_tools (tools/toolchains/repositories.bzl); cc --version: {version}
{lines}
CC = "{cc}"
GCC = "{gcc}"
AR = "{ar}"
AS = "{as_}"
LD = "{ld}"

# The PATH of actions that run these tools: the directories they were found in.
TOOLS_PATH = "{path}"
TOOLS_ENV = {{"PATH": TOOLS_PATH}}
""".format(
        version = version,
        lines = "\n".join(lines),
        cc = found["CC"],
        gcc = found["GCC"],
        ar = found["AR"],
        as_ = found["AS"],
        ld = found["LD"],
        path = ":".join(dirs),
    ))

host_cc_tools = repository_rule(
    implementation = _host_cc_impl,
    environ = ["NEXA_CC", "NEXA_GCC", "NEXA_AR", "NEXA_AS", "NEXA_LD", "PATH"],
    local = True,
    configure = True,
)

# ---------------------------------------------------------------------------------------------------------------
# protobuf: protoc + well-known types, under the repository name upstream rules expect

_WKT = ["any", "api", "descriptor", "duration", "empty", "field_mask", "source_context", "struct", "timestamp", "type", "wrappers"]

def _host_protobuf_impl(rctx):
    protoc = _which(rctx, "protoc", "NEXA_PROTOC")
    if protoc == None or not protoc.exists:
        _missing("protoc", _searched(rctx, "NEXA_PROTOC"))
    version = _first_version(_run(rctx, [protoc, "--version"], "protoc"))
    _check_version("protoc", protoc, version)
    rctx.symlink(protoc, "protoc")

    include = rctx.path(rctx.attr.include_dir + "/google/protobuf")
    if not include.get_child("timestamp.proto").exists:
        fail(("\n[nexa toolchain] protobuf well-known types not found\n  searched: {}\n  fix:      " +
              "run `bash tools/setup/setup.sh` (installs Debian's libprotobuf-dev)\n").format(include))
    lines = [
        "# Host protoc {} and the well-known types from {}.".format(version, rctx.attr.include_dir),
        'exports_files(["protoc"], visibility = ["//visibility:public"])',
        "",
    ]
    for name in _WKT:
        rctx.symlink(include.get_child(name + ".proto"), "google/protobuf/{}.proto".format(name))
        wkt_deps = []
        if name in ["api", "type"]:
            wkt_deps = [":source_context_proto", ":any_proto"] + ([":type_proto"] if name == "api" else [])
        lines.append("""proto_library(
    name = "{name}_proto",
    srcs = ["google/protobuf/{name}.proto"],
    deps = {deps},
    visibility = ["//visibility:public"],
)
""".format(name = name, deps = repr(wkt_deps)))
    rctx.file("BUILD.bazel", "\n".join(lines))
    rctx.file("version.bzl", 'PROTOC_VERSION = "{}"\n'.format(version))

host_protobuf = repository_rule(
    implementation = _host_protobuf_impl,
    attrs = {"include_dir": attr.string(default = "/usr/include")},
    environ = ["NEXA_PROTOC", "PATH"],
    local = True,
)

# ---------------------------------------------------------------------------------------------------------------
# cuda: the pinned toolkit that tools/setup/setup.sh installs from CUDA_WHEELS (pins.bzl), or one named by
# NEXA_CUDA_PATH; optional: without one, CUDA targets are incompatible (skipped), not broken

def _cuda_wheels_manifest():
    """The manifest tools/setup/cuda_toolkit.py writes into the prefix: one pip requirement line per wheel."""
    return "".join(["{}=={} --hash=sha256:{}\n".format(name, spec[0], spec[1]) for name, spec in CUDA_WHEELS.items()])

def _check_cuda_pins():
    nvcc = CUDA_WHEELS.get("nvidia-cuda-nvcc")
    if nvcc == None or not _version_matches(nvcc[0], TOOL_PINS["nvcc"].version):
        fail(("\n[nexa toolchain] tools/toolchains/pins.bzl is inconsistent: CUDA_WHEELS[\"nvidia-cuda-nvcc\"] is {} " +
              "but TOOL_PINS[\"nvcc\"] is {}\n  fix: pin one nvcc release in both\n").format(
            nvcc[0] if nvcc else "missing",
            TOOL_PINS["nvcc"].version,
        ))

def _pinned_toolkit_dirname(rctx, manifest_file):
    """cuda-<nvcc version>-<first 12 hex digits of the manifest's SHA-256>, as tools/setup/cuda_toolkit.py names it."""
    sha256sum = rctx.which("sha256sum")
    if sha256sum == None:
        fail("\n[nexa toolchain] sha256sum not found on PATH (needed to name the CUDA toolkit prefix)\n  fix: install Debian's coreutils\n")
    digest = _run(rctx, [sha256sum, manifest_file], "the CUDA wheel manifest").split(" ")[0]
    return "cuda-{}-{}".format(CUDA_WHEELS["nvidia-cuda-nvcc"][0], digest[:12])

def _cuda_unavailable(rctx, reason):
    # The same target names as a real toolkit, empty, so BUILD files load; every CUDA target is incompatible with
    # the host platform here and is skipped before anything would use them.
    rctx.file("nvcc", "#!/bin/sh\necho 'nvcc: CUDA is not available on this machine ({})' >&2\nexit 1\n".format(reason), executable = True)
    rctx.file("BUILD.bazel", """# CUDA is not available on this machine: {reason}
# CUDA targets carry target_compatible_with = ["//tools/cuda:cuda_available"] and are skipped.
exports_files(["nvcc", "defs.bzl", "pinned/nexa-wheels.txt", "pinned/dirname.txt"], visibility = ["//visibility:public"])

cc_library(name = "cuda_headers", visibility = ["//visibility:public"])

cc_library(name = "cudart_static", visibility = ["//visibility:public"])
""".format(reason = reason))
    rctx.file("defs.bzl", """# Generated by host_cuda.
CUDA_AVAILABLE = False
CUDA_REASON = {reason}
CUDA_VERSION = ""
CUDA_ROOT = ""
CUDA_CONSTRAINT = "//tools/cuda:cuda_unavailable"
""".format(reason = repr(reason)))

def _is_toolkit(rctx, root):
    return rctx.path(root + "/bin/nvcc").exists and rctx.path(root + "/include/cuda_runtime.h").exists

def _host_cuda_impl(rctx):
    _check_cuda_pins()

    # What the pins say setup installs, also for //tools/setup:cuda_toolkit_test (the installer must name the same
    # prefix from the same pins).
    manifest = _cuda_wheels_manifest()
    rctx.file("pinned/nexa-wheels.txt", manifest)
    dirname = _pinned_toolkit_dirname(rctx, rctx.path("pinned/nexa-wheels.txt"))
    rctx.file("pinned/dirname.txt", dirname + "\n")

    mode = rctx.os.environ.get("NEXA_CUDA", "auto")
    if mode not in ["auto", "on", "off"]:
        fail("\n[nexa toolchain] NEXA_CUDA={} is not one of auto, on, off\n  fix: pass --repo_env=NEXA_CUDA=off (or --config=nocuda) to build without CUDA\n".format(mode))
    if mode == "off":
        _cuda_unavailable(rctx, "disabled with NEXA_CUDA=off")
        return

    # Find the toolkit: $NEXA_CUDA_PATH alone when set; else the pinned toolkit setup.sh installs, then the toolkit
    # of an nvcc on PATH, then /usr/local/cuda. A toolkit root has bin/nvcc and include/cuda_runtime.h (an nvcc on
    # PATH may be a wrapper script outside the toolkit).
    override = rctx.os.environ.get("NEXA_CUDA_PATH", "")
    home = rctx.os.environ.get("HOME", "")
    pinned = "{}/.cache/nexacompute/{}".format(home, dirname) if home else ""
    candidates = []
    if override:
        candidates.append(override)
    else:
        if pinned:
            candidates.append(pinned)
        nvcc_on_path = rctx.which("nvcc")
        if nvcc_on_path != None:
            candidates.append(str(_realpath(rctx, nvcc_on_path).dirname.dirname))
        candidates.append("/usr/local/cuda")
    root = ""
    for c in candidates:
        if _is_toolkit(rctx, c):
            root = c
            break
    if not root:
        if mode == "on":
            _missing("nvcc", ", ".join(candidates))
        reason = "no CUDA toolkit found (searched {})".format(", ".join(candidates))

        # A warning the operator must see (Bazel 4 has no other channel for a repository rule).
        # buildifier: disable=print
        print(("\n[nexa toolchain] {}: CUDA targets are skipped.\n  fix: run `bash tools/setup/setup.sh` (installs " +
               "CUDA_WHEELS of tools/toolchains/pins.bzl), then `bazel sync --configure`; build with --config=nocuda " +
               "to skip CUDA on purpose").format(reason))
        _cuda_unavailable(rctx, reason)
        return
    root_path = _realpath(rctx, root)

    if root == pinned:
        # Installed by setup.sh: the manifest it wrote last must be the pinned one (a partial install has none).
        installed = root_path.get_child("nexa-wheels.txt")
        if not installed.exists or rctx.read(installed) != manifest:
            fail(("\n[nexa toolchain] the CUDA toolkit at {} is incomplete or was not installed from the pinned " +
                  "CUDA_WHEELS\n  fix: run `bash tools/setup/setup.sh` (reinstalls it), or --config=nocuda\n").format(root_path))
        source = "CUDA_WHEELS of tools/toolchains/pins.bzl"
    elif override:
        source = "NEXA_CUDA_PATH"
    else:
        source = "found on this host"

    nvcc = root_path.get_child("bin").get_child("nvcc")

    # "Cuda compilation tools, release 13.0, V13.0.88": the full version after ", V".
    version = _first_version(_run(rctx, [nvcc, "--version"], "nvcc").split(", V")[-1])
    _check_version("nvcc", nvcc, version)

    # nvcc must run from its real path (a symlinked nvcc cannot find its headers), so actions call a wrapper.
    rctx.file("nvcc", "#!/bin/sh\nexec {} \"$@\"\n".format(nvcc), executable = True)
    rctx.symlink(root_path.get_child("include"), "include")
    includes = ["include"]
    if root_path.get_child("include").get_child("cccl").exists:
        # The wheels' libcu++/CUB/Thrust (nvcc adds this directory itself; host compilers need it too).
        includes.append("include/cccl")
    cudart = rctx.path("{}/lib64/libcudart_static.a".format(root_path))
    if not cudart.exists:
        cudart = rctx.path("{}/lib/libcudart_static.a".format(root_path))
    if not cudart.exists:
        fail("\n[nexa toolchain] CUDA at {} has no lib64/ or lib/libcudart_static.a\n  fix: run `bash tools/setup/setup.sh`, install the full CUDA toolkit, or --config=nocuda\n".format(root_path))
    rctx.symlink(cudart, "lib64/libcudart_static.a")
    rctx.file("BUILD.bazel", """# CUDA {version} at {root} ({source}).
exports_files(["nvcc", "defs.bzl", "pinned/nexa-wheels.txt", "pinned/dirname.txt"], visibility = ["//visibility:public"])

cc_library(
    name = "cuda_headers",
    # Every file: libcu++ and the runtime ship headers without an extension (nv/target, cuda/std/cstdint).
    hdrs = glob(["include/**"]),
    includes = {includes},
    visibility = ["//visibility:public"],
)

cc_import(
    name = "cudart_static_import",
    static_library = "lib64/libcudart_static.a",
)

cc_library(
    name = "cudart_static",
    linkopts = ["-ldl", "-lpthread", "-lrt"],
    deps = [":cudart_static_import", ":cuda_headers"],
    visibility = ["//visibility:public"],
)
""".format(version = version, root = root_path, source = source, includes = repr(includes)))
    rctx.file("defs.bzl", """# Generated by host_cuda.
CUDA_AVAILABLE = True
CUDA_REASON = "nvcc {version} at {root} ({source})"
CUDA_VERSION = "{version}"
CUDA_ROOT = "{root}"
CUDA_CONSTRAINT = "//tools/cuda:cuda_available"
""".format(version = version, root = root_path, source = source))

host_cuda = repository_rule(
    implementation = _host_cuda_impl,
    environ = ["NEXA_CUDA", "NEXA_CUDA_PATH", "HOME", "PATH"],
    local = True,
    configure = True,
)

# ---------------------------------------------------------------------------------------------------------------
# chromium: Debian's browser, which the page tests (//tests/pages) drive headless through playwright-core. Only
# those tests need it, so a missing browser does not fail the fetch: chromium.json then carries the error and the
# fix, and the tests fail with it (never skip).

_CHROMIUM_FIX = ("run `bash tools/setup/setup.sh` (`npm test` runs it), which installs Debian's chromium, then " +
                 "`bazel sync --configure` (or `bazel shutdown`) so @nexa_chromium looks again; or name another " +
                 "chromium with --repo_env=NEXA_CHROMIUM=/path")

def _host_chromium_impl(rctx):
    override = rctx.os.environ.get("NEXA_CHROMIUM", "")
    if override:
        candidates = [rctx.path(override)]
        searched = "$NEXA_CHROMIUM=" + override
    else:
        on_path = rctx.which("chromium")
        candidates = ([on_path] if on_path != None else []) + [rctx.path("/usr/bin/chromium")]
        searched = "PATH, /usr/bin/chromium (override with --repo_env=NEXA_CHROMIUM=/path)"
    found = [c for c in candidates if c.exists]
    info = {"path": "", "version": "", "searched": searched, "error": ""}
    if not found:
        info["error"] = "[nexa toolchain] chromium not found (searched: {}); fix: {}".format(searched, _CHROMIUM_FIX)
    else:
        res = rctx.execute([found[0], "--version"])
        version = _first_version(res.stdout)
        if res.return_code != 0 or not version:
            info["error"] = "[nexa toolchain] `{} --version` failed (exit {}): {}{}; fix: {}".format(
                found[0],
                res.return_code,
                res.stdout.strip(),
                res.stderr.strip(),
                _CHROMIUM_FIX,
            )
        info["path"] = str(found[0])
        info["version"] = version
    rctx.file("chromium.json", json.encode(info) + "\n")
    rctx.file("BUILD.bazel", """# Host chromium {version} ({path}); see chromium.json.
exports_files(["chromium.json"], visibility = ["//visibility:public"])
""".format(version = info["version"] or "missing", path = info["path"] or searched))

host_chromium = repository_rule(
    implementation = _host_chromium_impl,
    environ = ["NEXA_CHROMIUM", "PATH"],
    local = True,
    configure = True,
)

# ---------------------------------------------------------------------------------------------------------------
# pyenv: the pinned Python environment of the interop checks (tools/python/interop-requirements.txt), installed by
# tools/setup/setup.sh into ~/.cache/nexacompute/pyenv-<first 16 hex of the file's sha256>. Like chromium, a missing
# environment does not fail the fetch: pyenv.json carries the error and the fix, and the checks fail with it.

def _host_pyenv_impl(rctx):
    req = rctx.path(rctx.attr.requirements)  # watched: a changed pin re-creates the repository
    res = rctx.execute(["sha256sum", str(req)])
    key = res.stdout.strip()[:16]
    home = rctx.os.environ.get("HOME", "")
    env = "{}/.cache/nexacompute/pyenv-{}".format(home, key)
    python = rctx.path(env + "/bin/python")
    info = {"python": str(python), "key": key, "error": ""}
    if res.return_code != 0 or len(key) != 16:
        info["error"] = "[nexa toolchain] cannot hash {}: {}".format(req, res.stderr.strip())
    elif not python.exists or not rctx.path(env + "/.complete").exists:
        info["error"] = ("[nexa toolchain] the python interop environment {} is missing; fix: run " +
                         "`bash tools/setup/setup.sh` (`npm test` runs it), then `bazel sync --configure`").format(env)
    rctx.file("pyenv.json", json.encode(info) + "\n")
    rctx.file("BUILD.bazel", """# The python interop environment ({}); see pyenv.json.
exports_files(["pyenv.json"], visibility = ["//visibility:public"])
""".format(env))

host_pyenv = repository_rule(
    implementation = _host_pyenv_impl,
    attrs = {"requirements": attr.label(default = "//tools/python:interop-requirements.txt", allow_single_file = True)},
    environ = ["HOME"],
    local = True,
    configure = True,
)

# ---------------------------------------------------------------------------------------------------------------
# npm: node_modules installed by `npm ci` (tools/setup), exposed per package with its dependency closure

def _npm_impl(rctx):
    lock = rctx.path(rctx.attr.package_lock)  # watched: the repository is re-created when the lockfile changes
    workspace = lock.dirname
    node_modules = workspace.get_child("node_modules")
    if not node_modules.get_child(".package-lock.json").exists:
        fail(("\n[nexa toolchain] node_modules is missing or was not installed by npm\n  searched: {}\n  " +
              "fix:      run `bash tools/setup/setup.sh` (runs `npm ci`)\n").format(node_modules))
    node = rctx.path(rctx.attr.node)
    res = rctx.execute([node, rctx.path(rctx.attr._generator), lock, node_modules, "."], quiet = False)
    if res.return_code != 0:
        fail("\n[nexa toolchain] generating @npm failed:\n" + res.stdout + res.stderr)

npm_repository = repository_rule(
    implementation = _npm_impl,
    attrs = {
        "package_lock": attr.label(mandatory = True, allow_single_file = True),
        "node": attr.label(mandatory = True, allow_single_file = True),
        "_generator": attr.label(default = "//tools/typescript/private:npm_repository.js", allow_single_file = True),
    },
    local = True,
)

# ---------------------------------------------------------------------------------------------------------------

def nexa_toolchains():
    """Declares every host toolchain repository. Called once from WORKSPACE."""
    host_node(name = "nexa_node")
    host_rust(name = "nexa_rust")
    host_cc_tools(name = "nexa_cc")
    host_protobuf(name = "com_google_protobuf")
    host_cuda(name = "nexa_cuda")
    host_chromium(name = "nexa_chromium")
    host_pyenv(name = "nexa_pyenv")
    npm_repository(
        name = "npm",
        package_lock = "//:package-lock.json",
        node = "@nexa_node//:node",
    )
