#!/usr/bin/env bash
# Runs protoc with the ts-proto plugin into a scratch directory and moves the requested files to their outputs.
# Usage: ts_proto_gen.sh PROTOC NODE PLUGIN_JS OPTIONS DESCRIPTOR_SETS(:-joined) SCRATCH -- IMPORT=OUTPUT... -- FILES...
set -euo pipefail
protoc="$1" node="$2" plugin_js="$3" options="$4" descriptors="$5" scratch="$6"
shift 6
[[ "$1" == "--" ]] && shift
pairs=()
while [[ "$1" != "--" ]]; do pairs+=("$1"); shift; done
shift
mkdir -p "$scratch"
plugin="$scratch/protoc-gen-ts_proto"
# protoc starts plugins by path; actions have no PATH, so the plugin is a wrapper calling node by path.
printf '#!/bin/sh\nexec "%s" --preserve-symlinks --preserve-symlinks-main "%s" "$@"\n' "$PWD/$node" "$PWD/$plugin_js" > "$plugin"
chmod +x "$plugin"
"$protoc" --plugin=protoc-gen-ts_proto="$plugin" --ts_proto_out="$scratch" --ts_proto_opt="$options" \
  --descriptor_set_in="$descriptors" "$@"
for pair in "${pairs[@]}"; do
  generated="$scratch/${pair%%=*}"
  if [[ ! -f "$generated" ]]; then
    echo "ts_proto_library: protoc did not produce ${pair%%=*}" >&2
    exit 1
  fi
  # Well-known types are generated once, in //proto/google/protobuf; point relative imports there.
  sed -E 's#from "(\./|(\.\./)+)google/protobuf/([a-z_]+)"#from "@nexa/proto/google/protobuf/\3"#' "$generated" > "${pair#*=}"
done
# Nothing of the scratch tree is kept: it held the plugin wrapper (absolute paths) and unrequested files.
rm -rf "${scratch:?}"/*
