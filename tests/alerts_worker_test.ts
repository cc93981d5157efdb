/**
 * The done-when scenario of issue #13 through the real pipeline: the
 * recordings (EZY158T at Toulouse, the Switzerland half hour, EDW24 at
 * Zurich) as the producer's replay publishes them, through Kafka into the
 * worker and PostgreSQL, with rules stored through the API's store. Exactly
 * the expected alerts fire, are stored once and are published to the alerts
 * topic: EZY158T entering a circle around Toulouse below 1000 m (twice, one
 * per approach), its two go-arounds as an anomaly rule, a squawk 7700 rule
 * on a derived copy of IBE31TT whose squawk was changed to 7700 from
 * 11:45:00Z (labelled `_derived`), EDW24's take-off at Zurich as an aircraft
 * rule; a muted rule fires nothing.
 */
import assert from "node:assert/strict";
import { type AlertEvent, AlertRuleInput } from "../contracts/alerts.ts";
import { TOPICS } from "../contracts/topics.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { BusMessage, OutgoingMessage } from "../lib/bus/types.ts";
import { createRule } from "../services/alerts/store.ts";
import { freshPostgres } from "./_db.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";
import {
  recorded,
  send,
  startTestWorker,
  STREAM,
  topicsFor,
  unique,
  waitFor,
} from "./_worker_harness.ts";
import { LFBO, LSZH } from "./_alerts.ts";

const SQUAWK_FROM = Date.UTC(2018, 7, 1, 11, 45) / 1000;

/** The stream with IBE31TT (34324f) squawking 7700 from 11:45:00Z: derived, not recorded. */
function withIbe31ttSquawk7700Derived(messages: readonly OutgoingMessage[]): OutgoingMessage[] {
  return messages.map((m) => {
    if (m.key !== "34324f") return m;
    const envelope = JSON.parse(String(m.value));
    if (envelope.payload.time_position_unix < SQUAWK_FROM) return m;
    envelope.payload.squawk = "7700";
    return { ...m, value: JSON.stringify(envelope) };
  });
}

Deno.test({
  name: "alerts/kafka: the recordings fire exactly the expected alerts, stored and published",
  ignore: skipWithoutKafka() || skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stream = withIbe31ttSquawk7700Derived((await recorded(STREAM)).messages);
    const db = await freshPostgres({ migrate: true });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: unique("client") });
    const topics = { ...topicsFor("alerts"), alerts: unique("alerts") };
    const published: BusMessage[] = [];
    try {
      const add = (input: AlertRuleInput) => createRule(db.sql, AlertRuleInput.parse(input));
      const lfbo = await add({
        name: "Toulouse below 1000 m",
        kind: "geofence",
        geofence: { center: LFBO, radius_m: 8000 },
        max_altitude_m: 1000,
      });
      await add({
        name: "muted copy",
        kind: "geofence",
        geofence: { center: LFBO, radius_m: 8000 },
        max_altitude_m: 1000,
        muted: true,
      });
      const goAround = await add({
        name: "Go-arounds at Toulouse",
        kind: "anomaly",
        anomaly_kinds: ["go_around"],
        geofence: { center: LFBO, radius_m: 20_000 },
      });
      const mayday = await add({ name: "Emergency squawks", kind: "squawk", squawks: ["7700"] });
      const hbjmf = await add({
        name: "HB-JMF departs",
        kind: "aircraft",
        icao24: "4b1901",
        on: ["takeoff"],
        geofence: { center: LSZH, radius_m: 10_000 },
      });
      await bus.ensureTopics([
        { ...TOPICS.updates, name: topics.updates },
        { ...TOPICS.anomalies, name: topics.anomalies },
        { ...TOPICS.deadletter, name: topics.deadletter },
        { ...TOPICS.alerts, name: topics.alerts },
      ]);
      await send(bus, topics.updates, stream);
      const worker = await startTestWorker({ bus, db, topics });
      await waitFor(
        async () => await worker.metrics.value(worker.metrics.processed) >= stream.length,
        "every update processed",
      );
      await worker.stop();

      const rows = await db.sql<
        { id: string; rule_id: string; icao24: string; at: string; detail: AlertEvent["detail"] }[]
      >`SELECT id, rule_id, icao24,
          to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, detail
        FROM alert_events ORDER BY at, id`;
      const goArounds = await db.sql<{ id: string }[]>`
        SELECT id FROM anomalies WHERE kind = 'go_around' ORDER BY started_at`;
      const takeoffs = await db.sql<{ id: string; at: string }[]>`
        SELECT id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at
        FROM anomalies WHERE kind = 'takeoff' AND icao24 = '4b1901'`;
      assert.equal(goArounds.length, 2, "the detectors find EZY158T's two go-arounds");
      assert.equal(takeoffs.length, 1);
      const got = rows.map((r) => `${r.rule_id} ${r.icao24} ${r.at}`).sort();
      const expected = [
        `${lfbo.id} 406d95 2017-02-05T16:06:40Z`,
        `${lfbo.id} 406d95 2017-02-05T16:24:29Z`,
        `${mayday.id} 34324f 2018-08-01T11:45:00Z`,
        `${hbjmf.id} 4b1901 ${takeoffs[0]!.at}`,
      ];
      const ga = rows.filter((r) => r.rule_id === goAround.id);
      assert.deepEqual(ga.map((r) => r.detail.anomaly_id), goArounds.map((g) => g.id));
      assert.deepEqual(got.filter((g) => !g.startsWith(goAround.id)), expected.sort());
      assert.equal(rows.length, 6);

      // /metrics: the rules loaded, each alert counted once by kind and trigger.
      const text = await worker.metrics.registry.metrics();
      const sample = (line: string) => Number(text.match(new RegExp(`^${line} (\\S+)$`, "m"))?.[1]);
      assert.equal(sample('alerts_rules_loaded\\{state="active"\\}'), 4);
      assert.equal(sample('alerts_rules_loaded\\{state="muted"\\}'), 1);
      assert.equal(sample('alerts_fired_total\\{kind="geofence",trigger="enter"\\}'), 2);
      assert.equal(sample('alerts_fired_total\\{kind="anomaly",trigger="anomaly"\\}'), 2);
      assert.equal(sample('alerts_fired_total\\{kind="squawk",trigger="squawk"\\}'), 1);
      assert.equal(sample('alerts_fired_total\\{kind="aircraft",trigger="takeoff"\\}'), 1);

      // The same events on the alerts topic (at-least-once: versions may repeat, ids do not change).
      const sub = await bus.subscribe({
        topics: [topics.alerts],
        ephemeral: true,
        eachBatch: (batch) => {
          published.push(...batch.messages);
          return Promise.resolve();
        },
      });
      await waitFor(() => published.length >= rows.length, "the published alerts");
      await sub.stop();
      const ids = new Set(
        published.map((m) => (JSON.parse(new TextDecoder().decode(m.value)) as AlertEvent).id),
      );
      assert.deepEqual([...ids].sort(), rows.map((r) => r.id).sort());
      assert.ok(published.every((m) => m.key !== null));
    } finally {
      await bus.close();
      await db.close();
    }
  },
});
