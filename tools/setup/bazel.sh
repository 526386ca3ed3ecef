#!/usr/bin/env bash
# Runs bazel for `npm test` and `npm run golden` with the PATH the shell had before npm prepended its own entries
# (tools/setup/npm_path.sh says why).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/npm_path.sh"
exec bazel "$@"
