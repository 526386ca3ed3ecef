#!/usr/bin/env bash
# cuda_toolkit.py (run by setup.sh) must name the same prefix as @nexa_cuda from the same pins, reject malformed
# pins with the file and field, and leave a complete install alone (no download).
# Usage: INSTALLER PINS EXPECTED_MANIFEST EXPECTED_DIRNAME
set -euo pipefail
installer="$1" pins="$2" expected_manifest="$3" expected_dirname="$4"
py=$(command -v python3) || { echo "python3 not found on PATH ($PATH): setup.sh needs it for the CUDA toolkit" >&2; exit 1; }
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The same manifest and directory name as the repository rule computed.
"$py" "$installer" manifest --pins "$pins" > "$tmp/manifest.txt"
diff -u "$expected_manifest" "$tmp/manifest.txt" || fail "installer manifest differs from @nexa_cuda's"
[[ "$("$py" "$installer" dirname --pins "$pins")" == "$(cat "$expected_dirname")" ]] ||
  fail "installer names $("$py" "$installer" dirname --pins "$pins"), @nexa_cuda looks for $(cat "$expected_dirname")"
[[ "$(cat "$expected_dirname")" =~ ^cuda-[0-9.]+-[0-9a-f]{12}$ ]] || fail "unexpected prefix name $(cat "$expected_dirname")"
grep -q '^nvidia-cuda-nvcc==' "$tmp/manifest.txt" || fail "no nvcc wheel in the manifest"

# 2. Malformed pins fail with the file, the field and what is wrong.
expect_error() {  # PINS_TEXT EXPECTED_SUBSTRING
  printf '%s\n' "$1" > "$tmp/bad_pins.bzl"
  if "$py" "$installer" manifest --pins "$tmp/bad_pins.bzl" > /dev/null 2> "$tmp/err.txt"; then
    fail "accepted bad pins: $1"
  fi
  grep -qF "$2" "$tmp/err.txt" || fail "error for [$1] lacks [$2]: $(cat "$tmp/err.txt")"
  grep -qF "bad_pins.bzl" "$tmp/err.txt" || fail "error for [$1] does not name the file: $(cat "$tmp/err.txt")"
}
good_sha=$(printf 'a%.0s' {1..64})
expect_error 'X = 1' 'no top-level CUDA_WHEELS'
expect_error "CUDA_WHEELS = {\"nvidia-cuda-nvcc\": (\"13.0.88\", \"abc\")}" "sha256 'abc' is not 64"
expect_error "CUDA_WHEELS = {\"nvidia-cuda-nvcc\": (\"13.x\", \"$good_sha\")}" "version '13.x' is not a dotted number"
expect_error "CUDA_WHEELS = {\"nvidia-cuda-crt\": (\"13.0.88\", \"$good_sha\")}" 'no nvidia-cuda-nvcc entry'
expect_error "CUDA_WHEELS = {\"nvidia-cuda-nvcc\": \"13.0.88\"}" "CUDA_WHEELS['nvidia-cuda-nvcc'] must be"
expect_error "CUDA_WHEELS = dict(a = 1)" 'must be a literal dict'

# 3. A complete install is left alone: no pip run (an index that cannot be reached would fail it).
cache="$tmp/cache"
prefix=$("$py" "$installer" prefix --pins "$pins" --cache-dir "$cache")
[[ "$prefix" == "$cache/$(cat "$expected_dirname")" ]] || fail "prefix $prefix is not under $cache"
for f in bin/nvcc bin/ptxas bin/fatbinary bin/cudafe++ bin/nvcc.profile include/crt/host_config.h nvvm/bin/cicc \
    nvvm/libdevice/libdevice.10.bc include/cccl/cuda/std/cstdint include/cuda_runtime.h lib/libcudart_static.a; do
  mkdir -p "$(dirname "$prefix/$f")" && : > "$prefix/$f"
done
cp "$tmp/manifest.txt" "$prefix/nexa-wheels.txt"
export PIP_INDEX_URL=http://127.0.0.1:9/ PIP_NO_INDEX=1 PIP_FIND_LINKS="$tmp/none" PIP_RETRIES=0
[[ "$("$py" "$installer" install --pins "$pins" --cache-dir "$cache" 2> "$tmp/err.txt")" == "$prefix" ]] ||
  fail "install over a complete prefix did not just print it: $(cat "$tmp/err.txt")"
[[ ! -s "$tmp/err.txt" ]] || fail "install over a complete prefix said: $(cat "$tmp/err.txt")"

# 4. A prefix whose manifest is from other pins is incomplete: install starts over (here pip cannot download, so it
#    fails, naming the pins) and leaves the old prefix and no staging directory behind.
printf 'nvidia-cuda-nvcc==0.0.0 --hash=sha256:%s\n' "$good_sha" > "$prefix/nexa-wheels.txt"
if "$py" "$installer" install --pins "$pins" --cache-dir "$cache" > /dev/null 2> "$tmp/err.txt"; then
  fail "install accepted a prefix installed from other pins"
fi
grep -qF 'CUDA_WHEELS in tools/toolchains/pins.bzl' "$tmp/err.txt" || fail "failed install does not name the pins: $(cat "$tmp/err.txt")"
[[ -z "$(find "$cache" -maxdepth 1 -name '.*partial*')" ]] || fail "a staging directory was left in $cache"
echo "cuda_toolkit_test: installer and @nexa_cuda agree on $(cat "$expected_dirname"); bad pins and stale prefixes handled"
