#!/usr/bin/env bash
# What the system needs, on this machine and without Docker: NATS with JetStream (the version the project targets,
# 127.0.0.1:4225), Redis (127.0.0.1:6379) and a MongoDB-wire server (FerretDB, 127.0.0.1:27017). Reuses what
# already answers; starts what does not — binaries built once from their Go modules into ~/.cache/realtime-chat,
# data and logs under the project's .data/ — and says on stderr what it started and where. Prints the URLs to use
# on stdout as NAME=value lines. One path for everyone: `.ci/run`, `npm start` and `npm test` all call it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CHAT_CACHE_DIR="${CHAT_CACHE_DIR:-$HOME/.cache/realtime-chat}"
export CHAT_DATA_DIR="${CHAT_DATA_DIR:-$ROOT/.data}"
export PATH="/usr/local/go/bin:$PATH"
mkdir -p "$CHAT_DATA_DIR"
cd "$ROOT"

say() { printf 'local-infra: %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  if ! command -v apt-get >/dev/null || [ "$(id -u)" -ne 0 ]; then
    say "cannot install $* here (needs apt-get and root): install it, or set NATS_URL, MONGO_URL and REDIS_URL"
    return 1
  fi
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq >&2; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# NATS: ours, of the targeted version (an older server of the machine's own is left alone).
command -v go >/dev/null || { say "nats-server and FerretDB are built with Go, and there is no go on PATH"; exit 1; }
command -v curl >/dev/null || apt_install curl
NATS_URL=$(NATS_VERSION="${NATS_VERSION:-v2.15.2}" bash "$ROOT/.ci/nats-server.sh")

# Redis.
if port_open 6379; then
  say "redis: reusing what answers on 127.0.0.1:6379"
else
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$CHAT_DATA_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$CHAT_DATA_DIR/redis" --logfile "$CHAT_DATA_DIR/redis/redis.log" >&2
  for _ in $(seq 1 50); do port_open 6379 && break; sleep 0.1; done
  port_open 6379 || { say "redis did not start; see $CHAT_DATA_DIR/redis/redis.log"; exit 1; }
  say "redis: started on 127.0.0.1:6379 (data and log: $CHAT_DATA_DIR/redis)"
fi

# MongoDB wire: FerretDB on the machine's PostgreSQL when one answers, else on SQLite files under .data/.
if port_open 5432 && command -v psql >/dev/null; then handler=postgresql; else handler=sqlite; fi
FERRETDB_HANDLER="$handler" bash "$ROOT/.ci/ferretdb.sh" >&2

printf 'NATS_URL=%s\nMONGO_URL=%s\nREDIS_URL=%s\n' "$NATS_URL" "mongodb://127.0.0.1:27017" "redis://127.0.0.1:6379"
