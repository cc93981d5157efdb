/**
 * Alert delivery through real Kafka and PostgreSQL to a local HTTP
 * receiver: EZY158T's two Toulouse alerts (computed from the recording)
 * published on an alerts topic reach the rule's webhook signed with its
 * secret, after a 500 on the first try (retried with the same event id),
 * and its ntfy URL in ntfy's form; a target that always fails ends in the
 * dead-letter topic after the last try; private targets are refused unless
 * ALERTS_ALLOW_PRIVATE_TARGETS=true (the test sets it to reach 127.0.0.1).
 */
import assert from "node:assert/strict";
import { type AlertEvent, AlertRuleInput } from "../contracts/alerts.ts";
import type { DeadLetter } from "../contracts/deadletter.ts";
import { TOPICS } from "../contracts/topics.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { SIGNATURE_HEADER, verifySignature } from "../lib/alerts/signature.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { BusMessage } from "../lib/bus/types.ts";
import { parseWorkerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { Registry } from "prom-client";
import { startAlertDelivery } from "../services/alerts/delivery.ts";
import { AlertDeliveryMetrics } from "../services/alerts/metrics.ts";
import { createRule } from "../services/alerts/store.ts";
import { checkTarget, deliverAlert } from "../services/alerts/webhook.ts";
import { freshPostgres } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";
import { unique, waitFor } from "./_worker_harness.ts";
import { EZY158T, LFBO } from "./_alerts.ts";

interface Received {
  path: string;
  headers: Headers;
  body: string;
  status: number;
}

/** A local receiver: `/hook` answers 500 to the first request, then 200; `/broken` always 500. */
function receiver() {
  const got: Received[] = [];
  let hooks = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    const status = path === "/broken" ? 500 : path === "/hook" && hooks++ === 0 ? 500 : 200;
    got.push({ path, headers: req.headers, body, status });
    return new Response(status === 200 ? "ok" : "fail", { status });
  });
  return { got, base: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test({
  name:
    "alerts/webhooks: signed POSTs, a retry after a 500, ntfy form, dead letter after the last try",
  ignore: skipWithoutKafka() || skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseWorkerConfig({ ALERTS_ALLOW_PRIVATE_TARGETS: "true" });
    assert.equal(config.ALERTS_ALLOW_PRIVATE_TARGETS, true);
    const rx = receiver();
    const db = await freshPostgres({ migrate: true });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: unique("client") });
    const topic = unique("alerts");
    const deadletterTopic = unique("deadletter");
    const letters: BusMessage[] = [];
    try {
      const secret = "receiver-shared-secret";
      const rule = await createRule(
        db.sql,
        AlertRuleInput.parse({
          name: "Toulouse below 1000 m",
          kind: "geofence",
          geofence: { center: LFBO, radius_m: 8000 },
          max_altitude_m: 1000,
          webhook_url: `${rx.base}/hook`,
          webhook_secret: secret,
          ntfy_url: `${rx.base}/ntfy/skysentinel`,
        }),
      );
      const broken = await createRule(
        db.sql,
        AlertRuleInput.parse({
          name: "Broken receiver",
          kind: "aircraft",
          icao24: "406d95",
          webhook_url: `${rx.base}/broken`,
          webhook_secret: "x",
        }),
      );
      const ev = new AlertEvaluator([rule, broken]);
      const alerts = (await recordedFlights(EZY158T)).flatMap((f) => ev.update(f));
      assert.deepEqual(alerts.map((a) => a.rule_id), [broken.id, rule.id, rule.id]);

      await bus.ensureTopics([
        { ...TOPICS.alerts, name: topic },
        { ...TOPICS.deadletter, name: deadletterTopic },
      ]);
      await bus.send([{
        topic,
        messages: alerts.map((a) => ({ key: a.icao24, value: JSON.stringify(a) })),
      }]);
      const metrics = new AlertDeliveryMetrics(new Registry());
      const delivery = await startAlertDelivery({
        bus,
        sql: db.sql,
        log: silentLogger,
        metrics,
        topic,
        deadletterTopic,
        groupId: unique("group"),
        fromBeginning: true,
        delivery: {
          allowPrivate: config.ALERTS_ALLOW_PRIVATE_TARGETS,
          publicUrl: "http://localhost:8000",
          attempts: 3,
          initialMs: 50,
        },
      });
      const sub = await bus.subscribe({
        topics: [deadletterTopic],
        ephemeral: true,
        eachBatch: (b) => {
          letters.push(...b.messages);
          return Promise.resolve();
        },
      });
      const ok = (path: string) => rx.got.filter((r) => r.path === path && r.status === 200);
      await waitFor(
        () => ok("/hook").length >= 2 && ok("/ntfy/skysentinel").length >= 2 && letters.length >= 1,
        "two webhooks, two ntfy messages and a dead letter",
        { deadlineMs: 60_000 },
      );
      await sub.stop();
      await delivery.stop();

      // Webhooks: the first try got a 500 and was retried with the same body and event id.
      const hooks = rx.got.filter((r) => r.path === "/hook");
      assert.deepEqual(hooks.map((h) => h.status), [500, 200, 200]);
      assert.equal(hooks[0]!.body, hooks[1]!.body);
      assert.equal(hooks[0]!.headers.get("x-skysentinel-event"), alerts[1]!.id);
      for (const h of hooks) {
        const signature = h.headers.get(SIGNATURE_HEADER)!;
        assert.match(signature, /^[0-9a-f]{64}$/);
        assert.ok(await verifySignature(h.body, secret, signature), "signature verifies");
        assert.ok(!(await verifySignature(h.body, "other", signature)));
        assert.equal(h.headers.get("content-type"), "application/json");
      }
      assert.deepEqual(
        ok("/hook").map((h) => (JSON.parse(h.body) as AlertEvent).id),
        [alerts[1]!.id, alerts[2]!.id],
      );
      assert.deepEqual(JSON.parse(ok("/hook")[0]!.body), alerts[1]);

      // ntfy: message body, Title and Click headers.
      const ntfy = ok("/ntfy/skysentinel")[0]!;
      assert.match(ntfy.headers.get("title")!, /^Toulouse below 1000 m: EZY158T entered/);
      assert.match(ntfy.headers.get("click")!, /^http:\/\/localhost:8000\/\?icao24=406d95/);
      assert.match(ntfy.body, /EZY158T \(406d95\) entered .* at 2017-02-05T16:06:40\.000Z/);

      // The always-failing receiver: three tries, then the dead letter.
      assert.equal(rx.got.filter((r) => r.path === "/broken").length, 3);
      const letter = JSON.parse(new TextDecoder().decode(letters[0]!.value)) as DeadLetter;
      assert.equal(letter.source, "alerts.webhook");
      assert.match(letter.reason, /HTTP 500 after 3 tries/);
      assert.equal((JSON.parse(letter.raw) as AlertEvent).id, alerts[0]!.id);

      // The same story in /metrics: 2 + 2 delivered, 1 dead-lettered; 4 failed webhook tries
      // (the 500 retried, the broken receiver's three); a latency per delivery.
      const count = async (
        c: { get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }> },
        labels: Record<string, string>,
        name?: string,
      ) =>
        (await c.get()).values.filter((v) =>
          (name === undefined || v.metricName === name) &&
          Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)
        ).reduce((a, v) => a + v.value, 0);
      const d = metrics.deliveries, t = metrics.attempts;
      assert.equal(await count(d, { target: "webhook", outcome: "ok" }), 2);
      assert.equal(await count(d, { target: "ntfy", outcome: "ok" }), 2);
      assert.equal(await count(d, { target: "webhook", outcome: "dead_lettered" }), 1);
      assert.equal(await count(t, { target: "webhook", result: "failed" }), 4);
      assert.equal(await count(t, { target: "webhook", result: "ok" }), 2);
      const latency = "alerts_delivery_latency_seconds_count";
      assert.equal(await count(metrics.latency, { target: "webhook" }, latency), 2);
      assert.equal(await count(metrics.latency, { target: "ntfy" }, latency), 2);
    } finally {
      await bus.close();
      await db.close();
      await rx.close();
    }
  },
});

Deno.test("alerts/webhooks: loopback and private targets refused unless allowed", async () => {
  const rx = receiver();
  try {
    const target = { webhook_url: `${rx.base}/hook`, webhook_secret: "s", ntfy_url: null };
    const event: AlertEvent = {
      id: "0123456789abcdef0123456789abcdef",
      rule_id: "r",
      rule_name: "r",
      kind: "squawk",
      icao24: "406d95",
      callsign: "EZY158T",
      at: "2017-02-05T16:30:00.000Z",
      position: { lat: 43.6, lon: 1.4, altitude_m: 2134 },
      detail: { trigger: "squawk", squawk: "7700" },
    };
    const [refused] = await deliverAlert(event, target, {
      allowPrivate: false,
      publicUrl: "http://localhost:8000",
    });
    assert.equal(refused!.ok, false);
    assert.match(refused!.reason!, /127\.0\.0\.1 is a loopback or private address/);
    assert.equal(rx.got.length, 0, "nothing was sent");
    const resolve = (host: string) =>
      Promise.resolve(host === "intranet.example.com" ? ["10.0.0.7"] : ["93.184.215.14"]);
    assert.match(
      (await checkTarget("https://intranet.example.com/x", { allowPrivate: false, resolve }))!,
      /resolves to 10\.0\.0\.7/,
    );
    assert.equal(
      await checkTarget("https://hooks.example.com/x", { allowPrivate: false, resolve }),
      null,
    );
    assert.match((await checkTarget("http://localhost:9/x", { allowPrivate: false }))!, /local/);
    assert.match((await checkTarget("http://[::1]:9/x", { allowPrivate: false }))!, /private/);
    const [sent] = await deliverAlert(event, target, {
      allowPrivate: true,
      publicUrl: "http://localhost:8000",
      initialMs: 10,
    });
    assert.equal(sent!.ok, true);
    assert.equal(sent!.attempts, 2, "a 500, then 200");
  } finally {
    await rx.close();
  }
});
