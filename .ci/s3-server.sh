#!/usr/bin/env bash
# Builds the S3-compatible server that the uploads tests run (Versity S3 Gateway, posix backend: real SigV4
# checks, multipart uploads, presigned URLs), from its Go module, once, into
# $CHAT_CACHE_DIR/versitygw-<version>/versitygw (default ~/.cache/realtime-chat), and reuses it when present.
# Each uploads test file starts its own server from there on a free port (tests/support/s3.ts).
set -euo pipefail

VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
CACHE_DIR="${CHAT_CACHE_DIR:-$HOME/.cache/realtime-chat}"
DIR="$CACHE_DIR/versitygw-$VERSITYGW_VERSION"
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

if [ -x "$DIR/versitygw" ]; then
  echo "versitygw $VERSITYGW_VERSION: reusing $DIR/versitygw"
  exit 0
fi
command -v go >/dev/null || { echo "versitygw is built with Go, and there is no go on PATH" >&2; exit 1; }
echo "versitygw $VERSITYGW_VERSION: building from its Go module (one time, about two minutes)"
mkdir -p "$DIR"
tmp=$(mktemp -d)
CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
mv "$tmp/versitygw" "$DIR/versitygw"
rmdir "$tmp"
echo "versitygw $VERSITYGW_VERSION: built into $DIR"
