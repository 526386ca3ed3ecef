# Sourced by tools/setup/bazel.sh and modules/cli/bin/nexa: under npm (`npm test`, `npm run golden`, `npx nexa`),
# PATH becomes the shell's again, without the entries npm prepends (node_modules/.bin of the package and its
# parents, npm's node-gyp-bin). The toolchain repository rules (tools/toolchains/repositories.bzl) resolve tools on
# PATH and are re-fetched when it changes, so without this every switch between an npm command and a plain bazel
# in the same checkout re-resolved every toolchain (7–15 s here).
if [[ -n "${npm_lifecycle_event:-}" ]]; then
  nexa_kept_path=()
  IFS=: read -r -a nexa_path_entries <<<"$PATH"
  for nexa_entry in "${nexa_path_entries[@]}"; do
    case "$nexa_entry" in
      */node_modules/.bin | */@npmcli/run-script/lib/node-gyp-bin) ;;
      *) nexa_kept_path+=("$nexa_entry") ;;
    esac
  done
  PATH=$(IFS=:; echo "${nexa_kept_path[*]}")
  export PATH
  unset nexa_kept_path nexa_path_entries nexa_entry
fi
