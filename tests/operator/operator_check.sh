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
#   4. tty:      under a pseudo-terminal (script(1)) the table is redrawn in place and shows train steps;
#   5. mixed:    with `npx nexa` (package.json "bin", building with $NEXA_BAZEL): a fixture outside the workspace
#                mixing gzipped JSONL, Parquet and Latin-1 text in nested folders is scaffolded (one source per
#                kind, the encoding and the Parquet text column guessed and said), run, and run again with one train
#                field changed by --set; `nexa diff --json` names exactly that field for train, train for eval's
#                input and nothing else, and `nexa lineage --format json` of the second run's eval reaches the
#                fixture's files.
# OPERATOR_SCENARIOS="mixed …" runs only the named scenarios (the function names above).
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

# ---- 5. a mixed folder through npx nexa ---------------------------------------------------------------------------
mixed() {
  local fx="$scratch/mixed"
  # gzipped JSONL and Latin-1 text (bytes such as 0xE9) in nested folders; the Parquet rows' texts as JSON for node
  python3 - "$fx" <<'PY'
import gzip, json, os, random, sys
root = sys.argv[1]
rng = random.Random(11)
words = ("river stone light harbor window garden letter morning winter signal market forest engine bridge "
         "candle orbit meadow copper lantern thread valley echo ribbon summit quiet amber").split()
accented = words + "café été rivière forêt château élan".split()
def doc(i, vocab):
    return f"Document {i}. " + " ".join(rng.choice(vocab) for _ in range(rng.randint(120, 220))) + "."
for y in range(4):
    d = os.path.join(root, "logs", f"20{20 + y}", "q1")
    os.makedirs(d, exist_ok=True)
    lines = "".join(json.dumps({"text": doc(y * 100 + k, words)}) + "\n" for k in range(15))
    with open(os.path.join(d, f"events{y}.jsonl.gz"), "wb") as f:  # mtime 0: the same bytes on every run
        f.write(gzip.compress(lines.encode("utf-8"), mtime=0))
for i in range(40):
    d = os.path.join(root, "notes", "fr" if i % 2 else "be", f"v{i % 3}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"note{i}.txt"), "wb") as f:
        f.write(doc(1000 + i, accented).encode("latin-1"))
os.makedirs(os.path.join(root, "tables", "2024"), exist_ok=True)
with open(os.path.join(root, "rows.json"), "w") as f:
    json.dump([doc(2000 + r, words) for r in range(40)], f)
PY
  node --input-type=module -e '
    import { readFileSync, writeFileSync, rmSync } from "fs";
    import { parquetWriteBuffer } from "hyparquet-writer";
    const [dir] = process.argv.slice(1);
    const texts = JSON.parse(readFileSync(`${dir}/rows.json`, "utf8"));
    const buf = parquetWriteBuffer({ columnData: [
      { name: "row", data: texts.map((_, i) => BigInt(i)), type: "INT64" },
      { name: "body", data: texts, type: "STRING" },
    ] });
    writeFileSync(`${dir}/tables/2024/docs.parquet`, Buffer.from(buf));
    rmSync(`${dir}/rows.json`);' "$fx"
  [[ "$(head -c 2 "$fx/logs/2020/q1/events0.jsonl.gz" | od -An -tx1 | tr -d ' ')" == 1f8b ]] || fail "the .jsonl.gz is not gzip"
  LC_ALL=C grep -q $'\xe9' "$fx"/notes/*/*/*.txt || fail "no Latin-1 byte 0xE9 in the text files"

  npx nexa new pipeline mixdemo --data "$fx" --purpose "Checks a mixed folder of gzipped JSONL, Parquet and Latin-1 text." \
    >"$scratch/mixed-new.log" 2>&1 || { cat "$scratch/mixed-new.log"; fail "nexa new pipeline failed"; }
  grep '^note: ' "$scratch/mixed-new.log" || true
  grep -qE '^note: text: .*not UTF-8 \(e\.g\. notes/.*\.txt\): reading them as latin-1' "$scratch/mixed-new.log" ||
    fail "no note of the Latin-1 guess naming a .txt file"
  grep -qE '^note: parquet: .*reading the text from "body"' "$scratch/mixed-new.log" || fail "no note of the Parquet text column"
  node -e '
    const c = JSON.parse(require("fs").readFileSync("pipelines/mixdemo/data.json", "utf8"));
    const got = c.sources.map((s) => [s.path, s.format, s.textField ?? "", s.encoding ?? ""].join(" ")).join("; ");
    const want = "*.jsonl.gz FORMAT_JSONL text ; *.txt FORMAT_TEXT  latin-1; *.parquet FORMAT_PARQUET body ";
    if (got !== want) { console.error(`sources: ${got}\nwanted:  ${want}`); process.exit(1); }' || fail "the scaffold's sources"

  # Short teacher and student runs (warm-up steps are 20), without the shared disk cache so the stages run here.
  local quick=(--set teacher.steps=40 --bazel-arg=--disk_cache=)
  rc=0
  npx nexa run mixdemo "${quick[@]}" --set train.steps=30 --json >"$scratch/mixed1.jsonl" 2>"$scratch/mixed1.err" || rc=$?
  [[ $rc -le 1 ]] || { tail -40 "$scratch/mixed1.err"; tail -5 "$scratch/mixed1.jsonl"; fail "first run exited $rc"; }
  rc=0
  npx nexa run mixdemo "${quick[@]}" --set train.steps=36 --json >"$scratch/mixed2.jsonl" 2>"$scratch/mixed2.err" || rc=$?
  [[ $rc -le 1 ]] || { tail -40 "$scratch/mixed2.err"; tail -5 "$scratch/mixed2.jsonl"; fail "second run exited $rc"; }
  got=""
  for s in data teacher_pack teacher distill pack train eval; do got+="$s=$(state_of "$scratch/mixed2.jsonl" $s) "; done
  [[ "$got" == "data=cached teacher_pack=cached teacher=cached distill=cached pack=cached train=done eval=done " ]] ||
    fail "second run: $got"
  echo "second run: $got"

  npx nexa runs --json >"$scratch/mixed-runs.json" || fail "nexa runs failed"
  read -r a b < <(node -e '
    const runs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).runs.filter((r) => /mixdemo/.test(r.pipeline));
    if (runs.length !== 2) { console.error(`${runs.length} mixdemo runs`); process.exit(1); }
    console.log(runs[1].runId, runs[0].runId); // newest first' "$scratch/mixed-runs.json") || fail "not two runs"
  [[ -n "${b:-}" ]] || fail "not two mixdemo runs in nexa runs"
  npx nexa diff "$a" "$b" --json >"$scratch/mixed-diff.json" || fail "nexa diff failed"
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = [];
    for (const s of d.stages) {
      const r = JSON.stringify(s.reasons);
      if (s.stage === "train") {
        const x = s.reasons[0];
        if (s.result !== "rerun" || s.reasons.length !== 1 || x.kind !== "config" || x.field !== "steps" ||
            String(x.old) !== "30" || String(x.new) !== "36") bad.push(`train: ${s.result} ${r}`);
        else console.log(`train: rerun, config steps ${x.old} -> ${x.new}`);
      } else if (s.stage === "eval") {
        if (s.result !== "rerun" || s.reasons.length === 0 || !s.reasons.every((x) => x.kind === "input" && x.upstream === "train"))
          bad.push(`eval: ${s.result} ${r}`);
        else console.log(`eval: rerun, input ${s.reasons.map((x) => x.slot).join(", ")} from train`);
      } else if (s.result !== "same") bad.push(`${s.stage}: ${s.result} ${r}`);
    }
    if (d.stages.length !== 8) bad.push(`${d.stages.length} stages`);
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }' "$scratch/mixed-diff.json" ||
    fail "nexa diff names more or less than train.steps"

  npx nexa show "$b" --json >"$scratch/mixed-show.json" || fail "nexa show failed"
  # 140 documents (60 JSONL, 40 Parquet rows, 40 Latin-1 texts): more than 120 kept means every kind was read.
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).stages.find((x) => x.stage === "data").metrics;
    console.log(`data: ${JSON.stringify(m)}`);
    if (!(m.records > 120)) process.exit(1);' "$scratch/mixed-show.json" || fail "the data stage kept too few documents"
  digest=$(node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).stages.find((x) => x.stage === "eval");
    console.log(s.manifestDigest)' "$scratch/mixed-show.json")
  npx nexa lineage "$digest" --format json >"$scratch/mixed-lineage.json" || fail "nexa lineage failed"
  node -e '
    const raws = [];
    const walk = (n) => { if (n.kind === "raw") raws.push(n.label); (n.children || []).forEach(walk); };
    walk(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).lineage);
    const want = [/logs\/2020\/q1\/events0\.jsonl\.gz$/, /tables\/2024\/docs\.parquet$/, /notes\/(fr|be)\/v\d\/note\d+\.txt$/];
    const missing = want.filter((re) => !raws.some((l) => re.test(l)));
    if (missing.length) { console.error(`lineage raw files: ${raws.slice(0, 5).join(", ")}; missing ${missing.join(" ")}`); process.exit(1); }
    const eg = ["jsonl.gz", "parquet", "txt"].map((e) => raws.find((l) => l.endsWith(e))).join(", ");
    console.log(`lineage of eval ${process.argv[2].slice(0, 19)}: ${raws.length} raw files, e.g. ${eg}`);' \
    "$scratch/mixed-lineage.json" "$digest" || fail "the lineage does not reach the fixture's files"
}

wanted() { [[ -z "${OPERATOR_SCENARIOS:-}" || " $OPERATOR_SCENARIOS " == *" $1 "* ]]; }
wanted keys && scenario "keys: progress flags change no key; --set changes exactly one" keys
wanted data_dir && scenario "data_dir: scaffold on data outside the workspace" data_dir
wanted run && scenario "run: live states, --set reruns only train and eval" run
wanted tty && scenario "tty: the table is redrawn in place" tty
wanted mixed && scenario "mixed: npx nexa on gzipped JSONL, Parquet and Latin-1 text; diff and lineage" mixed
scenarios_end
