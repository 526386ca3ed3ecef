#!/usr/bin/env bash
# Benchmark: wall time of a no-op `bazel build //...` (everything cached, server warm).
# Usage: bash tools/bench/noop_build.sh [runs]   (default 5). Prints each run and the median in seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-5}
bazel build //... >/dev/null 2>&1   # warm the server and the build
times=()
for ((i = 0; i < runs; i++)); do
  start=$(date +%s.%N)
  bazel build //... >/dev/null 2>&1
  end=$(date +%s.%N)
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(sed -n "$(((runs + 1) / 2))p" <<<"$sorted")
echo "noop bazel build //...: runs=[$(printf '%s ' "${times[@]}")] median=${median}s"
