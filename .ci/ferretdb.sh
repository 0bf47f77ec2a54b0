#!/usr/bin/env bash
# Builds FerretDB v1 (MongoDB wire protocol on PostgreSQL, or on SQLite files with FERRETDB_HANDLER=sqlite) from
# its Go module, once, and starts it on 127.0.0.1:27017 (FERRETDB_PORT) unless something already answers there. Used by CI and,
# through scripts/local-infra.sh, by `npm start` and `npm test` on a machine without Docker.
set -euo pipefail

FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
CACHE_DIR="${CHAT_CACHE_DIR:-$HOME/.cache/realtime-chat}"
BIN="$CACHE_DIR/ferretdb-$FERRETDB_VERSION"
HANDLER="${FERRETDB_HANDLER:-postgresql}"
PORT="${FERRETDB_PORT:-27017}"
# A bounded pool: PostgreSQL allows 100 connections in all, and tests start several processes.
PG_URL="${FERRETDB_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/ferretdb?pool_max_conns=50}"
# Its state file, log and (SQLite) data: under CHAT_DATA_DIR (the project's .data/), else the cache; never the
# working directory (FerretDB writes state.json there by default).
DATA_DIR="${CHAT_DATA_DIR:-$CACHE_DIR}"
LOG="$DATA_DIR/ferretdb.log"

mkdir -p "$CACHE_DIR" "$DATA_DIR/ferretdb-state"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
# A MongoDB ping with the repository's driver (run from the repository root, after npm ci).
answers_ping() {
  timeout 20 node -e "
    const { MongoClient } = require('mongodb');
    const client = new MongoClient('mongodb://127.0.0.1:$PORT', { serverSelectionTimeoutMS: 5000, socketTimeoutMS: 5000 });
    client.connect().then(() => client.db('admin').command({ ping: 1 })).then(() => process.exit(0), () => process.exit(1));
  " >/dev/null 2>&1
}

if port_open; then
  if answers_ping; then
    echo "ferretdb: something already answers on 127.0.0.1:$PORT, reusing it"
    exit 0
  fi
  # FerretDB v1 can wedge under load (it stops answering even pings); ours is safe to restart.
  if pgrep -f "$CACHE_DIR/ferretdb-" >/dev/null; then
    echo "ferretdb: the running FerretDB does not answer; restarting it"
    pkill -f "$CACHE_DIR/ferretdb-" || true
    for _ in $(seq 1 30); do port_open || break; sleep 0.1; done
    if port_open; then pkill -9 -f "$CACHE_DIR/ferretdb-" || true; fi
    for _ in $(seq 1 50); do port_open || break; sleep 0.1; done
  else
    echo "ferretdb: something listens on 127.0.0.1:$PORT but does not answer MongoDB pings" >&2
    exit 1
  fi
fi

if [ ! -x "$BIN" ]; then
  echo "ferretdb: building $FERRETDB_VERSION from its Go module (one time)"
  # The module does not ship build/version/version.txt, and a v1 binary built without it panics at start,
  # so build from a writable copy of the module source with that file written in.
  src_json=$(cd "$CACHE_DIR" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION")
  src_dir=$(printf '%s' "$src_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$src_dir" ] || { echo "ferretdb: go mod download gave no source folder" >&2; exit 1; }
  work=$(mktemp -d)
  cp -r "$src_dir/." "$work/"
  chmod -R u+w "$work"
  printf '%s' "$FERRETDB_VERSION" > "$work/build/version/version.txt"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" ./cmd/ferretdb)
  mv "$BIN.tmp" "$BIN"
  rm -rf "$work"
fi

if [ "$HANDLER" = postgresql ]; then
  # The PostgreSQL backend needs its database; creating it twice is harmless.
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ferretdb'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE ferretdb"
  backend=(--handler=postgresql "--postgresql-url=$PG_URL")
else
  mkdir -p "$DATA_DIR/ferretdb-sqlite"
  backend=(--handler=sqlite "--sqlite-url=file:$DATA_DIR/ferretdb-sqlite/")
fi

echo "ferretdb: starting on 127.0.0.1:$PORT on $HANDLER (log: $LOG)"
nohup "$BIN" \
  --listen-addr=127.0.0.1:$PORT \
  "${backend[@]}" \
  --state-dir="$DATA_DIR/ferretdb-state" \
  --telemetry=disable \
  --debug-addr=- \
  --log-level=warn \
  >"$LOG" 2>&1 &

for _ in $(seq 1 100); do
  if port_open; then echo "ferretdb: ready"; exit 0; fi
  sleep 0.1
done
echo "ferretdb: did not start; last log lines:" >&2
tail -n 30 "$LOG" >&2
exit 1
