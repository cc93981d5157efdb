/**
 * readsb's declared `emergency` feeds the emergency detector end to end, on
 * real components: a local readsb-style aircraft.json server (HTTP) serves
 * the real RYR2RG 1 s cruise, one point per second, and from the third
 * point on declares `"emergency": "minfuel"` while the transponder keeps
 * squawking its ordinary 6675 (no recording carries a declared state, so
 * this is derived data: RYR2RG_minfuel_derived). The producer polls it
 * (SOURCES=http://.../aircraft.json) and publishes to Kafka; the worker
 * reads flights.updates, detects, stores the event in PostgreSQL and
 * publishes it to flights.anomalies. Topics, group and database are this
 * test's own.
 */
import assert from "node:assert/strict";
import { AnomalyEvent } from "../contracts/anomaly.ts";
import { TOPICS } from "../contracts/topics.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus } from "../lib/bus/types.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { freshPostgres } from "./_db.ts";
import { aircraftJsonFor, derivedTrack, startJsonServer } from "./_receiver_feeds.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";
import { startTestWorker, topicsFor, unique, waitFor } from "./_worker_harness.ts";

Deno.test({
  name: "receivers: readsb's emergency (minfuel, squawk 6675) becomes an emergency event via Kafka",
  ignore: skipWithoutKafka() || skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const track = await derivedTrack("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", {
      limit: 30,
    });
    const icao = track[0]!.icao24;
    assert.ok(track.every((f) => f.squawk === "6675"), "the recording squawks 6675 throughout");
    const startedMs = Date.now();
    const json = startJsonServer(() => {
      const k = Math.min(track.length - 1, Math.floor((Date.now() - startedMs) / 1000));
      return aircraftJsonFor([track[k]!], Date.now(), () => k >= 2 ? { emergency: "minfuel" } : {});
    });
    const db = await freshPostgres({ migrate: true });
    const topics = topicsFor("receivers-emergency");
    const state = unique("receivers-emergency.state");
    const buses: Bus[] = [];
    try {
      const producerBus = await openBus({ brokers: kafkaBrokers()!, clientId: unique("producer") });
      buses.push(producerBus);
      await producerBus.ensureTopics([
        { ...TOPICS.state, name: state },
        { ...TOPICS.updates, name: topics.updates },
        { ...TOPICS.anomalies, name: topics.anomalies },
        { ...TOPICS.deadletter, name: topics.deadletter },
      ]);
      const workerBus = await openBus({ brokers: kafkaBrokers()!, clientId: unique("worker") });
      buses.push(workerBus);
      const worker = await startTestWorker({ bus: workerBus, db, topics });
      const producer = await startProducer({
        config: parseProducerConfig({ SOURCES: `${json.url}/data/aircraft.json` }),
        bus: producerBus,
        topics: { state, updates: topics.updates, deadletter: topics.deadletter },
        ensureTopics: false,
        log: silentLogger,
      });
      const events: AnomalyEvent[] = [];
      const sub = await workerBus.subscribe({
        topics: [topics.anomalies],
        ephemeral: true,
        eachBatch: (batch) => {
          for (const m of batch.messages) {
            events.push(AnomalyEvent.parse(JSON.parse(new TextDecoder().decode(m.value))));
          }
          return Promise.resolve();
        },
      });
      try {
        await waitFor(
          () => events.some((e) => e.icao24 === icao && e.kind === "emergency_squawk"),
          "an emergency event on flights.anomalies",
          { deadlineMs: 60_000 },
        );
        const event = events.find((e) => e.icao24 === icao && e.kind === "emergency_squawk")!;
        assert.equal(event.severity, "critical");
        assert.equal(event.evidence.emergency, "minfuel");
        assert.equal(event.evidence.squawk, "6675");
        assert.equal(event.callsign, "RYR2RG");
        // Stored too, with the same id.
        await waitFor(
          async () => {
            const rows = await db.sql`SELECT id FROM anomalies WHERE icao24 = ${icao}`;
            return rows.some((r) => r.id === event.id);
          },
          "the event in PostgreSQL",
          { deadlineMs: 30_000 },
        );
      } finally {
        await sub.stop();
        await producer.stop();
        await worker.stop();
      }
    } finally {
      for (const bus of buses) await bus.close();
      await json.close();
      await db.close();
    }
  },
});
