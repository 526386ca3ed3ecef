#!/usr/bin/env bash
# Shard fan-out of the data stage, run by CI after `npm test` (bash tests/scale/shards_check.sh):
#
#   1. the shard count is a knob (--//tools/stage:shards=data=N,teacher_pack=N) and the product does not depend on
#      it: 1, 2, 3 and 8 shards of the data and pack stages give the same stage manifests, byte for byte;
#   2. Bazel's action cache makes a shard the unit of resume: `kill -9` of a shard action in the middle of the stage
#      (8 shards, one action at a time, after two have finished), then a rerun executes exactly the shards that had
#      not finished, and the merge.
# Whether an action ran is read from Bazel itself (--explain). It works on a scratch copy of the workspace with its
# own Bazel output base and no disk cache, so every action really runs.
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init shards

bz() { bazel --output_base="$scratch/ob" "$@"; }
manifest() { sha256sum "$(bz info bazel-bin 2>/dev/null)/pipelines/$1.manifest.json" | cut -d' ' -f1; }

any_count() {
  local n want_data want_pack
  for n in 1 2 3 8; do
    bz build --disk_cache= "--//tools/stage:shards=data=$n,teacher_pack=$n" //pipelines:teacher_pack \
      >"$scratch/build-$n.log" 2>&1 || { tail -20 "$scratch/build-$n.log"; fail "the data or pack stage failed with $n shards"; }
    echo "$n shards: data.manifest.json $(manifest data), teacher_pack.manifest.json $(manifest teacher_pack)"
    want_data=${want_data:-$(manifest data)}
    want_pack=${want_pack:-$(manifest teacher_pack)}
    [[ "$(manifest data)" == "$want_data" ]] || fail "$n data shards give another manifest than 1 shard"
    [[ "$(manifest teacher_pack)" == "$want_pack" ]] || fail "$n pack shards give another manifest than 1 shard"
  done
}

resume_unfinished() {
  local builder pid="" bin finished killed executed expected i n
  local flags=(--disk_cache= --jobs=1 "--//tools/stage:shards=data=8" --//tools/stage:set=data.seed=4242)
  bin=$(bz info bazel-bin 2>/dev/null)/pipelines
  # a config nothing was built with yet (another seed). A finished shard's log is newer than $marker (Bazel creates
  # a shard's output directory when the action starts, but moves its log out of the sandbox only when it ends).
  # Outputs carry whole-second mtimes here (e.g. 20:03:59.000000000), so a shard ending in the marker's own second
  # would look older than it: the build starts in the next second.
  touch "$scratch/marker"
  sleep 1.1
  bz build "${flags[@]}" //pipelines:data >"$scratch/resume1.log" 2>&1 &
  builder=$!
  for _ in $(seq 1 2400); do
    n=$(find "$bin" -maxdepth 1 -name 'data.shard-*-of-8.log.jsonl' -newer "$scratch/marker" | wc -l)
    if [[ $n -ge 2 ]] && pid=$(own_action "stage.bundle.js run --stage=data .*--num-shards=8") && [[ -n "$pid" ]]; then break; fi
    pid=""
    kill -0 "$builder" 2>/dev/null || fail "the build ended before two shards had finished (see $scratch/resume1.log)"
    sleep 0.05
  done
  [[ -n "$pid" ]] || fail "no shard action was seen running after two had finished"
  killed=$(tr '\0' '\n' <"/proc/$pid/cmdline" | sed -nE 's/^--shard=([0-9]+)$/\1/p')
  [[ -n "$killed" ]] || fail "the running shard action $pid has no --shard=K argument"
  kill -9 "$pid"
  if wait "$builder"; then fail "the build succeeded although a shard action was killed"; fi
  # Bazel also moves the outputs of a failed action out of its sandbox, so the killed shard may leave a (partial)
  # log: it is not a finished one.
  finished=$(find "$bin" -maxdepth 1 -name 'data.shard-*-of-8.log.jsonl' -newer "$scratch/marker" -printf '%f\n' |
    sed -E 's/data.shard-([0-9]+)-of-8.log.jsonl/\1/' | { grep -vx "$killed" || true; } | sort -n | tr '\n' ' ')
  echo "killed shard action $pid (shard $killed, 0-based) with shards [${finished% }] finished; the build failed as expected"
  bz build "${flags[@]}" --explain="$scratch/explain.txt" //pipelines:data >"$scratch/resume2.log" 2>&1 ||
    { tail -20 "$scratch/resume2.log"; fail "the rerun failed"; }
  executed=$({ grep -oE "Executing action 'Stage data (shard [0-9]+/8|merge of 8 shards)" "$scratch/explain.txt" || true; } |
    sed -E "s/.*Stage data //" | sort | tr '\n' ';')
  expected="merge of 8 shards"$'\n'
  for i in $(seq 0 7); do
    [[ " $finished " == *" $i "* ]] || expected+="shard $((i + 1))/8"$'\n'
  done
  expected=$(printf '%s' "$expected" | sort | tr '\n' ';')
  echo "rerun executed: $executed"
  [[ "$executed" == "$expected" ]] || fail "the rerun executed [$executed], expected the unfinished shards and the merge [$expected]"
}

scenario "the data and pack stages' products are the same for 1, 2, 3 and 8 shards" any_count
scenario "after kill -9 of a shard mid-stage, a rerun executes only the unfinished shards and the merge" resume_unfinished
scenarios_end
