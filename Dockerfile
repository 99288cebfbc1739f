# syntax=docker/dockerfile:1
# Atoll's app image: one multi-stage build, one final stage per process. Build a single target, e.g.
#   docker build --target api -t atoll/api:0.1.0 .
# Targets: api, writer, cleanroom, init (the one-shot migrations/buckets job). They share every layer but the
# last, so building all four costs about as much as building one.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
# The writer's ORC converter is Rust; same Debian release as the Node image, so the binary links the same glibc.
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm

# ---- build: install everything (dev dependencies included) and bundle the entry points --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY . .
RUN npm ci
# See deploy/build-apps.mjs for why the apps are bundled with esbuild rather than run through tsx.
RUN node deploy/build-apps.mjs --out /out
# The web portal: static files (Vite build) that the api serves at /portal/.
RUN node apps/portal/build.mjs --force --quiet && cp -r apps/portal/dist /out/portal

# ---- orc: the writer's ORC → Parquet converter (packages/bulk/orc-to-parquet; crates pinned by its Cargo.lock) ----
FROM ${RUST_IMAGE} AS orc
WORKDIR /src
COPY packages/bulk/orc-to-parquet/ ./
RUN cargo build --release --locked && cp target/release/atoll-orc-to-parquet /atoll-orc-to-parquet

# ---- prod-deps: third-party runtime dependencies only (DuckDB's native binding, pg, bullmq, fastify, …) ---------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY . .
RUN npm ci --omit=dev \
 # The bundles carry Atoll's own code; the workspace links would dangle in the runtime image.
 && rm -rf node_modules/@atoll

# ---- runtime: shared by every target ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG ATOLL_VERSION=0.1.0
LABEL org.opencontainers.image.title="Atoll" \
      org.opencontainers.image.version="${ATOLL_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/atoll-data/atoll"
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it and volumes can be chowned to it.
RUN groupadd --system --gid 10001 atoll \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/atoll --shell /usr/sbin/nologin atoll \
 && mkdir -p /var/lib/atoll/work \
 && chown -R 10001:10001 /var/lib/atoll
WORKDIR /app
COPY --from=prod-deps --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /out/dist ./dist
COPY --from=build --chown=0:0 /out/migrations ./migrations
COPY --chown=0:0 deploy/healthcheck.mjs ./healthcheck.mjs
# Code is owned by root and read-only to the app user; the only writable path is the work directory (a volume,
# emptyDir or tmpfs in deployments), so the container runs with a read-only root filesystem.
ENV NODE_ENV=production \
    ATOLL_WORK_DIR=/var/lib/atoll/work \
    HOME=/var/lib/atoll
VOLUME ["/var/lib/atoll"]
USER 10001:10001
# The apps handle SIGTERM themselves (packages/runtime onShutdown: close servers and workers, wait for jobs in
# flight, exit 0; a second signal forces exit). Node runs as PID 1 and receives the signal directly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps"]

FROM runtime AS init
CMD ["dist/init.mjs"]

FROM runtime AS writer
COPY --from=orc --chown=0:0 /atoll-orc-to-parquet /app/bin/atoll-orc-to-parquet
ENV ATOLL_HEALTH_HOST=0.0.0.0 ATOLL_HEALTH_PORT=8081 ATOLL_ORC_CONVERTER=/app/bin/atoll-orc-to-parquet
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
CMD ["dist/writer.mjs"]

FROM runtime AS cleanroom
ENV ATOLL_HEALTH_HOST=0.0.0.0 ATOLL_HEALTH_PORT=8081
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
CMD ["dist/cleanroom.mjs"]

# Last, so a plain `docker build .` produces the api.
FROM runtime AS api
COPY --from=build --chown=0:0 /out/portal ./portal
ENV ATOLL_API_HOST=0.0.0.0 ATOLL_API_PORT=8080 ATOLL_PORTAL_DIR=/app/portal
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
CMD ["dist/api.mjs"]
