#!/usr/bin/env bash
# cuda_library produced a static library holding the compiled device code and the extern "C" launcher.
set -euo pipefail
lib="$TEST_SRCDIR/$TEST_WORKSPACE/tools/cuda/tests/libsaxpy.a"
[[ -s "$lib" ]] || { echo "missing $lib" >&2; exit 1; }
members=$(ar t "$lib")
[[ "$members" == "saxpy.o" ]] || { echo "unexpected members: $members" >&2; exit 1; }
symbols=$(nm -C "$lib")
grep -q ' T nexa_example_saxpy$' <<<"$symbols" || { echo "launcher symbol missing" >&2; exit 1; }
grep -q 'saxpy_kernel' <<<"$symbols" || { echo "kernel stub missing" >&2; exit 1; }
# The object embeds a fat binary with sm_90 code.
grep -q 'nv_fatbin' < <(objdump -h "$lib") || { echo "no .nv_fatbin section" >&2; exit 1; }
echo "archive_test: libsaxpy.a holds device code and the launcher"
