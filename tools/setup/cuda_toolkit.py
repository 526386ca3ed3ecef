#!/usr/bin/env python3
"""Installs the pinned CUDA toolkit from NVIDIA's PyPI wheels into a project-owned prefix.

The wheels, their versions and SHA-256 digests are CUDA_WHEELS in tools/toolchains/pins.bzl (the one place; this
script parses that Starlark file, it keeps no list of its own). The prefix is

    $HOME/.cache/nexacompute/cuda-<nvcc version>-<key>

where <key> is the first 12 hex digits of the SHA-256 of the manifest (one `name==version --hash=sha256:...` line
per wheel, in pins order; the manifest is also the pip requirements file). @nexa_cuda (tools/toolchains/
repositories.bzl) computes the same name from the same pins and uses the toolkit found there. Changing any pin
gives a new prefix; older prefixes stay for checkouts that still pin them.

Layout (a toolkit root nvcc accepts when called by its real path):
    bin/        nvcc, ptxas, fatbinary, cudafe++, nvlink, bin2c, nvcc.profile, crt/
    include/    CUDA runtime headers, crt/ (host_config.h, ...), cccl/ (libcu++, CUB, Thrust)
    lib/        libcudart_static.a, libcudart.so.13, libcudadevrt.a, libnvvm.so.4; lib64 -> lib
    nvvm/       bin/cicc, libdevice/libdevice.10.bc
    nexa-wheels.txt   the manifest it was installed from (written last: its presence marks a complete install)

Commands:
    install    install when missing (quick when present); prints the prefix
    prefix     print the prefix
    dirname    print the prefix's directory name
    manifest   print the manifest
Options: --pins FILE (default: tools/toolchains/pins.bzl next to this script), --cache-dir DIR (default
$HOME/.cache/nexacompute).
"""

import argparse
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

MANIFEST = "nexa-wheels.txt"

# Files a complete toolkit has, with the wheel that provides each (named in the error when one is missing).
REQUIRED = {
    "bin/nvcc": "nvidia-cuda-nvcc",
    "bin/ptxas": "nvidia-cuda-nvcc",
    "bin/fatbinary": "nvidia-cuda-nvcc",
    "bin/cudafe++": "nvidia-cuda-nvcc",
    "bin/nvcc.profile": "nvidia-cuda-nvcc",
    "include/crt/host_config.h": "nvidia-cuda-crt",
    "nvvm/bin/cicc": "nvidia-nvvm",
    "nvvm/libdevice/libdevice.10.bc": "nvidia-nvvm",
    "include/cccl/cuda/std/cstdint": "nvidia-cuda-cccl",
    "include/cuda_runtime.h": "nvidia-cuda-runtime",
    "lib/libcudart_static.a": "nvidia-cuda-runtime",
}


class SetupError(Exception):
    pass


def log(msg):
    print("[setup] cuda: " + msg, file=sys.stderr, flush=True)


# ---- pins ------------------------------------------------------------------------------------------------------

def read_pins(path):
    """CUDA_WHEELS from pins.bzl: a list of (distribution, version, sha256) in pins order."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise SetupError("cannot read {}: {}".format(path, e))
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as e:
        raise SetupError("{}:{}: cannot parse: {}".format(path, e.lineno, e.msg))
    node = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CUDA_WHEELS" for t in stmt.targets):
            node = stmt
    if node is None:
        raise SetupError("{}: no top-level CUDA_WHEELS assignment".format(path))
    where = "{}:{}: CUDA_WHEELS".format(path, node.lineno)
    try:
        value = ast.literal_eval(node.value)
    except ValueError:
        raise SetupError("{} must be a literal dict {{\"name\": (\"version\", \"sha256\")}}".format(where))
    if not isinstance(value, dict) or not value:
        raise SetupError("{} must be a non-empty dict {{\"name\": (\"version\", \"sha256\")}}".format(where))
    wheels = []
    for name, spec in value.items():
        ok = (isinstance(name, str) and isinstance(spec, tuple) and len(spec) == 2 and
              all(isinstance(s, str) for s in spec))
        if not ok:
            raise SetupError("{}[{!r}] must be (\"version\", \"sha256\")".format(where, name))
        version, sha256 = spec
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise SetupError("{}[{!r}]: sha256 {!r} is not 64 lower-case hex digits".format(where, name, sha256))
        if not version or any(c not in "0123456789." for c in version):
            raise SetupError("{}[{!r}]: version {!r} is not a dotted number".format(where, name, version))
        wheels.append((name, version, sha256))
    if "nvidia-cuda-nvcc" not in value:
        raise SetupError("{} has no nvidia-cuda-nvcc entry (the prefix is named after its version)".format(where))
    return wheels


def manifest_text(wheels):
    return "".join("{}=={} --hash=sha256:{}\n".format(n, v, h) for n, v, h in wheels)


def dirname_for(wheels):
    nvcc = [v for n, v, _ in wheels if n == "nvidia-cuda-nvcc"][0]
    key = hashlib.sha256(manifest_text(wheels).encode("utf-8")).hexdigest()[:12]
    return "cuda-{}-{}".format(nvcc, key)


def default_cache_dir():
    home = os.environ.get("HOME", "")
    if not home:
        raise SetupError("HOME is not set: cannot place the toolkit under $HOME/.cache/nexacompute")
    return os.path.join(home, ".cache", "nexacompute")


# ---- install ---------------------------------------------------------------------------------------------------

def is_complete(prefix, manifest):
    path = os.path.join(prefix, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() != manifest:
                return False
    except OSError:
        return False
    return all(os.path.exists(os.path.join(prefix, p)) for p in REQUIRED)


def wheel_root(wheels):
    """The directory inside the wheels that is a toolkit root: nvidia/cu<major>/."""
    nvcc = [v for n, v, _ in wheels if n == "nvidia-cuda-nvcc"][0]
    return "nvidia/cu{}/".format(nvcc.split(".")[0])


def extract(wheel, root, dest, owners):
    """Unpacks the members of `wheel` under `root` into `dest`, keeping the executable bits."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if not name.startswith(root) or info.is_dir():
                continue  # *.dist-info/ and directory entries
            rel = name[len(root):]
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts or "" in parts:
                raise SetupError("{}: unsafe member path {!r}".format(os.path.basename(wheel), name))
            if parts[0] == ".metadata":
                continue  # NVIDIA's packaging scan reports, not part of the toolkit
            mode = (info.external_attr >> 16) & 0o170777
            if mode & 0o170000 not in (0, 0o100000):
                raise SetupError("{}: member {!r} is not a regular file".format(os.path.basename(wheel), name))
            if rel in owners:
                raise SetupError("{} and {} both provide {}".format(owners[rel], os.path.basename(wheel), rel))
            owners[rel] = os.path.basename(wheel)
            target = os.path.join(dest, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.chmod(target, 0o755 if mode & 0o100 else 0o644)


def check_nvcc(prefix, version):
    nvcc = os.path.join(prefix, "bin", "nvcc")
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise SetupError("{} does not run: {}".format(nvcc, e))
    if out.returncode != 0 or ", V{}".format(version) not in out.stdout:
        raise SetupError("{} --version (exit {}) does not report V{}:\n{}{}".format(
            nvcc, out.returncode, version, out.stdout, out.stderr))


def install(wheels, cache_dir):
    manifest = manifest_text(wheels)
    prefix = os.path.join(cache_dir, dirname_for(wheels))
    nvcc_version = [v for n, v, _ in wheels if n == "nvidia-cuda-nvcc"][0]
    if is_complete(prefix, manifest):
        return prefix, False
    os.makedirs(cache_dir, exist_ok=True)
    start = time.monotonic()
    staging = tempfile.mkdtemp(prefix="." + os.path.basename(prefix) + ".partial-", dir=cache_dir)
    try:
        wheel_dir = os.path.join(staging, ".wheels")
        os.makedirs(wheel_dir)
        requirements = os.path.join(wheel_dir, "requirements.txt")
        with open(requirements, "w", encoding="utf-8") as f:
            f.write(manifest)
        log("installing {} wheels (nvcc {}) into {}".format(len(wheels), nvcc_version, prefix))
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
               "--no-input", "--disable-pip-version-check", "--progress-bar", "off", "--quiet",
               "--dest", wheel_dir, "-r", requirements]
        res = subprocess.run(cmd)
        if res.returncode != 0:
            raise SetupError("`{}` failed (exit {}); the wheels and digests are CUDA_WHEELS in tools/toolchains/pins.bzl".format(
                " ".join(cmd), res.returncode))
        files = sorted(f for f in os.listdir(wheel_dir) if f.endswith(".whl"))
        size = sum(os.path.getsize(os.path.join(wheel_dir, f)) for f in files)
        for name, version, _ in wheels:
            stem = "{}-{}-".format(name.replace("-", "_"), version)
            if not any(f.startswith(stem) for f in files):
                raise SetupError("pip reported success but no {}*.whl is in {}".format(stem, wheel_dir))
        root = wheel_root(wheels)
        owners = {}
        for f in files:
            extract(os.path.join(wheel_dir, f), root, staging, owners)
        shutil.rmtree(wheel_dir)
        # nvcc.profile and Makefiles of CUDA users look in lib64; the wheels ship lib.
        os.symlink("lib", os.path.join(staging, "lib64"))
        if os.path.exists(os.path.join(staging, "lib", "libcudart.so.13")):
            os.symlink("libcudart.so.13", os.path.join(staging, "lib", "libcudart.so"))
        for path, wheel in REQUIRED.items():
            if not os.path.exists(os.path.join(staging, path)):
                raise SetupError("{} is missing after unpacking: it comes from {} (is it in CUDA_WHEELS of tools/toolchains/pins.bzl?)".format(path, wheel))
        check_nvcc(staging, nvcc_version)
        with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as f:
            f.write(manifest)
        os.chmod(staging, 0o755)
        if os.path.lexists(prefix):
            if is_complete(prefix, manifest):
                # Another checkout of this user finished the same install meanwhile.
                return prefix, False
            stale = tempfile.mkdtemp(prefix="." + os.path.basename(prefix) + ".stale-", dir=cache_dir)
            os.rename(prefix, os.path.join(stale, "old"))
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(staging, prefix)
        except OSError:
            if is_complete(prefix, manifest):
                return prefix, False
            raise
        staging = None
        log("installed {} wheels, {:.1f} MB downloaded, in {:.1f} s (a Bazel server that ran before this finds it "
            "after `bazel sync --configure`)".format(len(files), size / 1e6, time.monotonic() - start))
        return prefix, True
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="The pinned CUDA toolkit from NVIDIA's PyPI wheels.")
    parser.add_argument("command", choices=["install", "prefix", "dirname", "manifest"])
    parser.add_argument("--pins", default=os.path.join(here, "..", "toolchains", "pins.bzl"))
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    try:
        wheels = read_pins(args.pins)
        if args.command == "manifest":
            sys.stdout.write(manifest_text(wheels))
        elif args.command == "dirname":
            print(dirname_for(wheels))
        else:
            cache_dir = args.cache_dir or default_cache_dir()
            if args.command == "prefix":
                print(os.path.join(cache_dir, dirname_for(wheels)))
            else:
                prefix, _ = install(wheels, cache_dir)
                print(prefix)
    except SetupError as e:
        print("[setup] cuda: error: {}".format(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
