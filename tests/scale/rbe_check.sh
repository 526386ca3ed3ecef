#!/usr/bin/env bash
# Remote execution on a real cluster, on loopback, run by CI after `npm test` (bash tests/scale/rbe_check.sh):
# Buildbarn (tools/rbe/cluster.sh: storage, frontend, scheduler, a native-directory worker with two executors, its
# runner) started with an empty state directory, then
#
#   1. `bazel clean` and a build with --config=rbe of a representative set (the kernels library, every module's stage
#      tool, the golden data + pack stages and a short train stage): at least 95 % of the spawns that are not internal
#      execute remotely, and every output digest equals the local build's (the CI checkout's own bazel-bin, built by
#      `npm test`, and pipelines/golden.lock.json for the stage manifests);
#   2. `bazel clean` and the same build again: at least 95 % of those spawns are remote cache hits;
#   3. every test tagged gpu asks for the GPU pool (exec_properties, tools/platforms/pools.bzl) and no other target
#      sets a pool (so its actions carry --config=rbe's CPU-pool defaults); sent to this CPU-only cluster, a GPU test
#      finds no worker (the scheduler matched its gpu platform);
#   4. `cluster.sh down` leaves no Buildbarn process.
# It works on a scratch copy of the workspace with its own Bazel output base.
set -euo pipefail
# shellcheck source=../scenarios/scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
scenarios_init rbe
export NEXA_RBE_STATE="$scratch/rbe-state"
trap 'tools/rbe/cluster.sh down >/dev/null 2>&1 || true; cd /; bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT

bz() { bazel --output_base="$scratch/ob" "$@"; }
TARGETS=(//kernels/abi:nexa_kernels //pipelines:data //pipelines:teacher_pack //tests/inference:model)
while IFS= read -r t; do TARGETS+=("$t"); done < <(bz query 'attr(name, "^stage$", //modules/...)' 2>/dev/null)
OUTPUTS=(kernels/abi/libnexa_kernels.so modules/*/stage.bundle.js tests/inference/model.manifest.json)

# "<count of KIND> <spawns that were not internal>" from the last "INFO: N processes: ..." line of log $1.
spawns() {
  local line total internal n
  line=$(grep -E '^INFO: [0-9]+ processes?: ' "$1" | tail -1)
  [[ -n "$line" ]] || fail "no process summary in $1"
  echo "Bazel: ${line#INFO: }" >&2
  total=$(sed -nE 's/^INFO: ([0-9]+) process.*/\1/p' <<<"$line")
  internal=$(grep -oE '[0-9]+ internal' <<<"$line" | cut -d' ' -f1 || true)
  n=$(grep -oE "[0-9]+ $2([,.]|$)" <<<"$line" | grep -oE '^[0-9]+' || true)
  echo "${n:-0} $((total - ${internal:-0}))"
}

remote_build() {
  local started n spawned bin g s want got
  tools/rbe/cluster.sh up
  bz clean >/dev/null 2>&1
  started=$SECONDS
  bz build --config=rbe "${TARGETS[@]}" >"$scratch/rbe1.log" 2>&1 || { tail -30 "$scratch/rbe1.log"; fail "the remote build failed"; }
  read -r n spawned < <(spawns "$scratch/rbe1.log" remote)
  echo "clean build with --config=rbe: $((SECONDS - started)) s, $n of $spawned spawns executed remotely, $((spawned - n)) not"
  [[ $spawned -gt 0 && $((n * 100)) -ge $((spawned * 95)) ]] || fail "only $n of $spawned spawns executed remotely (< 95 %)"
  bin=$(bz info bazel-bin 2>/dev/null)
  # shellcheck disable=SC2086 # the globs of OUTPUTS expand inside bazel-bin
  for g in $(cd "$bin" && ls ${OUTPUTS[*]}); do
    got=$(sha256sum "$bin/$g" | cut -d' ' -f1)
    want=$(sha256sum "$src/bazel-bin/$g" | cut -d' ' -f1)
    [[ "$got" == "$want" ]] || fail "$g: remote $got, local $want"
    echo "  $got  $g (= local)"
  done
  for s in data teacher_pack; do
    got="sha256:$(sha256sum "$bin/pipelines/$s.manifest.json" | cut -d' ' -f1)"
    want=$(node -e 'process.stdout.write(require(process.argv[1]).stages[process.argv[2]].manifest)' "$src/pipelines/golden.lock.json" "$s")
    [[ "$got" == "$want" ]] || fail "pipelines/$s.manifest.json: remote $got, golden lock $want"
    echo "  $got  pipelines/$s.manifest.json (= golden lock)"
  done
}

remote_cache() {
  local started n spawned
  bz clean >/dev/null 2>&1
  started=$SECONDS
  bz build --config=rbe "${TARGETS[@]}" >"$scratch/rbe2.log" 2>&1 || { tail -30 "$scratch/rbe2.log"; fail "the second build failed"; }
  read -r n spawned < <(spawns "$scratch/rbe2.log" "remote cache hit")
  echo "second clean build: $((SECONDS - started)) s, $n of $spawned spawns were remote cache hits"
  [[ $spawned -gt 0 && $((n * 100)) -ge $((spawned * 95)) ]] || fail "only $n of $spawned spawns were remote cache hits (< 95 %)"
}

gpu_pool() {
  local t n=0
  # every test tagged gpu asks for the GPU pool; nothing else sets exec properties (so it carries the CPU pool's)
  while IFS= read -r t; do
    bz query --output=build "$t" 2>/dev/null | grep -q '"pool": "gpu"' || fail "$t is tagged gpu but does not ask for the GPU pool"
    n=$((n + 1))
  done < <(bz query 'attr(tags, "\bgpu\b", tests(//...))' 2>/dev/null)
  [[ $n -gt 0 ]] || fail "no test is tagged gpu"
  echo "$n tests tagged gpu carry exec_properties pool=gpu"
  t=$(bz query 'kind(rule, attr(exec_properties, "pool", //...)) except attr(tags, "\bgpu\b", //...) except //tools/platforms:*' 2>/dev/null)
  [[ -z "$t" ]] || fail "targets other than the GPU tests set a pool: $t"
  # and the cluster sees it: this one has only CPU workers, so a GPU test's actions find no worker
  if bz test --config=rbe --test_tag_filters=gpu //tools/cuda/tests:saxpy_test >"$scratch/gpu.log" 2>&1; then
    grep -q "SKIPPED\|incompatible" "$scratch/gpu.log" && { echo "no CUDA toolkit here: the GPU test is incompatible, not sent"; return 0; }
    fail "a GPU test passed on a cluster without a GPU worker"
  fi
  grep -q 'No workers exist.*"name":"pool","value":"gpu"' "$scratch/gpu.log" ||
    { tail -20 "$scratch/gpu.log"; fail "the GPU test failed for another reason than the missing GPU pool"; }
  grep -m1 -oE 'UNAVAILABLE: No workers exist.*"value":"gpu"[^}]*\}' "$scratch/gpu.log"
}

cluster_down() {
  tools/rbe/cluster.sh down
  sleep 1
  local left
  left=$(pgrep -a -f "$NEXA_RBE_STATE|bb_(storage|scheduler|worker|runner) .*tools/rbe/" | grep -v defunct || true)
  [[ -z "$left" ]] || fail "Buildbarn processes left after down: $left"
  echo "no Buildbarn process left"
}

scenario "a clean --config=rbe build executes >= 95 % of its spawns on Buildbarn, with the local build's digests" remote_build
scenario "a second clean --config=rbe build is served from the cluster's cache (>= 95 % hits)" remote_cache
scenario "GPU tests carry the GPU pool's exec properties (and find no worker on a CPU-only cluster)" gpu_pool
scenario "cluster.sh down stops every process it started" cluster_down
scenarios_end
