#!/usr/bin/env bash
# Idempotent machine set-up for NexaCompute (Debian 12): installs what is missing, quick when nothing is.
#   - Debian packages: bazel-bootstrap (Bazel 4.2.3), protobuf-compiler + libprotobuf-dev (protoc and the
#     well-known types), nginx (the HTTP CAS server the registry tests start on loopback)
#     gcc + binutils (the C compiler, linker and archiver rustc and nvcc run; resolved by @nexa_cc),
#     chromium (the headless browser //tests/pages opens the HTML report and compare page in; resolved by
#     @nexa_chromium, driven by playwright-core from node_modules, which never downloads a browser)
#   - node_modules: `npm ci` when package-lock.json changed since the last install
#   - the CUDA toolkit pinned as CUDA_WHEELS in tools/toolchains/pins.bzl, from NVIDIA's PyPI wheels, into
#     ~/.cache/nexacompute/cuda-<nvcc>-<key> (tools/setup/cuda_toolkit.py); skipped with NEXA_CUDA=off, when
#     NEXA_CUDA_PATH names another toolkit, and on hosts other than x86_64 Linux
#   - the pinned Python environment of the interop checks (tools/python/interop-requirements.txt) in
#     ~/.cache/nexacompute/pyenv-<key>, found by @nexa_pyenv
# Run by `npm test` and `npm run golden`; safe to run again at any time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

# ---- Debian packages ---------------------------------------------------------------------------------------------
# package -> a file it installs (checked instead of dpkg, which is slow)
declare -A probe=(
  [bazel-bootstrap]=/usr/bin/bazel-4
  [protobuf-compiler]=/usr/bin/protoc
  [libprotobuf-dev]=/usr/include/google/protobuf/timestamp.proto
  [nginx]=/usr/sbin/nginx
  [gcc]=/usr/bin/gcc
  [binutils]=/usr/bin/ar
  [python3-pip]=/usr/lib/python3/dist-packages/pip
  [chromium]=/usr/bin/chromium
)

apt_updated=""
# apt_install PKG...: installs the Debian packages and checks that each one's probe file exists afterwards.
apt_install() {
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root to install $*: run as root or install sudo"; exit 1; }
    sudo="sudo"
  fi
  log "installing Debian packages: $*"
  [[ -n "$apt_updated" ]] || { $sudo apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  local pkg
  for pkg in "$@"; do
    [[ -e "${probe[$pkg]}" ]] || { log "apt-get installed $pkg but ${probe[$pkg]} is still missing"; exit 1; }
  done
  # nginx's Debian package starts a system service on port 80; the project only runs its own loopback instances.
  if [[ " $* " == *" nginx "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    $sudo systemctl stop nginx || true
  fi
}

missing=()
for pkg in bazel-bootstrap protobuf-compiler libprotobuf-dev nginx gcc binutils chromium; do
  [[ -e "${probe[$pkg]}" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi

# ---- node_modules ------------------------------------------------------------------------------------------------
stamp=node_modules/.nexa-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "package-lock.json changed (or first run): npm ci"
  # Native addons (better-sqlite3) compile against Node's headers; use the system's copy instead of a download.
  if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node_api.h ]]; then
    export npm_config_nodedir=/usr
  fi
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" > "$stamp"
fi

# ---- CUDA toolkit ------------------------------------------------------------------------------------------------
# @nexa_cuda finds the toolkit this installs by default; quick (no download) when it is already there.
cuda_mode=${NEXA_CUDA:-auto}
if [[ "$cuda_mode" == off ]]; then
  log "NEXA_CUDA=off: not installing the CUDA toolkit (CUDA targets are skipped)"
elif [[ -n "${NEXA_CUDA_PATH:-}" ]]; then
  log "NEXA_CUDA_PATH=$NEXA_CUDA_PATH: using that CUDA toolkit, not installing the pinned one"
elif [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
  log "the pinned CUDA wheels are for x86_64 Linux, this is $(uname -s)/$(uname -m): not installing CUDA" \
    "(CUDA targets are skipped unless --repo_env=NEXA_CUDA_PATH names a toolkit)"
else
  # A stamp keyed by the pins and the installer names the prefix of a finished install: a rerun checks it without
  # starting Python (cuda_toolkit.py checks every required file when the stamp is missing or its nvcc is gone).
  cuda_key=$(cat tools/toolchains/pins.bzl tools/setup/cuda_toolkit.py | sha256sum | cut -c1-16)
  cuda_stamp="$HOME/.cache/nexacompute/.cuda-ready-$cuda_key"
  if [[ ! -f "$cuda_stamp" || ! -x "$(cat "$cuda_stamp")/bin/nvcc" ]]; then
    # pip downloads the wheels: the python3 on PATH if it has pip, else Debian's python3 with python3-pip.
    py=python3
    if ! command -v python3 >/dev/null || ! python3 -c 'import pip' 2>/dev/null; then
      [[ -e "${probe[python3-pip]}" ]] || apt_install python3-pip
      py=/usr/bin/python3
    fi
    cuda_prefix=$("$py" tools/setup/cuda_toolkit.py install) || {
      log "installing the CUDA toolkit failed (see above); NEXA_CUDA=off sets up without it (CUDA targets are skipped)"
      exit 1
    }
    printf '%s\n' "$cuda_prefix" > "$cuda_stamp.tmp" && mv "$cuda_stamp.tmp" "$cuda_stamp"
  fi
fi

# The Python environment of the interop checks (tools/python/interop-requirements.txt, every package pinned),
# keyed by the file's digest so a changed pin makes a new one; @nexa_pyenv finds it. Never used by the product.
pyenv_key=$(sha256sum tools/python/interop-requirements.txt | cut -c1-16)
pyenv="$HOME/.cache/nexacompute/pyenv-$pyenv_key"
if [[ ! -x "$pyenv/bin/python" || ! -e "$pyenv/.complete" ]]; then
  log "python interop environment: installing the pinned packages into $pyenv"
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$pyenv"
  python3 -m venv "$pyenv"
  "$pyenv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r tools/python/interop-requirements.txt || {
    log "installing the python interop environment failed (see above)"
    exit 1
  }
  touch "$pyenv/.complete"
fi

# ---- Bazel wrapper check -----------------------------------------------------------------------------------------
if ! command -v bazel >/dev/null; then
  log "bazel is not on PATH after installing bazel-bootstrap (expected /usr/bin/bazel)"
  exit 1
fi
