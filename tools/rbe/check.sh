#!/usr/bin/env bash
# End-to-end check of remote execution on the local Buildbarn (docs/scale-out.md):
#   1. `bazel clean`, build TARGETS with --config=rbe: every non-internal spawn runs remotely or is a remote cache hit
#      (with --fresh the cluster's storage is emptied first, so they all execute remotely);
#   2. `bazel clean`, build again: every non-internal spawn is a remote cache hit;
#   3. `bazel clean`, build locally (no disk cache): the kernels library has the same sha256;
#   4. when this script started the cluster, it stops it and checks that no Buildbarn process of it is left.
# Usage: tools/rbe/check.sh [--fresh] [TARGET...]   (default targets: the kernels library and the data stage tool)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"
cd "$here/../.."

fresh=0
if [[ "${1:-}" == "--fresh" ]]; then fresh=1; shift; fi
targets=("$@")
((${#targets[@]})) || targets=(//kernels/abi:nexa_kernels //modules/data:stage)
so=bazel-bin/kernels/abi/libnexa_kernels.so
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

fail() { echo "[rbe-check] FAIL: $*" >&2; exit 1; }
say() { echo "[rbe-check] $*"; }

started=0
if ! tools/rbe/cluster.sh status >/dev/null 2>&1; then started=1; fi
if ((fresh)); then tools/rbe/cluster.sh reset; started=1; fi
tools/rbe/cluster.sh up

# build NAME ARGS...: a clean build, its log in $scratch/NAME.log; prints Bazel's "N processes: ..." summary.
build() {
  local name="$1"
  shift
  bazel clean >/dev/null 2>&1
  local t0=$SECONDS
  bazel build "$@" "${targets[@]}" >"$scratch/$name.log" 2>&1 || { tail -n 30 "$scratch/$name.log" >&2; fail "$name build failed"; }
  local line
  line="$(grep -E '^INFO: [0-9]+ processes?: ' "$scratch/$name.log" | tail -n 1)"
  say "$name: ${line#INFO: } ($((SECONDS - t0)) s)"
  echo "${line#INFO: }" >"$scratch/$name.summary"
}
# count NAME KIND: the number of spawns of KIND ("remote", "remote cache hit", "internal", ...) in NAME's summary.
count() {
  sed -e 's/^[0-9]* processes*: //' -e 's/\.$//' "$scratch/$1.summary" | tr ',' '\n' | sed 's/^ *//' |
    awk -v kind="$2" '{ n = $1; $1 = ""; sub(/^ /, ""); if ($0 == kind) s += n } END { print s + 0 }'
}
total() { sed 's/ processes*:.*//' "$scratch/$1.summary"; }

build remote --config=rbe
non_internal=$(($(total remote) - $(count remote internal)))
remote=$(($(count remote remote) + $(count remote "remote cache hit")))
((non_internal > 0)) || fail "the remote build ran no spawns"
((remote == non_internal)) || fail "only $remote of $non_internal spawns ran remotely or came from the remote cache"
((fresh == 0 || $(count remote remote) == non_internal)) || fail "with an empty cluster, every spawn must execute remotely"
remote_so="$(sha256sum "$so" | cut -d' ' -f1)"

build cached --config=rbe
hits=$(count cached "remote cache hit")
((hits == $(total cached) - $(count cached internal))) || fail "the rebuild after bazel clean was not served from the remote cache"

build local --disk_cache= --jobs=2
local_so="$(sha256sum "$so" | cut -d' ' -f1)"
[[ "$remote_so" == "$local_so" ]] || fail "libnexa_kernels.so differs: remote $remote_so, local $local_so"
say "libnexa_kernels.so sha256 $remote_so (remote = local)"

if ((started)); then
  tools/rbe/cluster.sh down
  left="$(pgrep -a -f "^$BB_BIN/" || true)"
  [[ -z "$left" ]] || fail "Buildbarn processes left after down: $left"
  say "cluster stopped; no bb_* process of $BB_BIN left"
fi
say "OK"
