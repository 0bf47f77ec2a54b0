#!/usr/bin/env bash
# Builds nats-server (the version the project targets) from its Go module, once, and starts it with JetStream on
# 127.0.0.1:$CHAT_NATS_PORT unless a server of that version already answers there. Prints the URL to use.
# A machine's own older nats-server (e.g. Debian's on 4222) is left alone: ours runs beside it.
set -euo pipefail

NATS_VERSION="${NATS_VERSION:-v2.15.2}"
CACHE_DIR="${CHAT_CACHE_DIR:-$HOME/.cache/realtime-chat}"
PORT="${CHAT_NATS_PORT:-4225}"
MONITOR_PORT="${CHAT_NATS_MONITOR_PORT:-8225}"
BIN="$CACHE_DIR/nats-server-$NATS_VERSION"
# Its store and log: under CHAT_DATA_DIR (scripts/local-infra.sh: the project's .data/), else the cache.
DATA_DIR="${CHAT_DATA_DIR:-$CACHE_DIR}"
DATA="$DATA_DIR/nats-$PORT"
LOG="$DATA_DIR/nats-$PORT.log"

mkdir -p "$CACHE_DIR" "$DATA_DIR"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The version a server reports on its monitoring port (empty when nothing answers).
running_version() { { curl -fsS "http://127.0.0.1:$MONITOR_PORT/varz" 2>/dev/null || true; } | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -n1; }

if port_open "$PORT"; then
  if [ "v$(running_version)" = "$NATS_VERSION" ]; then
    echo "nats-server: $NATS_VERSION already answers on 127.0.0.1:$PORT" >&2
    echo "nats://127.0.0.1:$PORT"
    exit 0
  fi
  if pgrep -f "$CACHE_DIR/nats-server-" >/dev/null; then
    echo "nats-server: restarting ours on $PORT (not $NATS_VERSION, or not answering)" >&2
    pkill -f "$CACHE_DIR/nats-server-" || true
    for _ in $(seq 1 50); do port_open "$PORT" || break; sleep 0.1; done
  else
    echo "nats-server: something else listens on 127.0.0.1:$PORT; set CHAT_NATS_PORT" >&2
    exit 1
  fi
fi

if [ ! -x "$BIN" ]; then
  echo "nats-server: building $NATS_VERSION from its Go module (one time)" >&2
  command -v go >/dev/null || { echo "nats-server is built with Go, and there is no go on PATH" >&2; exit 1; }
  work=$(mktemp -d)
  GOBIN="$work" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >&2
  mv "$work/nats-server" "$BIN"
  rm -rf "$work"
fi

mkdir -p "$DATA"
cat > "$DATA/nats.conf" <<CONF
listen: 127.0.0.1:$PORT
http: 127.0.0.1:$MONITOR_PORT
jetstream { store_dir: "$DATA/js" }
CONF
nohup "$BIN" -c "$DATA/nats.conf" >"$LOG" 2>&1 &
for _ in $(seq 1 100); do port_open "$PORT" && break; sleep 0.1; done
port_open "$PORT" || { echo "nats-server did not start; see $LOG" >&2; tail -n 20 "$LOG" >&2; exit 1; }
echo "nats-server: $NATS_VERSION started on 127.0.0.1:$PORT" >&2
echo "nats://127.0.0.1:$PORT"
