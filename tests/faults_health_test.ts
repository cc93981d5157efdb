/**
 * One `/healthz` shape for every service (issue #15): the producer's and the worker's
 * (services/metrics_http.ts) answer like the web server's (routes/healthz.ts):
 * `{status: "ok" | "degraded" | "unavailable", problems?, checks: {name: {ok, detail}}}`.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { serveMetrics } from "../services/metrics_http.ts";

Deno.test("health: producer and worker /healthz bodies have the web server's shape", async () => {
  let verdict: { ok: boolean; reason?: string; degraded?: boolean } = { ok: true, reason: "ok" };
  const server = serveMetrics({
    port: 0,
    hostname: "127.0.0.1",
    registry: new Registry(),
    name: "worker",
    health: () => verdict,
  });
  const get = async () => {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
    return { status: res.status, body: await res.json() };
  };
  try {
    assert.deepEqual(await get(), {
      status: 200,
      body: { status: "ok", checks: { worker: { ok: true, detail: "ok" } } },
    });
    verdict = { ok: false, reason: "joining the consumer group" };
    assert.deepEqual(await get(), {
      status: 503,
      body: {
        status: "unavailable",
        problems: ["worker: joining the consumer group"],
        checks: { worker: { ok: false, detail: "joining the consumer group" } },
      },
    });
    verdict = { ok: true, degraded: true, reason: "data is stale" };
    const degraded = await get();
    assert.equal(degraded.status, 200);
    assert.equal(degraded.body.status, "degraded");
    assert.deepEqual(degraded.body.problems, ["worker: data is stale"]);
  } finally {
    await server.shutdown();
  }
});
