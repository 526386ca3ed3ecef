#!/usr/bin/env bash
# The project's formatters over its own files: buildifier for Starlark (formatting and lint), rustfmt for Rust,
# prettier for TypeScript/JavaScript. Each tool is pinned (package-lock.json, the Rust toolchain) and configured
# at the workspace root (.buildifier.json, rustfmt.toml, .prettierrc.json); see tools/format/README.md.
#
#   bazel run //tools/format                  fix every file of the source tree (BUILD_WORKSPACE_DIRECTORY)
#   bazel run //tools/format -- --check       report what is not formatted, change nothing (exit 1 if anything)
#   bazel run //tools/format -- FILE...       fix these files (relative to the directory bazel was called from)
#
# Options: --check; --lang=starlark|rust|ts (repeatable; default all three); --root=DIR (the tree whose files are
# listed, default BUILD_WORKSPACE_DIRECTORY); --source-tree (the source tree behind this test's runfiles: the
# check tests, which must run with tags = ["local"]).
# Exit status: 0 all formatted (or fixed), 1 a file is not formatted, has a lint finding or does not parse, 2 a
# usage or set-up error.
set -uo pipefail

die() {
  printf 'format: %s\n' "$*" >&2
  exit 2
}

# ---- arguments -----------------------------------------------------------------------------------------------
check=0
source_tree=0
root=""
langs=()
files=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --source-tree) source_tree=1 ;;
    --root=*) root="${arg#--root=}" ;;
    --lang=starlark | --lang=rust | --lang=ts) langs+=("${arg#--lang=}") ;;
    --lang=*) die "unknown language '${arg#--lang=}' in $arg (one of: starlark, rust, ts)" ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) files+=("$arg") ;;
  esac
done
((${#langs[@]})) || langs=(starlark rust ts)
wants() { [[ " ${langs[*]} " == *" $1 "* ]]; }

# ---- the pinned tools, from runfiles ----------------------------------------------------------------------------
runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-}}"
[[ -n "$runfiles" ]] || runfiles="$0.runfiles"
[[ -d "$runfiles" ]] || die "no runfiles tree at $runfiles: run this through Bazel (bazel run //tools/format)"
runfiles="$(cd "$runfiles" && pwd)"
main="$runfiles/${TEST_WORKSPACE:-nexacompute}"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux_amd64 ;;
  Linux-aarch64 | Linux-arm64) platform=linux_arm64 ;;
  Linux-riscv64) platform=linux_riscv64 ;;
  Darwin-x86_64) platform=darwin_amd64 ;;
  Darwin-arm64) platform=darwin_arm64 ;;
  *) die "@bazel/buildifier ships no binary for $(uname -s) $(uname -m)" ;;
esac
buildifier="$runfiles/npm/node_modules/@bazel/buildifier/buildifier-$platform"
rustfmt="$runfiles/nexa_rust/rustfmt"
node="$runfiles/nexa_node/node"
prettier="$runfiles/npm/node_modules/prettier/bin/prettier.cjs"
for f in "$buildifier" "$rustfmt" "$node" "$prettier" \
  "$main/.buildifier.json" "$main/rustfmt.toml" "$main/.prettierrc.json"; do
  [[ -e "$f" ]] || die "missing $f in the runfiles: is it in the data of //tools/format? (node_modules comes from \`bash tools/setup/setup.sh\`)"
done

# ---- the tree ---------------------------------------------------------------------------------------------------
if ((source_tree)); then
  # A local test's runfiles link to the source files; package.json is a declared input, so follow it back.
  link="$main/package.json"
  real="$(readlink -f "$link")" || die "cannot resolve $link"
  root="$(dirname "$real")"
  [[ "$root" != "$main" ]] || die "the runfiles hold copies, not links to the source tree: this test needs tags = [\"local\"]"
elif [[ -z "$root" ]]; then
  root="${BUILD_WORKSPACE_DIRECTORY:-}"
  [[ -n "$root" ]] || die "no tree to format: run it with \`bazel run //tools/format\` (or pass --root=DIR)"
fi
[[ -d "$root" ]] || die "--root $root is not a directory"
root="$(cd "$root" && pwd -P)"
cd "$root" || die "cannot enter $root"

# What the project formats, by file name. tools/format/testdata holds deliberately mis-formatted fixtures;
# *.tpl.js files are templates with {PLACEHOLDERS} that prettier would rewrite; node_modules and bazel-* are not
# the project's. .prettierignore lists the same exclusions for editors.
kind_of() {
  local base="${1##*/}"
  case "$base" in
    BUILD | BUILD.bazel | WORKSPACE | WORKSPACE.bazel | MODULE.bazel | *.bzl | *.BUILD) echo starlark ;;
    *.rs) echo rust ;;
    *.tpl.js) echo none ;;
    *.ts | *.tsx | *.mts | *.cts | *.js | *.mjs | *.cjs) echo ts ;;
    *) echo none ;;
  esac
}

starlark_files=()
rust_files=()
ts_files=()
add_file() {
  case "$(kind_of "$1")" in
    starlark) starlark_files+=("$1") ;;
    rust) rust_files+=("$1") ;;
    ts) ts_files+=("$1") ;;
    *) return 1 ;;
  esac
}

if ((${#files[@]})); then
  # Files named on the command line (relative to where `bazel run` was called), whatever the exclusions say.
  base="${BUILD_WORKING_DIRECTORY:-$PWD}"
  for f in "${files[@]}"; do
    [[ "$f" == /* ]] || f="$base/$f"
    [[ -f "$f" ]] || die "$f: no such file"
    f="$(cd "$(dirname "$f")" && pwd -P)/$(basename "$f")"
    [[ "$f" == "$root"/* ]] && f="${f#"$root"/}"
    add_file "$f" || die "$f: not a Starlark (BUILD, *.bzl), Rust (*.rs) or TypeScript/JavaScript (*.ts, *.js) file"
  done
else
  while IFS= read -r -d '' f; do
    f="${f#./}"
    add_file "$f" || true
  done < <(find . \( -name .git -o -name node_modules -o -path './bazel-*' -o -path ./tools/format/testdata \) -prune \
    -o -type f -print0 | LC_ALL=C sort -z)
  wants starlark && ((${#starlark_files[@]} == 0)) && die "found no Starlark files under $root: is it the workspace?"
  wants rust && ((${#rust_files[@]} == 0)) && die "found no Rust files under $root: is it the workspace?"
  wants ts && ((${#ts_files[@]} == 0)) && die "found no TypeScript/JavaScript files under $root: is it the workspace?"
fi

# ---- the checks -------------------------------------------------------------------------------------------------
# Each prints the names of the files that are not formatted (one per line, relative to the root) on stdout and
# anything else the tool says (lint findings, parse errors) on stderr; its status is the tool's.
check_starlark() {
  # check mode + lint: "<file> # reformat" for formatting, "<file>:<line>: <category>: ..." for lint findings.
  local out status
  out="$("$buildifier" -config="$main/.buildifier.json" -mode=check -lint=warn "$@" 2>&1)"
  status=$?
  sed -n 's/ # reformat$//p' <<<"$out"
  grep -v ' # reformat$' <<<"$out" | grep . >&2
  return $status
}
# rustfmt and prettier print canonical paths, and prettier refuses symbolic links named on its command line (a
# test's runfiles are links): they get the links' targets (resolve_paths), and the names they print are mapped
# back to the names given (map_back), relative to the root.
declare -A link_of=()
paths=()
resolve_paths() {
  local f r
  paths=()
  for f in "$@"; do
    if [[ -L "$f" ]]; then
      r="$(readlink -f "$f")"
      link_of["$r"]="$f"
      paths+=("$r")
    else
      paths+=("$f")
    fi
  done
}
map_back() {
  local n abs
  while IFS= read -r n; do
    [[ -n "$n" ]] || continue
    abs="$(realpath -m -- "$n")"
    if [[ -n "${link_of[$abs]:-}" ]]; then
      echo "${link_of[$abs]}"
    elif [[ "$abs" == "$root"/* ]]; then
      echo "${abs#"$root"/}"
    else
      echo "$n"
    fi
  done
}
check_rust() {
  local status
  resolve_paths "$@"
  "$rustfmt" --config-path "$main/rustfmt.toml" --color never --check -l "${paths[@]}" >"$scratch/rustfmt.out"
  status=$?
  map_back <"$scratch/rustfmt.out" | LC_ALL=C sort -u
  return $status
}
check_ts() {
  local status
  resolve_paths "$@"
  "$node" --preserve-symlinks --preserve-symlinks-main "$prettier" --config "$main/.prettierrc.json" \
    --no-editorconfig --ignore-path /dev/null --list-different "${paths[@]}" >"$scratch/prettier.out"
  status=$?
  map_back <"$scratch/prettier.out"
  return $status
}
fix_starlark() { "$buildifier" -config="$main/.buildifier.json" -mode=fix -lint=fix "$@"; }
fix_rust() { "$rustfmt" --config-path "$main/rustfmt.toml" --color never "$@"; }
fix_ts() {
  resolve_paths "$@"
  "$node" --preserve-symlinks --preserve-symlinks-main "$prettier" --config "$main/.prettierrc.json" \
    --no-editorconfig --ignore-path /dev/null --log-level warn --write "${paths[@]}"
}

files_word() { (($1 == 1)) && echo "$1 $2 file" || echo "$1 $2 files"; }

declare -A tool_name=([starlark]=buildifier [rust]=rustfmt [ts]=prettier)
declare -A lang_name=([starlark]=Starlark [rust]=Rust [ts]="TypeScript/JavaScript")
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=0
unformatted=()
for lang in starlark rust ts; do
  wants "$lang" || continue
  declare -n list="${lang}_files"
  if ((${#list[@]} == 0)); then
    unset -n list
    continue
  fi
  tool="${tool_name[$lang]}"
  if ((!check)); then
    before="$(sha256sum -- "${list[@]}")"
    "fix_$lang" "${list[@]}" || true # whatever it could not fix, the check below reports
    changed="$(diff <(printf '%s\n' "$before") <(sha256sum -- "${list[@]}") | sed -n 's/^> [0-9a-f]*  //p')"
    count=$(grep -c . <<<"$changed")
    echo "format: $tool changed $count of $(files_word ${#list[@]} "${lang_name[$lang]}")"
    [[ -n "$changed" ]] && sed 's/^/  /' <<<"$changed"
  fi
  errors="$scratch/errors"
  names="$("check_$lang" "${list[@]}" 2>"$errors")"
  status=$?
  if ((status != 0)); then
    failed=1
    while IFS= read -r n; do [[ -n "$n" ]] && unformatted+=("$n ($tool)"); done <<<"$names"
    if [[ -s "$errors" ]]; then
      if [[ "$tool" == buildifier ]]; then
        echo "format: buildifier reports (fix these by hand; a finding that must stay needs \`# buildifier: disable=<category>\` and the reason):" >&2
      else
        echo "format: $tool reports (fix these by hand):" >&2
      fi
      sed 's/^/  /' "$errors" >&2
    elif [[ -z "$names" ]]; then
      echo "format: $tool failed (exit $status) on ${lang_name[$lang]} files without naming one" >&2
    fi
  fi
  ((check)) && echo "format: $tool checked $(files_word ${#list[@]} "${lang_name[$lang]}")"
  unset -n list
done

if ((${#unformatted[@]})); then
  n=${#unformatted[@]}
  ((n == 1)) && echo "format: 1 file is not formatted:" >&2 || echo "format: $n files are not formatted:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "format: fix them with \`bazel run //tools/format\` (or \`bazel run //tools/format -- FILE...\`)" >&2
fi
exit $failed
