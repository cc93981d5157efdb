/**
 * `/api/alerts` and `/api/alerts/events` on the real server and a fresh
 * PostgreSQL database: create (201 with id), list, get, patch (merged and
 * validated again), delete; writes refused with 403 without ADMIN_TOKEN and
 * 401 with a wrong token; secrets never returned; events listed newest first.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { AlertRule, AlertRulesResponse } from "../contracts/alerts.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { createWebApp } from "../services/web/app.ts";
import { insertAlertEvents, loadRules, rulesVersion } from "../services/web/alerts.ts";
import { openApiDocument } from "../services/web/openapi.ts";
import { freshPostgres, type TestDatabase } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { EZY158T, LFBO } from "./_alerts.ts";

const TOKEN = "test-admin-token-0123456789";

async function withServer(
  db: TestDatabase,
  adminToken: string | null,
  fn: (
    call: (method: string, path: string, body?: unknown, token?: string) => Promise<Response>,
  ) => Promise<void>,
) {
  const handler = await createWebApp({
    config: { WS_STALE_THRESHOLD_SECONDS: 60 },
    hub: {
      handleUpgrade: () => new Response(null, { status: 501 }),
      snapshot: () => [],
      stats: () => ({ ready: true }),
    },
    db: db.sql,
    registry: new Registry(),
    adminToken,
    build: "never",
    log: () => {},
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn((method, path, body, token) => {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers["content-type"] = "application/json";
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      return fetch(`http://127.0.0.1:${server.addr.port}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    });
  } finally {
    await server.shutdown();
  }
}

async function json(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text ? JSON.parse(text) : {};
}

const circle = {
  name: "LFBO below 1000 m",
  kind: "geofence",
  geofence: { center: LFBO, radius_m: 8000 },
  max_altitude_m: 1000,
  on: ["enter"],
  webhook_url: "https://hooks.example.org/skysentinel",
  webhook_secret: "s3cret",
};

Deno.test({
  name: "alerts API: CRUD with ADMIN_TOKEN, validation, secrets kept back",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    try {
      await withServer(db, TOKEN, async (call) => {
        const v0 = await rulesVersion(db.sql);
        assert.equal((await call("POST", "/api/alerts", circle)).status, 401);
        assert.equal(
          (await call("POST", "/api/alerts", circle, "wrong-token-xxxxxxxx")).status,
          401,
        );
        const created = await json(await call("POST", "/api/alerts", circle, TOKEN), 201);
        const rule = AlertRule.parse(created);
        assert.match(rule.id, /^rule_[0-9a-f]{16}$/);
        assert.equal(rule.webhook_secret_set, true);
        assert.equal("webhook_secret" in created, false);
        assert.deepEqual(rule.geofence, circle.geofence);
        assert.equal(rule.cooldown_s, 300);
        assert.notEqual(await rulesVersion(db.sql), v0);

        const bad = await json(
          await call("POST", "/api/alerts", { ...circle, geofence: undefined }, TOKEN),
          400,
        );
        assert.match(JSON.stringify(bad), /geofence: a geofence rule needs a geofence/);
        const squawk = await json(
          await call(
            "POST",
            "/api/alerts",
            { name: "7700", kind: "squawk", squawks: ["7700"] },
            TOKEN,
          ),
          201,
        );

        const list = AlertRulesResponse.parse(await json(await call("GET", "/api/alerts"), 200));
        assert.deepEqual(list.rules.map((r) => r.id), [rule.id, squawk.id]);
        assert.equal(JSON.stringify(list).includes("s3cret"), false);
        assert.equal(
          (await json(await call("GET", `/api/alerts/${rule.id}`), 200)).name,
          circle.name,
        );
        assert.equal((await call("GET", "/api/alerts/rule_0000000000000000")).status, 404);

        const patched = AlertRule.parse(
          await json(
            await call(
              "PATCH",
              `/api/alerts/${rule.id}`,
              { muted: true, max_altitude_m: 600 },
              TOKEN,
            ),
            200,
          ),
        );
        assert.equal(patched.muted, true);
        assert.equal(patched.max_altitude_m, 600);
        assert.equal(patched.webhook_secret_set, true, "the secret survives a patch");
        assert.ok(patched.updated_at > rule.updated_at);
        const badPatch = await json(
          await call("PATCH", `/api/alerts/${rule.id}`, { min_altitude_m: 900 }, TOKEN),
          400,
        );
        assert.match(JSON.stringify(badPatch), /min_altitude_m: must not exceed max_altitude_m/);
        const stored = await loadRules(db.sql);
        assert.equal(stored[0]!.webhook_secret, "s3cret", "the worker gets the secret");

        assert.equal((await call("DELETE", `/api/alerts/${squawk.id}`)).status, 401);
        assert.equal(
          (await call("DELETE", `/api/alerts/${squawk.id}`, undefined, TOKEN)).status,
          204,
        );
        assert.equal(
          (await call("DELETE", `/api/alerts/${squawk.id}`, undefined, TOKEN)).status,
          404,
        );
        const after = AlertRulesResponse.parse(await json(await call("GET", "/api/alerts"), 200));
        assert.deepEqual(after.rules.map((r) => r.id), [rule.id]);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "alerts API: without ADMIN_TOKEN writes answer 403 saying why, reads stay open",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    try {
      await withServer(db, null, async (call) => {
        const body = await json(await call("POST", "/api/alerts", circle, TOKEN), 403);
        assert.match(JSON.stringify(body), /ADMIN_TOKEN/);
        assert.equal(
          (await call("PATCH", "/api/alerts/rule_0000000000000000", {}, TOKEN)).status,
          403,
        );
        assert.equal((await call("DELETE", "/api/alerts/rule_0000000000000000")).status, 403);
        assert.deepEqual(await json(await call("GET", "/api/alerts"), 200), { rules: [] });
        assert.deepEqual(await json(await call("GET", "/api/alerts/events"), 200), { events: [] });
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "alerts API: events stored idempotently, listed newest first with filters",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    try {
      await withServer(db, TOKEN, async (call) => {
        const rule = AlertRule.parse(
          await json(
            await call(
              "POST",
              "/api/alerts",
              { ...circle, on: ["enter", "leave"], cooldown_s: 0 },
              TOKEN,
            ),
            201,
          ),
        );
        const ezy = await recordedFlights(EZY158T);
        const ev = new AlertEvaluator([rule]);
        const fired = ezy.flatMap((f) => ev.update(f));
        assert.equal(fired.length, 6, "EZY158T's three enter/leave pairs at Toulouse");
        assert.equal(await insertAlertEvents(db.sql, fired), 6);
        assert.equal(await insertAlertEvents(db.sql, fired), 0, "same ids: nothing twice");
        const all = await json(await call("GET", "/api/alerts/events"), 200);
        const events = all.events as typeof fired;
        assert.deepEqual(events.map((e) => e.id), [...fired].reverse().map((e) => e.id));
        assert.deepEqual(events.at(-1), fired[0]);
        const page = await json(
          await call(
            "GET",
            `/api/alerts/events?rule_id=${rule.id}&icao24=406D95&since=2017-02-05T16:20:00Z&limit=2`,
          ),
          200,
        );
        assert.deepEqual((page.events as typeof fired).map((e) => e.at), [
          "2017-02-05T16:27:09.000Z",
          "2017-02-05T16:24:29.000Z",
        ]);
        assert.equal((await call("GET", "/api/alerts/events?limit=0")).status, 400);
        assert.equal((await call("GET", "/api/alerts/events?colour=red")).status, 400);
      });
      const paths = openApiDocument().paths as Record<string, unknown>;
      for (const p of ["/api/alerts", "/api/alerts/{id}", "/api/alerts/events"]) {
        assert.ok(paths[p], p);
      }
    } finally {
      await db.close();
    }
  },
});
