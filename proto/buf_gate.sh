#!/usr/bin/env bash
# Compatibility gate of the nexa.v1 contracts: `buf lint` + `buf breaking` against proto/baseline/nexa_v1.binpb.
#
#   buf_gate.sh check           lint and breaking-check the protos as they are (the normal gate)
#   buf_gate.sh prove-breaking  copy the protos into $TEST_TMPDIR, break them (delete a field; renumber a
#                               field), and assert that `buf breaking` FAILS on each copy: proves the gate bites
#   buf_gate.sh update          rewrite the baseline from the current protos (run via `bazel run //proto:update_baseline`)
#
# Runs under `bazel test` (files from runfiles) or directly from a checkout. buf runs offline (no remote deps).
set -euo pipefail

mode="${1:-check}"

# ---- locate the proto tree and the buf binary -------------------------------------------------------------
if [[ -n "${BUILD_WORKSPACE_DIRECTORY:-}" && "$mode" == "update" ]]; then
  root="$BUILD_WORKSPACE_DIRECTORY"
elif [[ -n "${TEST_SRCDIR:-}" ]]; then
  root="$TEST_SRCDIR/${TEST_WORKSPACE:-nexacompute}"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fi
runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-${0}.runfiles}}"
buf=""
for dir in "$runfiles" "$root/node_modules" "${BUILD_WORKSPACE_DIRECTORY:-/nonexistent}/node_modules"; do
  [[ -d "$dir" ]] || continue
  buf="$(find -L "$dir" -path '*@bufbuild/buf-linux-x64/bin/buf' -type f 2>/dev/null | head -n 1)"
  [[ -n "$buf" ]] && break
done
if [[ -z "$buf" ]]; then
  echo "buf_gate: cannot find the buf binary (@bufbuild/buf-linux-x64); run \`bash tools/setup/setup.sh\`" >&2
  exit 2
fi
scratch="${TEST_TMPDIR:-$(mktemp -d)}"
export BUF_CACHE_DIR="$scratch/buf-cache" HOME="$scratch"
baseline="$root/proto/baseline/nexa_v1.binpb"

# A writable copy of the buf module (buf.yaml + nexa/), symlinks resolved.
copy_module() {
  rm -rf "$1" && mkdir -p "$1"
  cp -L "$root/proto/buf.yaml" "$1/"
  cp -RL "$root/proto/nexa" "$1/"
}

case "$mode" in
  check)
    work="$scratch/check" && copy_module "$work" && cd "$work"
    "$buf" lint
    "$buf" breaking --against "$baseline"
    echo "buf_gate: lint and breaking checks passed against proto/baseline/nexa_v1.binpb"
    ;;
  prove-breaking)
    # Each case: name | file | sed expression that breaks compatibility | text buf must report.
    cases=(
      "delete field|nexa/v1/artifact.proto|/uint64 size_bytes = 2;/d|size_bytes"
      "renumber field|nexa/v1/dataset.proto|s/string split = 3;/string split = 33;/|split"
      "change type|nexa/v1/train.proto|s/uint32 steps = 5;/uint64 steps = 5;/|steps"
    )
    for c in "${cases[@]}"; do
      IFS='|' read -r name file expr expect <<<"$c"
      work="$scratch/broken" && copy_module "$work" && cd "$work"
      "$buf" breaking --against "$baseline" >/dev/null  # the intact copy passes, so a failure below is the edit's
      sed -i "$expr" "$file"
      if cmp -s "$file" "$root/proto/$file"; then echo "buf_gate: case '$name' did not change $file" >&2; exit 1; fi
      if out="$("$buf" breaking --against "$baseline" 2>&1)"; then
        echo "buf_gate: case '$name': buf breaking PASSED on a broken copy of $file; the gate does not work" >&2
        exit 1
      fi
      grep -q "$expect" <<<"$out" || { echo "buf_gate: case '$name': unexpected report:\n$out" >&2; exit 1; }
      echo "buf_gate: case '$name' rejected as expected: $(head -n 1 <<<"$out")"
    done
    ;;
  update)
    cd "$root/proto"
    "$buf" lint
    "$buf" build --exclude-source-info -o baseline/nexa_v1.binpb
    echo "buf_gate: wrote proto/baseline/nexa_v1.binpb; commit it together with the proto change"
    ;;
  *)
    echo "usage: buf_gate.sh check|prove-breaking|update" >&2
    exit 2
    ;;
esac
