#!/usr/bin/env bash
# Every function declared in nexa_cuda.h must be defined (T) in the kernels archive. Usage: HEADER ARCHIVE
set -euo pipefail
header="$1" archive="$2"
declared=$(grep -oE '^(int|const char\*) nexa_[a-z0-9_]+\(' "$header" | grep -oE 'nexa_[a-z0-9_]+' | sort -u)
defined=$(nm --defined-only "$archive" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$defined"))
if [[ -n "$missing" ]]; then
  echo "launchers declared in nexa_cuda.h but not defined in $archive:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "all $(echo "$declared" | wc -l) launchers of nexa_cuda.h are defined"
