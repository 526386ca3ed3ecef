#!/usr/bin/env bash
# Builds the pinned Buildbarn binaries (tools/rbe/versions.sh) once into $BB_PREFIX/bin, with the .complete marker
# written last. Sources come from the Go module proxy configured in the environment (GOPROXY); nothing is copied
# into the repository. Usage: tools/rbe/build.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

if [[ "${1:-}" != "--force" && -f "$BB_PREFIX/.complete" ]]; then
  echo "buildbarn $BB_VERSION: already built in $BB_PREFIX"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: go not found on PATH (Go >= 1.23 is needed)" >&2; exit 1; }

# A project-owned module cache and build cache; no toolchain downloads; the checksum database has no entries for
# these Buildbarn versions, so the top module is checked against BB_REMOTE_EXECUTION_SUM below and its go.sum
# checks everything else.
export GOPATH="$NEXA_RBE_HOME/gopath"
export GOCACHE="$NEXA_RBE_HOME/gocache"
export GOTOOLCHAIN=local
export GONOSUMDB=github.com/buildbarn
export GOFLAGS=-mod=mod
export CGO_ENABLED=0

start=$(date +%s)
work="$BB_PREFIX.tmp.$$"
rm -rf "$work"
mkdir -p "$work/deps" "$work/bin"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

json_field() { # json_field FIELD: the string value of FIELD in `go mod download -json` output on stdin
  sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" | head -n 1
}

echo "== downloading $BB_REMOTE_EXECUTION_MODULE@$BB_REMOTE_EXECUTION_VERSION"
info="$(cd "$work" && go mod download -json "$BB_REMOTE_EXECUTION_MODULE@$BB_REMOTE_EXECUTION_VERSION")"
sum="$(json_field Sum <<<"$info")"
dir="$(json_field Dir <<<"$info")"
if [[ "$sum" != "$BB_REMOTE_EXECUTION_SUM" ]]; then
  echo "build.sh: $BB_REMOTE_EXECUTION_MODULE@$BB_REMOTE_EXECUTION_VERSION has sum $sum, expected $BB_REMOTE_EXECUTION_SUM (tools/rbe/versions.sh)" >&2
  exit 1
fi
src="$work/bb-remote-execution"
cp -r "$dir" "$src"
chmod -R u+w "$src"
cd "$src"

required="$(go list -m -f '{{.Version}}' "$BB_STORAGE_MODULE")"
if [[ "$required" != "$BB_STORAGE_VERSION" ]]; then
  echo "build.sh: bb-remote-execution requires $BB_STORAGE_MODULE $required, versions.sh says $BB_STORAGE_VERSION" >&2
  exit 1
fi
go mod download
storage_dir="$(go list -m -f '{{.Dir}}' "$BB_STORAGE_MODULE")"

# Patched copies of the dependencies Buildbarn's Bazel build patches, and replace directives pointing at them.
while read -r module version origin patch; do
  [[ -n "$module" ]] || continue
  required="$(go list -m -f '{{.Version}}' "$module")"
  if [[ "$required" != "$version" ]]; then
    echo "build.sh: the module graph has $module $required, versions.sh patches $version" >&2
    exit 1
  fi
  case "$origin" in
    execution) patch_file="$src/$patch" ;;
    storage) patch_file="$storage_dir/$patch" ;;
    *) echo "build.sh: unknown patch origin $origin" >&2; exit 1 ;;
  esac
  copy="$work/deps/${module//\//_}"
  if [[ ! -d "$copy" ]]; then
    cp -r "$(go list -m -f '{{.Dir}}' "$module")" "$copy"
    chmod -R u+w "$copy"
    # Modules published without a go.mod get the one the proxy synthesised (a replacement directory needs one).
    [[ -f "$copy/go.mod" ]] || cp "$(go list -m -f '{{.GoMod}}' "$module")" "$copy/go.mod"
    go mod edit -replace "$module=$copy"
  fi
  echo "== patching $module $version with $patch"
  patch -d "$copy" -p0 --forward --no-backup-if-mismatch <"$patch_file"
done <<<"$BB_PATCHES"

while read -r name pkg; do
  [[ -n "$name" ]] || continue
  echo "== building $name ($pkg)"
  go build -trimpath -o "$work/bin/$name" "$pkg"
done <<<"$BB_PROGRAMS"

# Record what was built, then move it into place; .complete comes last.
rm -rf "$BB_PREFIX"
mkdir -p "$BB_PREFIX"
mv "$work/bin" "$BB_BIN"
{
  echo "buildbarn $BB_VERSION"
  echo "$BB_REMOTE_EXECUTION_MODULE $BB_REMOTE_EXECUTION_VERSION $BB_REMOTE_EXECUTION_SUM"
  echo "$BB_STORAGE_MODULE $BB_STORAGE_VERSION"
  echo "patches:"
  grep -v '^$' <<<"$BB_PATCHES" | sed 's/^/  /'
  echo "go: $(go version)"
  echo "build seconds: $(( $(date +%s) - start ))"
  (cd "$BB_BIN" && sha256sum -- *)
} >"$BB_PREFIX/BUILDINFO"
cp "$src/go.mod" "$BB_PREFIX/go.mod"
touch "$BB_PREFIX/.complete"
echo "buildbarn $BB_VERSION: built into $BB_BIN in $(( $(date +%s) - start )) s"
