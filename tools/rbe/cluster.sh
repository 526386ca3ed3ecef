#!/usr/bin/env bash
# A local Buildbarn remote-execution cluster on 127.0.0.1 for `bazel build --config=rbe`.
#
#   tools/rbe/cluster.sh build    build the pinned binaries once (tools/rbe/build.sh; versions in versions.sh)
#   tools/rbe/cluster.sh up       build if needed, start storage, frontend, scheduler, runner and worker, wait
#                                 until each answers (idempotent: running processes are left alone)
#   tools/rbe/cluster.sh down     stop the processes this script started (from their pid files)
#   tools/rbe/cluster.sh status   which processes run, and the scheduler's platform queues
#   tools/rbe/cluster.sh reset    down, then delete the stored CAS/AC and the worker's directories (logs stay)
#
# Ports: frontend 8980 (Bazel's --remote_executor), storage 8981, scheduler 8982 (clients) / 8983 (workers) /
# 7982 (admin HTTP). State (storage files, worker directories, logs, pids): $NEXA_RBE_STATE, default
# ~/.cache/nexacompute/rbe/state. See docs/scale-out.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

# Start order; `down` stops them in reverse. name binary config port-or-socket
COMPONENTS="
storage bb_storage storage.jsonnet tcp:8981
frontend bb_storage frontend.jsonnet tcp:8980
scheduler bb_scheduler scheduler.jsonnet tcp:8982,tcp:8983,tcp:7982
runner bb_runner runner.jsonnet unix:worker/runner.sock
worker bb_worker worker.jsonnet worker
"
ADMIN_URL="http://127.0.0.1:7982"
WAIT_SECONDS="${NEXA_RBE_WAIT_SECONDS:-60}"

log() { echo "[rbe] $*"; }
pidfile() { echo "$NEXA_RBE_STATE/pids/$1.pid"; }

# The pid recorded for component $1 when that process still runs the binary $2; empty otherwise.
running_pid() {
  local f pid exe
  f="$(pidfile "$1")"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ "$exe" == "$BB_BIN/$2" ]] && echo "$pid"
  return 0
}

tcp_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when every endpoint of $1 (tcp:PORT,unix:PATH,worker) answers.
ready() {
  local ep
  IFS=, read -ra eps <<<"$1"
  for ep in "${eps[@]}"; do
    case "$ep" in
      tcp:*) tcp_answers "${ep#tcp:}" || return 1 ;;
      unix:*) [[ -S "$NEXA_RBE_STATE/${ep#unix:}" ]] || return 1 ;;
      # The worker has no port: it is ready when the scheduler lists it.
      worker) workers_count | grep -qv '^0$' || return 1 ;;
    esac
  done
}

# The number of workers the scheduler knows, summed over its platform queues.
workers_count() {
  curl -fsS --max-time 5 "$ADMIN_URL/" 2>/dev/null | tr -d '\n' | grep -o 'workers?filter=%7b%22all%22[^>]*>[0-9]*<' |
    sed 's/.*>\([0-9]*\)</\1/' | awk '{ s += $1 } END { print s + 0 }'
}

cmd_build() { "$here/build.sh" "$@"; }

cmd_up() {
  [[ -f "$BB_PREFIX/.complete" ]] || cmd_build
  mkdir -p "$NEXA_RBE_STATE"/{pids,logs} "$NEXA_RBE_STATE"/storage/{cas,ac}/persistent_state \
    "$NEXA_RBE_STATE"/worker/{build,cache,filepool}
  local name bin config endpoints pid waited i
  while read -r name bin config endpoints; do
    [[ -n "$name" ]] || continue
    pid="$(running_pid "$name" "$bin")"
    if [[ -n "$pid" ]]; then
      log "$name already running (pid $pid)"
    else
      [[ "$name" != runner ]] || rm -f "$NEXA_RBE_STATE/worker/runner.sock"
      # A clean environment: the configs read NEXA_RBE_STATE; nothing else leaks into the processes (the
      # runner starts actions with their own environment only).
      (cd "$NEXA_RBE_STATE" && exec setsid env -i PATH=/usr/local/bin:/usr/bin:/bin NEXA_RBE_STATE="$NEXA_RBE_STATE" \
        "$BB_BIN/$bin" "$here/$config" </dev/null >>"$NEXA_RBE_STATE/logs/$name.log" 2>&1) &
      pid=$!
      echo "$pid" >"$(pidfile "$name")"
      # The subshell becomes the binary through exec (setsid, env): wait until /proc shows it.
      for ((i = 0; i < 50; i++)); do
        [[ -z "$(running_pid "$name" "$bin")" ]] || break
        sleep 0.1
      done
      log "$name started (pid $pid, log $NEXA_RBE_STATE/logs/$name.log)"
    fi
    waited=0
    until ready "$endpoints"; do
      if [[ -z "$(running_pid "$name" "$bin")" ]]; then
        log "$name exited; last lines of its log:" >&2
        tail -n 20 "$NEXA_RBE_STATE/logs/$name.log" >&2
        exit 1
      fi
      if ((waited >= WAIT_SECONDS * 5)); then
        log "$name does not answer on $endpoints after ${WAIT_SECONDS}s; see $NEXA_RBE_STATE/logs/$name.log" >&2
        exit 1
      fi
      sleep 0.2
      waited=$((waited + 1))
    done
    log "$name ready ($endpoints)"
  done <<<"$COMPONENTS"
  log "cluster up: bazel build --config=rbe ... (executor grpc://127.0.0.1:8980, instance nexa)"
}

cmd_down() {
  local name bin pid i lines
  lines="$(grep -v '^$' <<<"$COMPONENTS" | tac)"
  while read -r name bin _; do
    pid="$(running_pid "$name" "$bin")"
    if [[ -z "$pid" ]]; then
      [[ ! -f "$(pidfile "$name")" ]] || log "$name not running (stale pid file removed)"
      rm -f "$(pidfile "$name")"
      continue
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do
      [[ -n "$(running_pid "$name" "$bin")" ]] || break
      sleep 0.1
    done
    if [[ -n "$(running_pid "$name" "$bin")" ]]; then
      log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid"
    fi
    rm -f "$(pidfile "$name")"
    log "$name stopped (pid $pid)"
  done <<<"$lines"
}

cmd_status() {
  local name bin pid up=0 total=0
  log "buildbarn $BB_VERSION ($([[ -f "$BB_PREFIX/.complete" ]] && echo "built in $BB_BIN" || echo "not built"))"
  while read -r name bin _ endpoints; do
    [[ -n "$name" ]] || continue
    total=$((total + 1))
    pid="$(running_pid "$name" "$bin")"
    if [[ -n "$pid" ]]; then
      up=$((up + 1))
      printf '  %-10s up    pid %-8s %s\n' "$name" "$pid" "$endpoints"
    else
      printf '  %-10s down\n' "$name"
    fi
  done <<<"$COMPONENTS"
  log "$up of $total processes up"
  local page
  if page="$(curl -fsS --max-time 5 "$ADMIN_URL/" 2>/dev/null)"; then
    log "scheduler queues ($ADMIN_URL): instance | platform | size class | timeout | queued | children queued/active/all | workers executing/idle/idle-sync | all workers | drains"
    tr -d '\n' <<<"$page" | sed -e 's/.*<tbody>//' -e 's:</tbody>.*::' -e 's:</tr>:\n:g' |
      sed -e 's:</td>: |:g' -e 's/<[^>]*>//g' -e 's/&#34;/"/g' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ *| *$//' |
      grep -v '^$' | sed 's/^/  /'
    tr -d '\n' <<<"$page" | grep -o 'Total number of operations:</th>[[:space:]]*<td[^>]*><a[^>]*>[0-9]*' |
      sed -e 's/<[^>]*>//g' -e 's/[[:space:]]\+/ /g' -e 's/^/  /'
  else
    log "scheduler admin page $ADMIN_URL not reachable"
  fi
  [[ "$up" -eq "$total" ]]
}

cmd_reset() {
  cmd_down
  rm -rf "$NEXA_RBE_STATE/storage" "$NEXA_RBE_STATE/worker"
  log "storage and worker state deleted from $NEXA_RBE_STATE"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 build [--force]|up|down|status|reset" >&2; exit 2 ;;
esac
