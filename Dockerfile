# syntax=docker/dockerfile:1
# Portcullis container image.
#
#   docker build -t portcullis .
#   docker run -p 3000:3000 -v portcullis-keys:/var/lib/portcullis/keys portcullis
#
# Without DATABASE_URL / REDIS_URL the server uses embedded PGlite in DATA_DIR (mount a volume
# there too, or the data is lost with the container). docker-compose.yml runs it with Postgres
# and Redis. Configuration is environment variables only (DESIGN.md "Runtime contract").

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------
# Build: install every dependency (TypeScript is a dev dependency), compile src/ to dist/, then
# drop the dev dependencies so that node_modules can be copied as-is into the runtime stage.
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# `npm ci` runs the package's `prepare` script (scripts/check-node-version.cjs, then
# scripts/build.mjs, which runs tsc -p tsconfig.build.json), so the scripts, the sources and the
# tsconfig files must be in place before it; tsconfig.build.json compiles src/ only.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src

# NODE_ENV must not be "production" here, or npm would skip the dev dependencies tsc needs.
# argon2 installs from the prebuilt binaries in its package (linux x64/arm64, glibc), so no
# compiler is needed; an unsupported platform fails here rather than at run time.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund \
 && test -f dist/main.js && test -f dist/migrate.js

# --ignore-scripts: pruning must not re-run `prepare`, whose tsc would be gone by then. The
# build's own bookkeeping (its up-to-date stamp and tsc's incremental state) is of no use without
# the sources, so it stays out of the image.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -f dist/.tsbuildinfo dist/.build-stamp.json \
 && node -e "require('argon2')"

# ---------------------------------------------------------------------------------------------
# Runtime: the compiled server, its SQL migrations, templates and static files, production
# node_modules and package.json (its "type": "module" makes Node load dist/*.js as ES modules).
# No compiler, no sources, no dev dependencies.
FROM ${NODE_IMAGE} AS runtime

# MALLOC_MMAP_THRESHOLD_: as in `npm start` (README "Memory"): argon2's 19 MiB blocks go back to
# the system after each password check instead of staying with every thread that hashed.
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=4194304 \
    DATA_DIR=/var/lib/portcullis/data \
    KEYS_DIR=/var/lib/portcullis/keys

# The data and key directories belong to the unprivileged `node` user (uid 1000) and nobody else:
# KEYS_DIR holds private signing keys. Creating them in the image matters for named volumes,
# which Docker initialises from the image's directory, ownership and mode included.
RUN mkdir -p "$DATA_DIR" "$KEYS_DIR" \
 && chown node:node "$DATA_DIR" "$KEYS_DIR" \
 && chmod 0700 "$DATA_DIR" "$KEYS_DIR"

WORKDIR /app
# The application files stay owned by root: the server can read but not modify its own code.
# The code resolves migrations/, views/ and public/ relative to dist/ (../../ from dist/<dir>/).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY views ./views
COPY public ./public

USER node
EXPOSE 3000

# Liveness only: /healthz answers as long as the process serves HTTP. Readiness (Postgres and
# the ephemeral store reachable) is /readyz, which orchestrators should probe separately (see
# docker-compose.yml). Slim images have no curl or wget, so node itself makes the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node directly, not `npm start`: npm would not forward SIGTERM reliably (the server shuts down
# cleanly on SIGTERM / SIGINT, see src/main.ts), and its `prestart` script would try to build.
# The V8 flags are the ones `npm start` uses (README, "Memory"): a smaller young generation and
# a slower-growing old one keep a worker near 200 MiB under load at no measurable throughput cost.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "dist/main.js"]
