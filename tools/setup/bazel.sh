#!/usr/bin/env bash
# Runs bazel for `npm test` and `npm run golden` with the PATH the shell had before npm prepended its own entries
# (node_modules/.bin of the package and its parents, npm's node-gyp-bin). The toolchain repository rules
# (tools/toolchains/repositories.bzl) resolve tools on PATH and are re-run when PATH changes, so without this every
# switch between `npm run golden` and a plain `bazel run //pipelines:golden` re-resolved every toolchain (about 15 s).
set -euo pipefail
if [[ -n "${npm_lifecycle_event:-}" ]]; then
  kept=()
  IFS=: read -r -a entries <<<"$PATH"
  for entry in "${entries[@]}"; do
    case "$entry" in
      */node_modules/.bin | */@npmcli/run-script/lib/node-gyp-bin) ;;
      *) kept+=("$entry") ;;
    esac
  done
  PATH=$(IFS=:; echo "${kept[*]}")
  export PATH
fi
exec bazel "$@"
