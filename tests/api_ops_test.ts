/**
 * The operational routes on the real server: `/healthz` (200 only when it
 * can serve), `/metrics` (registry + HTTP metrics), `/ws` (426, and a real
 * upgrade through the framework), the history routes without a database
 * (503), and the 404 page.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { connect } from "../lib/db/mod.ts";
import { createWebApp, type HealthCheck, type WebAppOptions } from "../services/web/app.ts";
import { Hub } from "../services/web/hub.ts";
import { BASE_CONFIG } from "./_hub_harness.ts";

function newHub(registry: Registry) {
  return new Hub({
    config: {
      ...BASE_CONFIG,
      WS_DELTA_INTERVAL_MS: 100,
      WS_MAX_CLIENTS: 10,
      WS_MAX_BUFFERED_BYTES: 1 << 20,
    },
    registry,
    logger: { info() {}, warn() {} },
  });
}

async function serve(options: Partial<WebAppOptions> = {}) {
  const registry = options.registry ?? new Registry();
  const hub = newHub(registry);
  const handler = await createWebApp({
    config: { WS_STALE_THRESHOLD_SECONDS: 60 },
    hub,
    db: null,
    registry,
    build: "never",
    log: () => {},
    ...options,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    hub,
    registry,
    base,
    get: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init),
    close: async () => {
      await hub.stop();
      await server.shutdown();
    },
  };
}

Deno.test("/healthz: 503 until the hub is ready, 200 then, 503 again for a failing check", async () => {
  let busOk = true;
  const app = await serve({
    health: (): Record<string, HealthCheck> => ({
      bus: busOk ? { ok: true } : { ok: false, detail: "kafka: broker unreachable" },
    }),
  });
  try {
    app.hub.setSourceStatus({ kind: "kafka", ready: false, detail: "catching up flights.state" });
    app.hub.start();
    const notReady = await app.get("/healthz");
    assert.equal(notReady.status, 503);
    assert.equal(notReady.headers.get("Cache-Control"), "no-store");
    const body = await notReady.json();
    assert.equal(body.status, "unavailable");
    assert.deepEqual(body.problems, ["hub: catching up flights.state"]);

    app.hub.setSourceStatus({ kind: "kafka", ready: true });
    const ok = await app.get("/healthz");
    assert.equal(ok.status, 200);
    const okBody = await ok.json();
    assert.equal(okBody.status, "ok");
    assert.deepEqual(okBody.checks.database, { ok: true, detail: "not configured" });
    assert.equal(okBody.checks.bus.ok, true);

    busOk = false;
    const bus = await app.get("/healthz");
    assert.equal(bus.status, 503);
    assert.deepEqual((await bus.json()).problems, ["bus: kafka: broker unreachable"]);
  } finally {
    await app.close();
  }
});

Deno.test("/healthz: 503 when the configured database does not answer", async () => {
  // Nothing listens on port 1: the connection is refused at once.
  const sql = connect("postgres://nobody@127.0.0.1:1/nothing", { max: 1 });
  const app = await serve({ db: sql, dbCheckTimeoutMs: 5_000 });
  try {
    app.hub.start();
    const res = await app.get("/healthz");
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.checks.hub.ok, true);
    assert.equal(body.checks.database.ok, false);
    assert.match(body.problems[0], /^database: unreachable/);

    const history = await app.get("/api/snapshot");
    assert.equal(history.status, 503);
    assert.equal((await history.json()).error.code, "unavailable");
  } finally {
    await app.close();
    await sql.end({ timeout: 1 });
  }
});

Deno.test("history routes answer 503 without a database, openapi.json does not need one", async () => {
  const app = await serve();
  try {
    for (
      const path of [
        "/api/flights/406d95",
        "/api/flights/406d95/track",
        "/api/snapshot",
        "/api/anomalies",
      ]
    ) {
      const res = await app.get(path);
      assert.equal(res.status, 503, path);
      assert.deepEqual(await res.json(), {
        error: {
          code: "unavailable",
          message: "history is unavailable: no database is configured",
        },
      });
    }
    // Bad input is still 400, before the database is needed.
    const bad = await app.get("/api/flights/xyz/track");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /^icao24: /);

    const doc = await app.get("/api/openapi.json");
    assert.equal(doc.status, 200);
    assert.equal((await doc.json()).openapi, "3.1.0");
  } finally {
    await app.close();
  }
});

Deno.test("/metrics: the registry's metrics plus HTTP requests by route pattern", async () => {
  const app = await serve();
  try {
    for (const path of ["/api/flights", "/api/flights?bbox=bad", "/api/openapi.json", "/nope"]) {
      await (await app.get(path)).body?.cancel();
    }
    await (await app.get("/api/flights/406d95")).body?.cancel();
    const res = await app.get("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type")!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(
      text,
      /^http_requests_total\{route="\/api\/flights",method="GET",status="200"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{route="\/api\/flights",method="GET",status="400"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{route="\/api\/flights\/:icao24",method="GET",status="503"\} 1$/m,
    );
    assert.match(text, /^http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    assert.match(
      text,
      /^http_request_duration_seconds_count\{route="\/api\/openapi.json",method="GET"\} 1$/m,
    );
    assert.match(text, /^hub_flights 0$/m, "the hub's metrics share the registry");
  } finally {
    await app.close();
  }
});

Deno.test("/ws: 426 without an upgrade, a real WebSocket through the framework", async () => {
  const app = await serve();
  try {
    app.hub.start();
    const plain = await app.get("/ws");
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get("Upgrade"), "websocket");
    assert.equal((await plain.json()).error.code, "upgrade_required");

    const socket = new WebSocket(`${app.base.replace("http", "ws")}/ws`);
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      socket.onmessage = (e) => resolve(JSON.parse(e.data));
      socket.onerror = () => reject(new Error("WebSocket failed"));
    });
    assert.equal(first.type, "hello");
    const closed = new Promise((resolve) => (socket.onclose = resolve));
    socket.close();
    await closed;
  } finally {
    await app.close();
  }
});

Deno.test("unknown pages get the 404 page with security headers", async () => {
  const app = await serve();
  try {
    const res = await app.get("/no/such/page", { headers: { Accept: "text/html" } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get("Content-Type")!, /^text\/html/);
    assert.equal(res.headers.get("X-Frame-Options"), "DENY");
    assert.match(res.headers.get("Content-Security-Policy")!, /script-src 'self'/);
    const text = await res.text();
    assert.match(text, /^<!DOCTYPE html><html lang="en">/);
    assert.match(text, /Nothing at <code>\/no\/such\/page<\/code>/);
  } finally {
    await app.close();
  }
});
