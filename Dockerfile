# One image for every SkySentinel Deno program (producer, worker, web server, migrate,
# topics-init). compose.yaml runs it once per service and overrides `command` with
# `deno run <that service's own permission flags> <entry>`; see docs/operations.md.
#
#   docker build -t skysentinel .
#   docker run --rm -p 8000:8000 skysentinel          # the embedded single-process stack
FROM denoland/deno:debian-2.9.6

# The official image ships a non-root `deno` user (uid 1993) that owns DENO_DIR (/deno-dir).
# Everything below runs as that user, so the caches it fills stay writable at run time and
# nothing in the container runs as root.
WORKDIR /app
RUN chown deno:deno /app
USER deno

# npm dependencies first, from the lock file only: a source change keeps this layer.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno . .

# Cache (download, type-strip) every entry point the services run, so that a container
# starts without fetching anything; then bundle the browser islands into _build/ (what the
# web server serves in production). The build regenerates routes.gen.ts when it is stale.
RUN deno install --frozen --entrypoint \
      main.ts \
      services/producer/main.ts \
      services/worker/main.ts \
      services/alerts/main.ts \
      scripts/migrate.ts \
      scripts/init_topics.ts \
 && deno task build \
 && mkdir -p .data/recordings

# web, producer /metrics, worker /metrics, alert delivery /metrics
EXPOSE 8000 9101 9102 9103

# Without a command: the whole stack in one process (in-memory bus, embedded PostgreSQL in
# .data/). compose.yaml replaces this per service.
CMD ["deno", "task", "up"]
