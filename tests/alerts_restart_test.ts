/**
 * A worker restart in the middle of the Switzerland recording, on real
 * Kafka and PostgreSQL: the first worker processes the first quarter hour
 * and stops; a second one (same consumer group) processes the rest. The
 * alerts stored are exactly those of one uninterrupted evaluation: the
 * aircraft inside the 80 km Zurich circle at the restart (17) do not enter again,
 * because the first worker left their state in `alert_state`. One event
 * marked unpublished (a crash between the database commit and the send) is
 * published by the second worker when it starts.
 */
import assert from "node:assert/strict";
import { type AlertEvent, AlertRuleInput } from "../contracts/alerts.ts";
import { FlightUpdateEnvelope } from "../contracts/flight.ts";
import { TOPICS } from "../contracts/topics.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { BusMessage } from "../lib/bus/types.ts";
import { createRule, loadRules } from "../services/alerts/store.ts";
import { freshPostgres } from "./_db.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";
import { recorded, send, startTestWorker, topicsFor, unique, waitFor } from "./_worker_harness.ts";
import { LSZH, SWITZERLAND } from "./_alerts.ts";

const RESTART_AT = Date.UTC(2018, 7, 1, 11, 45) / 1000;

Deno.test({
  name: "alerts/restart: a restarted worker does not fire enter again for aircraft inside",
  ignore: skipWithoutKafka() || skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stream = (await recorded([`fixtures/${SWITZERLAND}`])).messages;
    const flightOf = (m: (typeof stream)[number]) =>
      FlightUpdateEnvelope.parse(JSON.parse(String(m.value))).payload;
    const first = stream.filter((m) => flightOf(m).time_position_unix < RESTART_AT);
    const rest = stream.slice(first.length);
    assert.ok(first.length > 0 && rest.length > 0);
    const db = await freshPostgres({ migrate: true });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: unique("client") });
    const topics = { ...topicsFor("restart"), alerts: unique("restart.alerts") };
    const group = unique("restart.group");
    const config = { WORKER_GROUP_ID: group, LOG_LEVEL: "warn" as const };
    try {
      await createRule(
        db.sql,
        AlertRuleInput.parse({
          name: "Zurich 80 km",
          kind: "geofence",
          geofence: { center: LSZH, radius_m: 80_000 },
          on: ["enter", "leave"],
          cooldown_s: 0,
        }),
      );
      // One uninterrupted evaluation of the same updates: what must be stored.
      const reference = new AlertEvaluator(await loadRules(db.sql));
      const expected = stream.flatMap((m) => reference.update(flightOf(m)));
      const expectedAfter = expected.filter((a) => Date.parse(a.at) / 1000 >= RESTART_AT);
      await bus.ensureTopics([
        { ...TOPICS.updates, name: topics.updates },
        { ...TOPICS.anomalies, name: topics.anomalies },
        { ...TOPICS.deadletter, name: topics.deadletter },
        { ...TOPICS.alerts, name: topics.alerts },
      ]);

      await send(bus, topics.updates, first);
      const one = await startTestWorker({ bus, db, topics, config });
      await waitFor(
        async () => await one.metrics.value(one.metrics.processed) >= first.length,
        "the first worker to process the first quarter hour",
      );
      await one.stop();
      const [inside] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM alert_state WHERE jsonb_array_length(state->'active') > 0`;
      assert.ok(inside!.n >= 10, `aircraft inside at the restart: ${inside!.n}`);
      // A crash after the commit, before the send: the event stays in the outbox.
      const [unsent] = await db.sql<{ id: string }[]>`
        UPDATE alert_events SET published_at = NULL
        WHERE id = (SELECT id FROM alert_events ORDER BY at DESC, id LIMIT 1) RETURNING id`;

      const topics2 = { ...topics, alerts: unique("restart.alerts2") };
      await bus.ensureTopics([{ ...TOPICS.alerts, name: topics2.alerts }]);
      await send(bus, topics.updates, rest);
      const two = await startTestWorker({ bus, db, topics: topics2, config });
      await waitFor(
        async () => await two.metrics.value(two.metrics.processed) >= rest.length,
        "the second worker to process the rest",
      );
      await two.stop();

      const stored = await db.sql<{ id: string }[]>`SELECT id FROM alert_events ORDER BY id`;
      assert.deepEqual(stored.map((r) => r.id), expected.map((a) => a.id).sort());
      assert.ok(expected.some((a) => a.detail.trigger === "leave"), "aircraft also leave");

      const seen: BusMessage[] = [];
      const sub = await bus.subscribe({
        topics: [topics2.alerts],
        ephemeral: true,
        eachBatch: (batch) => {
          seen.push(...batch.messages);
          return Promise.resolve();
        },
      });
      const want = new Set([unsent!.id, ...expectedAfter.map((a) => a.id)]);
      const ids = () =>
        new Set(seen.map((m) => (JSON.parse(new TextDecoder().decode(m.value)) as AlertEvent).id));
      await waitFor(() => ids().size >= want.size, "the second worker's alerts on its topic", {
        deadlineMs: 30_000,
      }).catch(() => {});
      await sub.stop();
      assert.deepEqual([...ids()].sort(), [...want].sort());
      const [left] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM alert_events WHERE published_at IS NULL`;
      assert.equal(left!.n, 0, "every event marked published");
    } finally {
      await bus.close();
      await db.close();
    }
  },
});
