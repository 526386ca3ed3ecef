#!/usr/bin/env bash
# Idempotent machine set-up for NexaCompute (Debian 12): installs what is missing, quick when nothing is.
#   - Debian packages: bazel-bootstrap (Bazel 4.2.3), protobuf-compiler + libprotobuf-dev (protoc and the
#     well-known types), nginx (the HTTP CAS server the registry tests start on loopback)
#     gcc + binutils (the C compiler, linker and archiver rustc and nvcc run; resolved by @nexa_cc)
#   - node_modules: `npm ci` when package-lock.json changed since the last install
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
)
missing=()
for pkg in bazel-bootstrap protobuf-compiler libprotobuf-dev nginx gcc binutils; do
  [[ -e "${probe[$pkg]}" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root to install ${missing[*]}: run as root or install sudo"; exit 1; }
    sudo="sudo"
  fi
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for pkg in "${missing[@]}"; do
    [[ -e "${probe[$pkg]}" ]] || { log "apt-get installed $pkg but ${probe[$pkg]} is still missing"; exit 1; }
  done
  # nginx's Debian package starts a system service on port 80; the project only runs its own loopback instances.
  if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    $sudo systemctl stop nginx || true
  fi
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

# ---- Bazel wrapper check -----------------------------------------------------------------------------------------
if ! command -v bazel >/dev/null; then
  log "bazel is not on PATH after installing bazel-bootstrap (expected /usr/bin/bazel)"
  exit 1
fi
