# Shared by the end-to-end scripts CI runs after `npm test` (tests/golden/faults.sh, tests/operator/operator_check.sh):
# a scratch copy of the workspace with its own Bazel output base, and scenarios that count on their own.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/scenarios.sh"
#   scenarios_init <tag>          # scratch=, ws= (the copy, now the working directory), trap that cleans up
#   scenario "<name>" <function>  # runs the function in a subshell (errexit on), prints "[<tag>] PASS|FAIL: <name>"
#   scenarios_end                 # prints "<tag>: N passed, N failed"; non-zero when any failed
# say / fail print "[<tag>] ..." lines; fail ends the current scenario; own_action PATTERN finds a process of this
# script's own Bazel (another Bazel on the machine may run the same action at the same time).

scenarios_init() {
  tag=$1
  src="$(cd "$(dirname "${BASH_SOURCE[1]}")/../.." && pwd)"
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/nexa-$tag.XXXXXX")"
  trap 'cd /; bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
  ws="$scratch/ws"
  mkdir -p "$ws"
  (cd "$src" && git ls-files -co --exclude-standard -z | grep -zv '^node_modules/' | xargs -0 cp --parents -t "$ws")
  ln -s "$src/node_modules" "$ws/node_modules"
  cd "$ws"
  passed=0
  failed=0
}

say() { printf '\n[%s] %s\n' "$tag" "$*"; }
fail() {
  printf '[%s] error: %s\n' "$tag" "$*" >&2
  exit 1
}

# Runs one scenario in its own subshell (errexit on: any failing command fails the scenario) and counts it.
scenario() {
  local name=$1
  shift
  say "$name"
  ("$@") &
  if wait $!; then
    echo "[$tag] PASS: $name"
    passed=$((passed + 1))
  else
    echo "[$tag] FAIL: $name"
    failed=$((failed + 1))
  fi
}

scenarios_end() {
  echo "$tag: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# The pid of a running process of this script's own Bazel matching $1: its working directory is under $scratch
# (`bazel run`), or one of its ancestors is the Bazel server of $scratch/ob (actions, sandboxed elsewhere). Another
# Bazel on the machine may run the same stage at the same time.
own_action() {
  local p q
  for p in $(pgrep -f -- "$1" || true); do
    [[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" == "$scratch"/* ]] && { echo "$p"; return 0; }
    q=$p
    while [[ -n "$q" && "$q" -gt 1 ]]; do
      if tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null | grep -qF -- "$scratch/ob"; then
        echo "$p"
        return 0
      fi
      q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null || true)
    done
  done
  return 1
}
