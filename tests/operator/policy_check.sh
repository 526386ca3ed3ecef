#!/usr/bin/env bash
# End-to-end checks of the policy and registry-maintenance commands with real Bazel, run by CI after `npm test`
# (bash tests/operator/policy_check.sh). They need nested Bazel, so they are not a `bazel test`:
#
#   1. graph_lint: `nexa graph --json` over the real build graph has every module and no layering violation, and
#                  `nexa lint` passes; after a wrong-way dependency (modules/registry -> modules/data) is added to the
#                  scratch copy, `nexa graph` draws that edge red and names it, and `nexa lint` fails with Bazel's
#                  visibility error naming the edge;
#   2. fsck_repair: the golden pipeline published into a scratch registry; its largest blob (the weights) flipped in
#                  place: `nexa fsck` exits 3 naming the digest and the run, `nexa fsck --repair` restores it from
#                  Bazel's outputs, a second fsck is clean; flipped again, republishing (`bazel run`) replaces it;
#                  `nexa gc` finds nothing that no run needs.
# POLICY_SCENARIOS="fsck_repair …" runs only the named scenarios.
# One "[policy] PASS: <scenario>" / "[policy] FAIL: <scenario>" line each, then "policy: N passed, N failed".
# It works on a scratch copy of the workspace with its own Bazel output base (the checkout is never modified).
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init policy
printf '#!/usr/bin/env bash\nexec bazel --output_base=%q "$@"\n' "$scratch/ob" >"$scratch/bazel"
chmod +x "$scratch/bazel"
bz() { "$scratch/bazel" "$@"; }
export NEXA_BAZEL="$scratch/bazel" NEXA_HOME="$scratch/home"
nexa() { bz run //modules/cli:nexa -- "$@"; }
# The nexa built before the tree is broken on purpose (a tree that does not build cannot `bazel run` it).
nexa_built() { BUILD_WORKSPACE_DIRECTORY="$ws" "$ws/bazel-bin/modules/cli/nexa.sh" "$@"; }
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]));' "$1"; }

# ---- 1. graph and lint --------------------------------------------------------------------------------------------
graph_lint() {
  nexa graph --json >"$scratch/graph.json" 2>"$scratch/graph.err" || { tail -20 "$scratch/graph.err"; fail "nexa graph failed"; }
  [[ "$(json 'j.nodes.length' <"$scratch/graph.json")" == 17 ]] || fail "graph: not 17 modules"
  [[ "$(json 'j.edges.filter((e) => e.violation).length' <"$scratch/graph.json")" == 0 ]] || fail "graph: a violation in the real tree"
  [[ "$(json 'j.nodes.filter((n) => n.row === 1).map((n) => n.id).join(" ")' <"$scratch/graph.json")" == "data distill pack train eval inference" ]] ||
    fail "graph: the core flow is not in order"
  nexa lint >"$scratch/lint.out" 2>&1 || { cat "$scratch/lint.out"; fail "nexa lint failed on the real tree"; }
  # a wrong-way edge: a cross-cutting module using a core module
  sed -i 's#^        "//modules/manifest",$#        "//modules/data",\n        "//modules/manifest",#' modules/registry/BUILD.bazel
  grep -q '"//modules/data",' modules/registry/BUILD.bazel || fail "could not add the edge to modules/registry/BUILD.bazel"
  nexa_built graph --format svg --out "$scratch/graph.svg" >"$scratch/bad_graph.out" 2>"$scratch/bad_graph.err" ||
    { tail -20 "$scratch/bad_graph.err"; fail "nexa graph failed on the broken tree"; }
  grep -q 'layering violation: cross-cutting module modules/registry depends on core module modules/data' "$scratch/bad_graph.err" ||
    { cat "$scratch/bad_graph.err"; fail "graph did not name the wrong-way edge"; }
  grep -q 'stroke="#d00000"' "$scratch/graph.svg" || fail "graph: no red edge in the SVG"
  rc=0
  nexa_built lint >"$scratch/bad_lint.out" 2>&1 || rc=$?
  [[ $rc -eq 1 ]] || { tail -20 "$scratch/bad_lint.out"; fail "nexa lint exited $rc on a wrong-way edge (want 1: a policy violation)"; }
  grep -q 'modules/registry' "$scratch/bad_lint.out" && grep -qi 'visib' "$scratch/bad_lint.out" ||
    { tail -20 "$scratch/bad_lint.out"; fail "lint's error does not name the edge"; }
  git -C "$src" show HEAD:modules/registry/BUILD.bazel >modules/registry/BUILD.bazel
  echo "real tree: 17 modules, no violation, lint clean; registry -> data: red in the graph, lint exit $rc"
}

# ---- 2. fsck, repair, republish, gc ------------------------------------------------------------------------------
flip_largest() { # flips one byte of the largest blob in place; prints its digest
  local blob
  blob=$(find "$NEXA_HOME/cas/sha256" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
  chmod u+w "$blob"
  python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0xFF]))' "$blob"
  echo "sha256:$(basename "$(dirname "$blob")")$(basename "$blob")"
}
fsck_repair() {
  rc=0
  bz run //pipelines:golden >"$scratch/golden1.log" 2>&1 || rc=$?
  [[ $rc -le 1 ]] || { tail -30 "$scratch/golden1.log"; fail "the golden pipeline exited $rc"; }
  run_id=$(sed -nE 's/.*: run_id=([0-9a-f]{64}) .*/\1/p' "$scratch/golden1.log" | tail -1)
  [[ -n "$run_id" ]] || fail "no run_id in the publish summary"
  digest=$(flip_largest)
  rc=0
  nexa fsck >"$scratch/fsck1.out" 2>"$scratch/fsck1.err" || rc=$?
  [[ $rc -eq 3 ]] || fail "fsck of a corrupted blob exited $rc"
  grep -q "^corrupted $digest" "$scratch/fsck1.out" && grep -q "run $run_id" "$scratch/fsck1.out" ||
    { cat "$scratch/fsck1.out"; fail "fsck did not name the digest and the run"; }
  nexa fsck --repair >"$scratch/fsck2.out" 2>&1 || { cat "$scratch/fsck2.out"; fail "fsck --repair did not restore the blob"; }
  grep -q "repaired from " "$scratch/fsck2.out" || fail "fsck --repair did not say where from"
  nexa fsck >/dev/null || fail "fsck after the repair is not clean"
  digest=$(flip_largest)
  bz run //pipelines:golden >"$scratch/golden2.log" 2>&1 || rc=$?
  nexa fsck >"$scratch/fsck3.out" 2>&1 || { cat "$scratch/fsck3.out"; fail "republishing kept the corrupted blob $digest"; }
  nexa gc --json >"$scratch/gc.json" || fail "nexa gc failed"
  [[ "$(json 'j.garbage.length' <"$scratch/gc.json")" == 0 ]] || { cat "$scratch/gc.json"; fail "gc found garbage after a clean publish"; }
  echo "run $run_id: corrupted blob named, repaired from $(sed -nE 's/^  repaired from (.*)$/\1/p' "$scratch/fsck2.out"), replaced by republishing; gc: nothing to collect"
}

wanted() { [[ -z "${POLICY_SCENARIOS:-}" || " $POLICY_SCENARIOS " == *" $1 "* ]]; }
for s in graph_lint fsck_repair; do
  if wanted "$s"; then scenario "$s" "$s"; fi
done
scenarios_end
