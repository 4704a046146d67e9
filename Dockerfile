# agent-state: Fastify + DuckDB (@duckdb/node-api ships glibc native binaries, so a Debian base, not Alpine).

# ---- build: full install, the build, then drop dev dependencies ----
FROM node:22.21.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
# The build bundles the server into dist/boot/server.js (scripts/bundle-server.mjs).
COPY scripts/bundle-server.mjs ./scripts/
# --ignore-scripts: nothing the image needs has an install script (esbuild's only checks its binary), and
# `npm ci` builds nothing; the build is run explicitly, and dev dependencies dropped.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and compiled output only ----
FROM node:22.21.1-bookworm-slim AS runtime
# REAPER_PID_CHECK=host: agents run outside this container's PID namespace, so a PID is only checked for a
# workspace whose `host` is this container; one without `host` is left to its lease.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=3000 \
    REAPER_PID_CHECK=host
WORKDIR /app
# Application files stay root-owned (read-only to the service user); only /data is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# HOST=0.0.0.0 with no AUTH_TOKENS is refused at start-up: run with AUTH_TOKENS=token:scope,...
# (or ALLOW_OPEN=1 to run open on purpose).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly (not npm) so SIGTERM reaches the process and close-with-grace checkpoints the store.
CMD ["node", "dist/boot/server.js"]
