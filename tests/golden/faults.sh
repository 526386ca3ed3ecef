#!/usr/bin/env bash
# Idempotency and fault checks of the golden pipeline, run by CI after `npm test` (bash tests/golden/faults.sh).
#
#   1. a second `bazel run //pipelines:golden` has every stage cached, the same run_id, an unchanged registry;
#   2. `kill -9` of the running train action, then a rerun: completes, every stage manifest equals the lock;
#   3. `kill -9` of the publisher mid-publish, then a rerun: completes with the same run_id, and every visible
#      blob in the registry hashes to its name (no partial artifact);
#   4. changing only the eval rubric reruns only eval; changing a knob of the student's train config reruns only the
#      two stages that read it (train and train_undistilled) and eval.
# Whether a stage ran is read from Bazel itself (the actions it executed, --explain), never from the registry.
# Each scenario counts on its own: one "[faults] PASS: <scenario>" or "[faults] FAIL: <scenario>" line each, then
# "faults: N passed, N failed"; the exit status is non-zero when any scenario failed.
#
# It works on a scratch copy of the workspace with its own Bazel output base (the checkout is never modified).
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init faults
cp pipelines/golden.lock.json "$scratch/lock.expected"
bz() { bazel --output_base="$scratch/ob" "$@"; }
# Digest of every stage manifest the last build produced.
manifests() { (cd "$(bz info bazel-bin 2>/dev/null)/pipelines" && sha256sum ./*.manifest.json); }
# Every blob under cas/sha256 must hash to its own name (no torn or partial files visible).
check_registry() {
  local home=$1 n=0 f hex
  while IFS= read -r f; do
    hex="$(basename "$(dirname "$f")")$(basename "$f")"
    [[ "$(sha256sum "$f" | cut -d' ' -f1)" == "$hex" ]] || fail "registry blob $f does not hash to its name"
    n=$((n + 1))
  done < <(find "$home/cas/sha256" -type f)
  echo "$n blobs verified"
}
run_id() { grep -oE 'run_id=[0-9a-f]{64}' <<<"$1" | cut -d= -f2; }
executed() { # stage names whose actions Bazel executed in the last build that wrote $scratch/explain.txt
  [[ -s "$scratch/explain.txt" ]] || fail "Bazel wrote no --explain log ($scratch/explain.txt)"
  { grep -oE "Executing action 'Stage [a-z_]+" "$scratch/explain.txt" || true; } | awk '{print $4}' | sort -u | tr '\n' ' '
}
# ---- 2. kill -9 of the train action (cold build, no caches) ----------------------------------------------------
kill_train_action() {
bz build --disk_cache= //pipelines:golden >"$scratch/build1.log" 2>&1 &
builder=$!
for _ in $(seq 1 900); do
  if pid=$(own_action 'stage.bundle.js run --stage=train ') && [[ -n "$pid" ]]; then break; fi
  kill -0 "$builder" 2>/dev/null || fail "build ended before the train action started (see $scratch/build1.log)"
  sleep 0.5
done
[[ -n "${pid:-}" ]] || fail "the train action never started"
sleep 2
kill -9 "$pid"
if wait "$builder"; then fail "the build succeeded although its train action was killed"; fi
echo "train action $pid killed; build failed as expected"
bz build --disk_cache= //pipelines:golden >"$scratch/build2.log" 2>&1 || { tail -30 "$scratch/build2.log"; fail "rerun after kill failed"; }
bz run //tests/golden:update_lock >/dev/null 2>&1
cmp -s "$scratch/lock.expected" pipelines/golden.lock.json || { diff "$scratch/lock.expected" pipelines/golden.lock.json | head -20; fail "outputs after the rerun differ from the lock"; }
echo "rerun completed; every stage output equals pipelines/golden.lock.json"
}

# ---- 1. idempotent publish -------------------------------------------------------------------------------------
publish_twice() {
export NEXA_HOME="$scratch/home1"
out1=$(bz run //pipelines:golden 2>/dev/null)
rm -f "$scratch/explain.txt"
out2=$(bz run //pipelines:golden --explain="$scratch/explain.txt" --verbose_explanations 2>/dev/null)
echo "$out2"
[[ -n "$(run_id "$out1")" && "$(run_id "$out1")" == "$(run_id "$out2")" ]] || fail "run_id changed between two runs"
ran=$(executed)
[[ -z "$ran" ]] || fail "Bazel executed stage actions again on the second run: $ran"
grep -qE '^(data|teacher_pack|teacher|distill|pack|train|train_undistilled|eval) +ran' <<<"$out2" && fail "the registry reports a stage as ran on the second run"
before=$(find "$NEXA_HOME/cas" "$NEXA_HOME/roots" -type f | sort | xargs sha256sum)
bz run //pipelines:golden >/dev/null 2>&1
after=$(find "$NEXA_HOME/cas" "$NEXA_HOME/roots" -type f | sort | xargs sha256sum)
[[ "$before" == "$after" ]] || fail "the registry changed on a rerun"
check_registry "$NEXA_HOME"
echo "second run: Bazel executed no stage action, same run_id, registry unchanged"
run_id "$out1" >"$scratch/run_id"
}

# ---- 3. kill -9 of the publisher ---------------------------------------------------------------------------------
kill_publisher() {
local want
if [[ -s "$scratch/run_id" ]]; then want=$(cat "$scratch/run_id"); else want=$(run_id "$(NEXA_HOME="$scratch/home0" bz run //pipelines:golden 2>/dev/null)"); fi
export NEXA_HOME="$scratch/home2"
NEXA_PUBLISH_PAUSE_MS=200 bz run //pipelines:golden >"$scratch/publish.log" 2>&1 &
runner=$!
for _ in $(seq 1 600); do
  [[ $(find "$NEXA_HOME/cas/sha256" -type f 2>/dev/null | wc -l) -ge 3 ]] && break
  sleep 0.1
done
ppid_publisher=$(own_action 'nexa.bundle.js publish') || fail "publisher not running"
kill -9 "$ppid_publisher"
wait "$runner" || true
grep -q 'run_id=' "$scratch/publish.log" && fail "the publisher finished before it was killed"
check_registry "$NEXA_HOME"
out3=$(bz run //pipelines:golden 2>/dev/null)
[[ -n "$want" && "$(run_id "$out3")" == "$want" ]] || fail "rerun after a killed publish gave another run_id"
check_registry "$NEXA_HOME"
echo "publisher killed; rerun completed with the same run_id; no partial blob"
}

# ---- 4. what reruns after a change ---------------------------------------------------------------------------------
rubric_change_reruns_eval() {
node -e 'const fs=require("fs"),f=process.argv[1];fs.writeFileSync(f,fs.readFileSync(f,"utf8").replace(/"revision": (\d+)/,(m,n)=>`"revision": ${+n+1}`))' pipelines/golden/rubric.json
bz build //pipelines:golden --explain="$scratch/explain.txt" --verbose_explanations >/dev/null 2>&1
ran=$(executed)
[[ "$ran" == "eval " ]] || fail "rubric change reran: '$ran' (expected only eval)"
echo "reran: $ran"
}
train_knob_reruns_train_and_eval() {
node -e 'const fs=require("fs"),f=process.argv[1];fs.writeFileSync(f,fs.readFileSync(f,"utf8").replace(/"steps": (\d+)/,(m,n)=>`"steps": ${+n+1}`))' pipelines/golden/student_train.json
bz build //pipelines:golden --explain="$scratch/explain.txt" --verbose_explanations >/dev/null 2>&1
ran=$(executed)
[[ "$ran" == "eval train " ]] ||
  fail "student train knob change reran: '$ran' (expected train and eval; train_undistilled has its own config)"
echo "reran: $ran"
}

scenario "cold build with kill -9 of the train action, rerun equals the lock" kill_train_action
scenario "publish twice: nothing re-executed, same run_id, registry unchanged" publish_twice
scenario "kill -9 of the publisher mid-publish, rerun completes with no partial blob" kill_publisher
scenario "changing only the rubric reruns only eval" rubric_change_reruns_eval
scenario "changing a student train knob reruns only train and eval" train_knob_reruns_train_and_eval
scenarios_end
