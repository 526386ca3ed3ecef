#!/usr/bin/env bash
# A shared cache on loopback: bazel-remote (HTTP and gRPC REAPI cache), built once from its pinned Go module into a
# project-owned prefix. One server holds Bazel's action cache and CAS (--config=cache) and the registry's published
# artifacts (nexa push / pull: <url>/cas/<hex>, run records under <url>/ac/<run id>).
#
#   tools/rbe/cache.sh up       build if needed, start on 127.0.0.1 (HTTP $NEXA_CACHE_HTTP_PORT, gRPC $NEXA_CACHE_GRPC_PORT)
#   tools/rbe/cache.sh down     stop the server this script started (its pid file), keep the data
#   tools/rbe/cache.sh status   up or down, the server's counters
#   tools/rbe/cache.sh build    only build the binary
#   tools/rbe/cache.sh wipe     down, then delete the cached data
set -euo pipefail

BAZEL_REMOTE_MODULE=github.com/buchgr/bazel-remote/v2
BAZEL_REMOTE_VERSION=v2.6.2
# The module zip's hash (go mod download -json: Sum); its go.sum pins every dependency.
BAZEL_REMOTE_SUM="h1:Z04ujErhhgoTviZi8F1S9+l+BLP2J20nRK81amyAQrE="

RBE_HOME=${NEXA_RBE_HOME:-$HOME/.cache/nexacompute/rbe}
PREFIX="$RBE_HOME/bazel-remote-$BAZEL_REMOTE_VERSION"
STATE=${NEXA_CACHE_STATE:-$RBE_HOME/state/bazel-remote}
HTTP_PORT=${NEXA_CACHE_HTTP_PORT:-9090}
GRPC_PORT=${NEXA_CACHE_GRPC_PORT:-9092}
MAX_SIZE_GIB=${NEXA_CACHE_MAX_SIZE_GIB:-20}
BIN="$PREFIX/bin/bazel-remote"
PIDFILE="$STATE/bazel-remote.pid"

log() { echo "[cache] $*" >&2; }

build() {
  if [[ -x "$BIN" && -e "$PREFIX/.complete" ]]; then return; fi
  command -v go >/dev/null || { log "go is not on PATH (Go 1.26 is part of this machine kind)"; exit 4; }
  log "building bazel-remote $BAZEL_REMOTE_VERSION into $PREFIX (once)"
  local started=$SECONDS json dir sum
  json=$(go mod download -json "$BAZEL_REMOTE_MODULE@$BAZEL_REMOTE_VERSION")
  dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
  sum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$json")
  if [[ "$sum" != "$BAZEL_REMOTE_SUM" ]]; then
    log "the downloaded $BAZEL_REMOTE_MODULE@$BAZEL_REMOTE_VERSION has hash $sum, expected $BAZEL_REMOTE_SUM: refusing to build it"
    exit 4
  fi
  rm -rf "$PREFIX" && mkdir -p "$PREFIX/bin"
  cp -r "$dir" "$PREFIX/src" && chmod -R u+w "$PREFIX/src"
  (cd "$PREFIX/src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$BIN" .)
  touch "$PREFIX/.complete"
  log "built in $((SECONDS - started)) s"
}

running() { [[ -e "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && grep -q bazel-remote "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null; }

up() {
  build
  if running; then log "already up (pid $(cat "$PIDFILE")): http://127.0.0.1:$HTTP_PORT grpc://127.0.0.1:$GRPC_PORT"; return; fi
  mkdir -p "$STATE/data"
  # --disable_http_ac_validation: /ac/ also holds the registry's run records (not ActionResult protos).
  nohup "$BIN" --dir "$STATE/data" --max_size "$MAX_SIZE_GIB" \
    --http_address "127.0.0.1:$HTTP_PORT" --grpc_address "127.0.0.1:$GRPC_PORT" \
    --disable_http_ac_validation >"$STATE/bazel-remote.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$HTTP_PORT/status" >/dev/null 2>&1; then
      log "up (pid $(cat "$PIDFILE")): --remote_cache=grpc://127.0.0.1:$GRPC_PORT, registry http://127.0.0.1:$HTTP_PORT"
      return
    fi
    running || { log "bazel-remote exited at start:"; tail -20 "$STATE/bazel-remote.log" >&2; exit 4; }
    sleep 0.1
  done
  log "bazel-remote did not answer on 127.0.0.1:$HTTP_PORT within 10 s (log: $STATE/bazel-remote.log)"
  exit 4
}

down() {
  if running; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 1 50); do running || break; sleep 0.1; done
    log "stopped"
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
}

status() {
  if running; then
    echo "bazel-remote up (pid $(cat "$PIDFILE")) http://127.0.0.1:$HTTP_PORT grpc://127.0.0.1:$GRPC_PORT"
    curl -fsS "http://127.0.0.1:$HTTP_PORT/status"
    echo
  else
    echo "bazel-remote down"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  build) build ;;
  wipe) down; rm -rf "$STATE/data" ;;
  *) echo "usage: $0 up|down|status|build|wipe" >&2; exit 2 ;;
esac
