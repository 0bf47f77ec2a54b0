#!/usr/bin/env bash
# Installs the offline deployment checkers that tests/deploy uses, from the Go module proxy, into
# $CHAT_CACHE_DIR/deploy-tools (default ~/.cache/realtime-chat/deploy-tools), and reuses what is there:
#   kustomize-<version>/kustomize    sigs.k8s.io/kustomize/kustomize/v5
#   promtool-<version>/promtool      github.com/prometheus/prometheus/cmd/promtool (the release of the compose
#                                     Prometheus image: module v0.316.0 is Prometheus 3.16.0), for the alert rules
#   deploy-check-<hash>/deploy-check  this folder (Kubernetes schemas from k8s.io/api, compose-go's loader), one
#                                     build per content hash of its sources, so an edit here builds anew
# .ci/run calls it; run it by hand before `npx vitest run tests/deploy` on a new machine. Needs Go (1.26).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
KUSTOMIZE_VERSION=v5.8.2
PROMTOOL_VERSION=v0.316.0
tools="${CHAT_CACHE_DIR:-$HOME/.cache/realtime-chat}/deploy-tools"
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
command -v go >/dev/null || { echo "deploy tools are built with Go, and there is no go on PATH" >&2; exit 1; }

if [ ! -x "$tools/kustomize-$KUSTOMIZE_VERSION/kustomize" ]; then
  echo "building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$tools/kustomize-$KUSTOMIZE_VERSION" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

if [ ! -x "$tools/promtool-$PROMTOOL_VERSION/promtool" ]; then
  echo "building promtool $PROMTOOL_VERSION"
  GOBIN="$tools/promtool-$PROMTOOL_VERSION" go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
fi

hash="$(cd "$here" && LC_ALL=C cat go.mod go.sum $(LC_ALL=C ls *.go) | sha256sum | cut -c1-16)"
if [ ! -x "$tools/deploy-check-$hash/deploy-check" ]; then
  echo "building deploy-check $hash"
  (cd "$here" && go build -trimpath -o "$tools/deploy-check-$hash/deploy-check" .)
fi
echo "kustomize $KUSTOMIZE_VERSION, promtool $PROMTOOL_VERSION and deploy-check $hash in $tools"
