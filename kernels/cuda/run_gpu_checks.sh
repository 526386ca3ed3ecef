#!/usr/bin/env bash
# Runs the CUDA kernel tests and the benchmark binaries directly, on a machine with an NVIDIA GPU and driver
# (no Bazel needed there). Build them first, anywhere with CUDA:  bazel build //kernels/cuda:gpu_checks
# then copy bazel-bin/kernels/cuda/{*_test,bench} and this script over.
# Usage: run_gpu_checks.sh [BIN_DIR]   (default: bazel-bin/kernels/cuda next to this checkout)
# Exit status: 0 when every test passes (the benchmark's numbers are printed, never judged).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${1:-"$here/../../bazel-bin/kernels/cuda"}
tests=(adamw_test attention_test crossentropy_test embedding_test gelu_test layernorm_test matmul_test)
failed=()
for t in "${tests[@]}"; do
  if [[ ! -x "$bin_dir/$t" ]]; then
    echo "MISSING $bin_dir/$t (run: bazel build //kernels/cuda:gpu_checks)"
    failed+=("$t")
    continue
  fi
  echo "== $t"
  "$bin_dir/$t" || failed+=("$t")
done
if [[ -x "$bin_dir/bench" ]]; then
  echo "== bench --small"
  "$bin_dir/bench" --small || failed+=("bench --small")
  echo "== bench --json"
  "$bin_dir/bench" --json || failed+=("bench")
fi
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all GPU checks passed"
