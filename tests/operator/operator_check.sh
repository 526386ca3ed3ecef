#!/usr/bin/env bash
# End-to-end checks of the operator commands with real Bazel, run by CI after `npm test`
# (bash tests/operator/operator_check.sh). They need nested Bazel, so they are not a `bazel test`:
#
#   1. keys:     the flags `nexa run` adds (--sandbox_writable_path, --build_event_json_file,
#                --build_event_publish_all_actions) change no stage action key; --//tools/stage:set=train.steps=3
#                changes exactly train's (aquery over //pipelines:golden);
#   2. data_dir: `nexa new pipeline` on a fixture directory outside the workspace (nested folders) scaffolds a
#                pipeline whose data stage builds from @nexa_data_<name>; editing one fixture file reruns the
#                data stage; a missing data directory fails naming nexa_data_dir and the fix;
#   3. run:      `nexa run <scaffolded> --json` reports every stage, with train progress before train is done;
#                a second run changing one train field with --set reruns only train and eval (the rest cached)
#                (warm-up steps of the golden configs are 20: every --set steps here is above that);
#   4. tty:      under a pseudo-terminal (script(1)) the table is redrawn in place and shows train steps.
# One "[operator] PASS: <scenario>" / "[operator] FAIL: <scenario>" line each, then "operator: N passed, N failed".
# It works on a scratch copy of the workspace with its own Bazel output base (the checkout is never modified).
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init operator
# `nexa run` calls $NEXA_BAZEL: this checkout's Bazel with the scratch output base.
printf '#!/usr/bin/env bash\nexec bazel --output_base=%q "$@"\n' "$scratch/ob" >"$scratch/bazel"
chmod +x "$scratch/bazel"
bz() { "$scratch/bazel" "$@"; }
export NEXA_BAZEL="$scratch/bazel" NEXA_HOME="$scratch/home"
nexa() { bz run //modules/cli:nexa -- "$@"; }

# A corpus outside the workspace: nested folders of JSONL documents long enough for the golden gates.
data="$scratch/corpus"
python3 - "$data" <<'PY'
import json, os, random, sys
root = sys.argv[1]
rng = random.Random(7)
words = ("river stone light harbor window garden letter morning winter signal market forest engine bridge "
         "candle orbit meadow copper lantern thread valley echo ribbon summit quiet amber").split()
for i in range(160):
    d = os.path.join(root, f"part{i % 4}", f"batch{i % 3}")
    os.makedirs(d, exist_ok=True)
    text = " ".join(rng.choice(words) for _ in range(rng.randint(120, 220))) + "."
    with open(os.path.join(d, f"doc{i}.jsonl"), "a") as f:
        f.write(json.dumps({"text": f"Document {i}. " + text}) + "\n")
PY


# ---- 1. action keys ---------------------------------------------------------------------------------------------
keys_of() { bz aquery "$@" 'mnemonic("NexaStage", deps(//pipelines:golden))' --output=text 2>/dev/null |
  grep -E '^  (Target|ActionKey):' | paste - - | sort; }
keys() {
  keys_of >"$scratch/keys.plain"
  [[ -s "$scratch/keys.plain" ]] || fail "aquery printed no stage action"
  keys_of --sandbox_writable_path=/tmp --build_event_json_file="$scratch/bep.json" --build_event_publish_all_actions \
    >"$scratch/keys.progress"
  cmp -s "$scratch/keys.plain" "$scratch/keys.progress" || { diff "$scratch/keys.plain" "$scratch/keys.progress"; fail "progress flags changed an action key"; }
  keys_of --//tools/stage:set=train.steps=3 >"$scratch/keys.set"
  changed=$(comm -13 "$scratch/keys.plain" "$scratch/keys.set" | awk '{print $2}' | sort -u | tr '\n' ' ')
  [[ "$changed" == "//pipelines:train " ]] || fail "--set train.steps changed the keys of: ${changed:-nothing}"
  echo "progress flags: no key changed; --set train.steps=3: only //pipelines:train"
}

# ---- 2. data outside the repository -----------------------------------------------------------------------------
data_dir() {
  nexa new pipeline opdemo --data "$data" --purpose "Checks the operator commands on a corpus outside the workspace." \
    >"$scratch/new.log" 2>&1 || { cat "$scratch/new.log"; fail "nexa new pipeline failed"; }
  grep -q 'next: npx nexa run opdemo' "$scratch/new.log" || fail "no next command printed"
  bz build //pipelines/opdemo:data >"$scratch/data1.log" 2>&1 || { tail -30 "$scratch/data1.log"; fail "data stage failed"; }
  echo '{"text":"An edited document that is long enough to pass every gate of the golden data config, written to check that Bazel reruns the data stage when a file of the data directory changes its content."}' \
    >"$data/part0/batch0/doc0.jsonl"
  bz build --explain="$scratch/explain.txt" //pipelines/opdemo:data >"$scratch/data2.log" 2>&1 || fail "data rebuild failed"
  grep -q "Executing action 'Stage data" "$scratch/explain.txt" || fail "editing a data file did not rerun the data stage"
  if bz build --repo_env=NEXA_DATA=nexa_data_opdemo="$scratch/missing" //pipelines/opdemo:data >"$scratch/missing.log" 2>&1; then
    fail "a missing data directory built"
  fi
  grep -q 'nexa_data_dir(name = "nexa_data_opdemo"): the data directory .* does not exist' "$scratch/missing.log" ||
    { tail -20 "$scratch/missing.log"; fail "the missing directory error does not name the rule"; }
  echo "scaffolded, built from $data, reran on an edit, refused a missing directory"
}

# ---- 3. nexa run with --set ------------------------------------------------------------------------------------
state_of() { # stage -> its last state in a JSON-lines log
  node -e 'const [f, s] = process.argv.slice(1); let st = ""; for (const l of require("fs").readFileSync(f, "utf8").split("\n")) { try { const e = JSON.parse(l); if (e.event === "stage" && e.stage === s) st = e.state; } catch {} } console.log(st);' "$1" "$2"
}
run() {
  [[ -d pipelines/opdemo ]] || fail "needs the data_dir scenario's pipeline"
  # Without the shared disk cache, so the stages really run here (an earlier run may have stored the same actions).
  local quick=(--set teacher.steps=40 --set train.steps=30 --bazel-arg=--disk_cache=)
  # Exit 1 is the rubric failing (the golden rubric on a small corpus and a short run): the run itself completed.
  rc=0
  nexa run opdemo "${quick[@]}" --json >"$scratch/run1.jsonl" 2>"$scratch/run1.err" || rc=$?
  [[ $rc -le 1 ]] || { tail -40 "$scratch/run1.err"; tail -5 "$scratch/run1.jsonl"; fail "first run exited $rc"; }
  grep -q '"stage":"train","state":"running","progress":{[^}]*"unit":"steps"' "$scratch/run1.jsonl" || fail "no train progress while train ran"
  for s in data teacher_pack teacher distill pack train eval; do
    st=$(state_of "$scratch/run1.jsonl" $s)
    [[ "$st" == done || "$st" == cached ]] || fail "first run: $s ended $st"
  done
  rc=0
  nexa run opdemo --set teacher.steps=40 --set train.steps=32 --bazel-arg=--disk_cache= --json >"$scratch/run2.jsonl" 2>"$scratch/run2.err" || rc=$?
  [[ $rc -le 1 ]] || { tail -40 "$scratch/run2.err"; fail "second run exited $rc"; }
  got=""
  for s in data teacher_pack teacher distill pack train eval; do got+="$s=$(state_of "$scratch/run2.jsonl" $s) "; done
  [[ "$got" == "data=cached teacher_pack=cached teacher=cached distill=cached pack=cached train=done eval=done " ]] ||
    fail "second run: $got"
  if nexa run opdemo --set train.stepz=3 >"$scratch/bad.log" 2>&1; then fail "an unknown field ran"; else code=$?; fi
  [[ $code -eq 3 ]] && grep -q 'stepz' "$scratch/bad.log" || fail "unknown field: exit $code, $(tail -3 "$scratch/bad.log")"
  echo "second run: $got"
}

# ---- 4. the live table on a terminal ------------------------------------------------------------------------------
tty() {
  [[ -d pipelines/opdemo ]] || fail "needs the data_dir scenario's pipeline"
  command -v script >/dev/null || fail "script(1) (util-linux) is needed"
  rc=0
  script -qec "$scratch/bazel run //modules/cli:nexa -- run opdemo --set teacher.steps=40 --set train.steps=34 --bazel-arg=--disk_cache=" "$scratch/tty.log" >/dev/null 2>&1 || rc=$?
  [[ $rc -le 1 ]] || { tail -c 2000 "$scratch/tty.log"; fail "the run under a terminal exited $rc"; }
  grep -q $'\e\\[[0-9]*F' "$scratch/tty.log" || fail "the table was not redrawn in place"
  grep -qE 'train +running .*step [0-9]+/34' "$scratch/tty.log" || fail "no train steps shown while train ran"
  echo "redrawn in place with train steps"
}

scenario "keys: progress flags change no key; --set changes exactly one" keys
scenario "data_dir: scaffold on data outside the workspace" data_dir
scenario "run: live states, --set reruns only train and eval" run
scenario "tty: the table is redrawn in place" tty
scenarios_end
