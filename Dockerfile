# syntax=docker/dockerfile:1
# One image per service from this one file: docker build --build-arg SERVICE=gateway -t realtime-chat/gateway .
# Every service is built the same way (tsc -b over the workspace, then `node services/<name>/dist/main.js`), so one
# parameterised file keeps them in step; each image still holds only its own service's code and production
# dependencies. See deploy/README.md.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# Only the package manifests, so the dependency layers are rebuilt only when a manifest or the lockfile changes.
FROM base AS manifests
COPY package.json package-lock.json .npmrc ./
COPY libs libs
COPY services services
RUN find libs services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM base AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<name of a folder in services/>" >&2; exit 1; }
COPY --from=manifests /app ./
# No install scripts: the only packages that have one are test-only (testcontainers' ssh and cpu helpers).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs libs
COPY services services
# tsc -b follows the service's project references, so only it and the libs it uses are compiled. Then collect
# their manifests and dist/ (no sources, no tests) for the runtime stage.
RUN npx tsc -b "services/$SERVICE" \
 && mkdir -p /out \
 && for dir in libs/* "services/$SERVICE"; do \
      if [ -d "$dir/dist" ]; then mkdir -p "/out/$dir" && cp -r "$dir/package.json" "$dir/dist" "/out/$dir/"; fi; \
    done \
 && find /out -name '*.test.*' -delete

FROM base AS runtime
ARG SERVICE
ENV NODE_ENV=production LOG_FORMAT=json CHAT_SERVICE=${SERVICE}
COPY --from=manifests /app ./
COPY deploy/docker/workspaces.mjs /tmp/
# Production dependencies of this service and of the workspace libs it depends on, nothing else: `npm ci
# --workspace` would still install every workspace's dependencies (the test harness's among them), so the
# root manifest is narrowed to those workspaces first; versions stay those of package-lock.json.
RUN --mount=type=cache,target=/root/.npm node /tmp/workspaces.mjs "$SERVICE" \
 && npm install --omit=dev --ignore-scripts \
 && rm /tmp/workspaces.mjs
COPY --from=build /out ./
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
# The uploads service's default UPLOAD_DIR, owned by the runtime user: a named volume mounted there starts with
# this ownership, so the non-root service can write to it.
RUN mkdir -p /data/uploads && chown 1000:1000 /data/uploads
# The node image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# The services stop gracefully on SIGTERM (drain NATS, close sockets, exit 0); node runs as PID 1 and handles it.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
CMD ["sh", "-c", "exec node --enable-source-maps \"services/$CHAT_SERVICE/dist/main.js\""]
