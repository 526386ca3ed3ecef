#!/usr/bin/env bash
# The bundled tool runs from runfiles, prints one line per name and exits 2 without arguments.
set -euo pipefail
tool="$TEST_SRCDIR/$TEST_WORKSPACE/tools/typescript/tests/greet.sh"
out=$("$tool" nexa bazel)
expected=$'hello, nexa\nhello, bazel'
if [[ "$out" != "$expected" ]]; then
  echo "unexpected output: $out" >&2
  exit 1
fi
if "$tool" 2>/dev/null; then
  echo "expected a non-zero exit without arguments" >&2
  exit 1
fi
echo "greet_binary_test: ok"
