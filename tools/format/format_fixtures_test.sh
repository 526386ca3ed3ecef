#!/usr/bin/env bash
# Proves the format checks bite, on fixtures (tools/format/testdata) and a small tree made here:
#   1. each checker fails on its mis-formatted fixture and names it (buildifier also on a lint finding);
#   2. the formatted twins pass, and so do native Bazel 4 rules (the newer-Bazel warnings are off);
#   3. fixing copies of the mis-formatted fixtures gives the formatted twins byte for byte;
#   4. listing a tree skips .git, node_modules, bazel-*, tools/format/testdata and *.tpl.js, and finds the rest.
set -uo pipefail

main="$TEST_SRCDIR/$TEST_WORKSPACE"
format="$main/tools/format/format.sh"
data="tools/format/testdata"
scratch="$TEST_TMPDIR"
failures=0
passes=0

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  failures=$((failures + 1))
}
pass() {
  printf 'ok: %s\n' "$*"
  passes=$((passes + 1))
}

# run NAME WANT_STATUS ARGS...: runs format.sh, keeps its output in $out, checks the exit status.
run() {
  local name="$1" want="$2"
  shift 2
  out="$(bash "$format" "$@" 2>&1)"
  local status=$?
  if [[ "$status" != "$want" ]]; then
    fail "$name: exit $status, want $want; output:"
    sed 's/^/    /' <<<"$out" >&2
    return 1
  fi
  return 0
}
# says NAME TEXT: the last run's output contains TEXT; names NAME FILE: it lists FILE (a line "  FILE").
says() {
  if grep -qF -- "$2" <<<"$out"; then
    pass "$1"
  else
    fail "$1: output lacks '$2'; output:"
    sed 's/^/    /' <<<"$out" >&2
  fi
}
names() {
  if grep -qxF -- "  $2" <<<"$out"; then
    pass "$1"
  else
    fail "$1: output lacks '$2'; output:"
    sed 's/^/    /' <<<"$out" >&2
  fi
}

# ---- 1. mis-formatted fixtures fail, each named with its checker ------------------------------------------------
if run "buildifier on mis-formatted fixtures" 1 --check --root="$main" --lang=starlark "$data/misformatted.BUILD" "$data/misformatted.bzl"; then
  names "buildifier names misformatted.BUILD" "$data/misformatted.BUILD (buildifier)"
  names "buildifier names misformatted.bzl" "$data/misformatted.bzl (buildifier)"
fi
if run "buildifier lint" 1 --check --root="$main" "$data/lint_finding.bzl"; then
  says "buildifier reports the lint finding with file and line" "$data/lint_finding.bzl:12: unused-variable"
fi
if run "rustfmt on a mis-formatted fixture" 1 --check --root="$main" "$data/misformatted.rs"; then
  names "rustfmt names misformatted.rs" "$data/misformatted.rs (rustfmt)"
fi
if run "prettier on a mis-formatted fixture" 1 --check --root="$main" "$data/misformatted.ts"; then
  names "prettier names misformatted.ts" "$data/misformatted.ts (prettier)"
  says "the failure says how to fix it" "bazel run //tools/format"
fi

# ---- 2. formatted fixtures pass ---------------------------------------------------------------------------------
if run "formatted fixtures and native Bazel 4 rules pass" 0 --check --root="$main" "$data/formatted.BUILD" \
  "$data/formatted.bzl" "$data/native_rules.BUILD" "$data/formatted.rs" "$data/formatted.ts"; then
  says "buildifier checked the three Starlark fixtures" "buildifier checked 3 Starlark files"
  says "rustfmt checked the Rust fixture" "rustfmt checked 1 Rust file"
  says "prettier checked the TypeScript fixture" "prettier checked 1 TypeScript/JavaScript file"
fi

# ---- 3. fixing gives the formatted twins ------------------------------------------------------------------------
fix="$scratch/fix"
mkdir -p "$fix"
for ext in BUILD bzl rs ts; do cp -L "$main/$data/misformatted.$ext" "$fix/misformatted.$ext"; done
if run "fix mode on copies" 0 --root="$fix" "$fix/misformatted.BUILD" "$fix/misformatted.bzl" "$fix/misformatted.rs" \
  "$fix/misformatted.ts"; then
  says "fix mode reports what buildifier changed" "buildifier changed 2 of 2 Starlark files"
  for ext in BUILD bzl rs ts; do
    if cmp -s "$fix/misformatted.$ext" "$main/$data/formatted.$ext"; then
      pass "fixed misformatted.$ext equals formatted.$ext"
    else
      fail "fixed misformatted.$ext differs from formatted.$ext:"
      diff -u "$main/$data/formatted.$ext" "$fix/misformatted.$ext" | sed 's/^/    /' >&2
    fi
  done
fi

# ---- 4. the tree listing ----------------------------------------------------------------------------------------
tree="$scratch/tree"
mkdir -p "$tree/pkg" "$tree/.git/hooks" "$tree/node_modules/dep" "$tree/bazel-out/bin" "$tree/$data"
: >"$tree/WORKSPACE"
cp -L "$main/$data/formatted.BUILD" "$tree/pkg/BUILD.bazel"
cp -L "$main/$data/formatted.bzl" "$tree/pkg/defs.bzl"
cp -L "$main/$data/formatted.rs" "$tree/pkg/lib.rs"
cp -L "$main/$data/formatted.ts" "$tree/pkg/index.ts"
printf '"use strict";\nmodule.exports = { answer: 42 };\n' >"$tree/pkg/tool.js"
# Mis-formatted files that the listing must skip.
for skipped in .git/hooks/hook.ts node_modules/dep/index.js bazel-out/bin/out.ts "$data/misformatted.ts" pkg/config.tpl.js; do
  cp -L "$main/$data/misformatted.ts" "$tree/$skipped"
done
cp -L "$main/$data/misformatted.rs" "$tree/node_modules/dep/build.rs"
cp -L "$main/$data/misformatted.BUILD" "$tree/node_modules/dep/BUILD.bazel"
if run "a formatted tree passes, the skipped files unread" 0 --check --root="$tree"; then
  says "the tree's Starlark files are found" "buildifier checked 3 Starlark files"
  says "the tree's Rust file is found" "rustfmt checked 1 Rust file"
  says "the tree's .ts and .js files are found" "prettier checked 2 TypeScript/JavaScript files"
fi
cp -L "$main/$data/misformatted.ts" "$tree/pkg/added.ts"
if run "a mis-formatted file added to the tree fails the check" 1 --check --root="$tree"; then
  names "the added file is named" "pkg/added.ts (prettier)"
  says "and it is the only one" "1 file is not formatted"
fi
if run "fix mode on the tree" 0 --root="$tree"; then
  says "fix mode changed the added file only" "prettier changed 1 of 3 TypeScript/JavaScript files"
  cmp -s "$tree/pkg/added.ts" "$main/$data/formatted.ts" && pass "the added file is now formatted" ||
    fail "pkg/added.ts was not formatted by fix mode"
  cmp -s "$tree/node_modules/dep/index.js" "$main/$data/misformatted.ts" && pass "node_modules was left alone" ||
    fail "fix mode changed node_modules/dep/index.js"
fi
rm -f "$tree/pkg/lib.rs"
if run "a tree without Rust files is a set-up error for the Rust check" 2 --check --root="$tree" --lang=rust; then
  says "the error names what is missing" "found no Rust files under $tree"
fi

echo "format_fixtures_test: $passes passed, $failures failed"
((failures == 0))
