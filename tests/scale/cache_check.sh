#!/usr/bin/env bash
# The shared cache end to end, on loopback, run by CI after `npm test` (bash tests/scale/cache_check.sh):
#
#   1. a build of a representative set (kernels, every module's stage tool, the golden data + pack stages and a short
#      train stage) with --config=cache against a fresh bazel-remote, then `bazel clean --expunge` and the same build
#      again: at least 95 % of its spawns are remote cache hits, and every output digest equals the first build's;
#   2. `nexa push` of a published run to the same server and `nexa pull` into an empty $NEXA_HOME reproduce the run:
#      the same `nexa show --json` (less the journal) and the same files of its checkpoint.
# It works on a scratch copy of the workspace with its own Bazel output base and its own bazel-remote data directory
# (tools/rbe/cache.sh on spare ports), and stops that server when it ends.
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init cache

export NEXA_CACHE_STATE="$scratch/bazel-remote"
export NEXA_CACHE_HTTP_PORT=${NEXA_CACHE_CHECK_HTTP_PORT:-19090}
export NEXA_CACHE_GRPC_PORT=${NEXA_CACHE_CHECK_GRPC_PORT:-19092}
trap 'tools/rbe/cache.sh down >/dev/null 2>&1 || true; cd /; bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
tools/rbe/cache.sh up

bz() { bazel --output_base="$scratch/ob" "$@"; }
CACHE=(--config=cache --disk_cache= "--remote_cache=grpc://127.0.0.1:$NEXA_CACHE_GRPC_PORT")
TARGETS=(//kernels/abi:nexa_kernels //pipelines:data //pipelines:teacher_pack //pipelines:teacher //tests/inference:model)
while IFS= read -r t; do TARGETS+=("$t"); done < <(bz query 'attr(name, "^stage$", //modules/...)' 2>/dev/null)

# "INFO: 212 processes: 205 remote cache hit, 7 internal." -> "<hits> <spawns that were not internal>"
spawn_counts() {
  local line total internal hits
  line=$(grep -E '^INFO: [0-9]+ processes?' "$1" | tail -1)
  [[ -n "$line" ]] || fail "no process summary in $1"
  echo "Bazel: ${line#INFO: }" >&2
  total=$(sed -nE 's/^INFO: ([0-9]+) process.*/\1/p' <<<"$line")
  internal=$(grep -oE '[0-9]+ internal' <<<"$line" | cut -d' ' -f1 || true)
  hits=$(grep -oE '[0-9]+ remote cache hit' <<<"$line" | cut -d' ' -f1 || true)
  echo "${hits:-0} $((total - ${internal:-0}))"
}
# Digests of the build's outputs: the kernels library, the stage tools' bundles and the stages' manifests.
digests() {
  local bin
  bin=$(bz info bazel-bin 2>/dev/null)
  (cd "$bin" && sha256sum kernels/abi/*.so modules/*/stage.bundle.js pipelines/*.manifest.json tests/inference/*.manifest.json)
}

clean_rebuild_hits() {
  local started=$SECONDS hits spawns
  bz build "${CACHE[@]}" "${TARGETS[@]}" >"$scratch/build1.log" 2>&1 || { tail -30 "$scratch/build1.log"; fail "first build failed"; }
  echo "first build (uploads to the cache): $((SECONDS - started)) s, ${#TARGETS[@]} targets"
  digests >"$scratch/digests1"
  bz clean --expunge >/dev/null 2>&1
  started=$SECONDS
  bz build "${CACHE[@]}" "${TARGETS[@]}" >"$scratch/build2.log" 2>&1 || { tail -30 "$scratch/build2.log"; fail "rebuild failed"; }
  read -r hits spawns < <(spawn_counts "$scratch/build2.log")
  echo "rebuild after clean --expunge: $((SECONDS - started)) s, $hits of $spawns spawns were remote cache hits"
  [[ $spawns -gt 0 && $((hits * 100)) -ge $((spawns * 95)) ]] || fail "remote cache hits $hits / $spawns are below 95 %"
  digests >"$scratch/digests2"
  cmp -s "$scratch/digests1" "$scratch/digests2" || { diff "$scratch/digests1" "$scratch/digests2" | head; fail "outputs differ from the first build's"; }
  echo "$(wc -l <"$scratch/digests1") output digests equal the first build's"
  tools/rbe/cache.sh status >"$scratch/status.txt"
  head -1 "$scratch/status.txt"
}

push_pull() {
  local run home2 nexa url="http://127.0.0.1:$NEXA_CACHE_HTTP_PORT"
  export NEXA_HOME="$scratch/home1"
  bz run "${CACHE[@]}" //pipelines:teacher_pipeline >"$scratch/publish.log" 2>&1 || { tail -30 "$scratch/publish.log"; fail "publishing the teacher pipeline failed"; }
  run=$(grep -oE 'run_id=[0-9a-f]{64}' "$scratch/publish.log" | head -1 | cut -d= -f2)
  [[ -n "$run" ]] || fail "no run_id in the publish output"
  nexa="$(bz info bazel-bin 2>/dev/null)/modules/cli/nexa.sh"
  bz build "${CACHE[@]}" //modules/cli:nexa >/dev/null 2>&1
  "$nexa" push "$run" --remote "$url"
  home2="$scratch/home2"
  NEXA_HOME="$home2" "$nexa" pull "$run" --remote "$url"
  shown() { NEXA_HOME=$1 "$nexa" show "$run" --json | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    delete j.publishedAt; delete j.invocations; delete j.durationMs;
    for (const s of j.stages) { delete s.status; delete s.durationMs; }
    process.stdout.write(JSON.stringify(j));'; }
  [[ "$(shown "$NEXA_HOME")" == "$(shown "$home2")" ]] || fail "the pulled run reads differently from the pushed one"
  NEXA_HOME="$home2" "$nexa" export hf "$run:teacher" "$scratch/hf2" >/dev/null
  "$nexa" export hf "$run:teacher" "$scratch/hf1" >/dev/null
  for f in "$scratch"/hf1/*; do
    cmp -s "$f" "$scratch/hf2/$(basename "$f")" || fail "$(basename "$f") of the pulled checkpoint differs"
  done
  echo "run $run pushed and pulled into an empty registry: same show --json, same checkpoint files"
}

scenario "a clean rebuild is served from bazel-remote (>= 95 % remote cache hits, same digests)" clean_rebuild_hits
scenario "nexa push / pull through bazel-remote reproduce a run in an empty registry" push_pull
scenarios_end
