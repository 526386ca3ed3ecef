#!/usr/bin/env bash
# The stage rule runs single and sharded stages to the same result, wires a typed upstream input, and keeps
# logs out of the default outputs.
set -euo pipefail
dir="$TEST_SRCDIR/$TEST_WORKSPACE/tools/stage/tests"
single=$(cat "$dir/single/counts.json")
sharded=$(cat "$dir/sharded/counts.json")
expected='{"a.txt":2,"b.txt":3,"c.txt":1}'
[[ "$single" == "$expected" ]] || { echo "single: $single != $expected" >&2; exit 1; }
[[ "$sharded" == "$expected" ]] || { echo "sharded: $sharded != $expected" >&2; exit 1; }
grep -q '"inputs":\["dataset"\]' "$dir/downstream.manifest.json" || { echo "downstream did not see its input" >&2; exit 1; }
[[ ! -e "$dir/single.log.jsonl" ]] || { echo "log.jsonl must not be a runfile of consumers" >&2; exit 1; }
grep -q '"overrides":\[\]' "$dir/single.manifest.json" || { echo "single: overrides without --//tools/stage:set" >&2; exit 1; }
# Built under --//tools/stage:set (the with_overrides transition): the stage's own entries, in order, as --set.
over="$dir/overridden/single.manifest.json"
grep -q '"overrides":\["mode=fast","deep.lr=0.5"\]' "$over" || { echo "single with overrides: $(cat "$over")" >&2; exit 1; }
grep -q '"overrides":\[\]' "$dir/overridden/downstream.manifest.json" || { echo "downstream got overrides: $(cat "$dir/overridden/downstream.manifest.json")" >&2; exit 1; }
echo "stage_test: ok"
