/**
 * Data freshness with a stopped producer: the real producer replays a real
 * recording (times shifted to now) into the real worker on PostgreSQL; while
 * it runs, processing_freshness_seconds{source="replay"} stays small and
 * `/healthz` says ok; once it is stopped and more than 60 s pass (the
 * clock is moved on instead of sleeping), the age grows past 60 s
 * and the worker's health says `degraded` with the reason, until the
 * producer runs again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBus } from "../lib/bus/memory.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { freshPostgres } from "./_db.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { startTestWorker, topicsFor, waitFor } from "./_worker_harness.ts";

const RECORDING = "fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl";

Deno.test({
  name: "worker freshness: a stopped producer makes the data stale and the worker degraded",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    const bus = new MemoryBus();
    const topics = topicsFor("freshness");
    let skew = 0;
    const now = () => Date.now() + skew;
    const config = parseProducerConfig({
      REPLAY_FILES: RECORDING,
      REPLAY_SPEED: "1",
      REPLAY_LOOP: "true",
      LOG_LEVEL: "warn",
    });
    const producerTopics = {
      state: `${topics.updates}.state`,
      updates: topics.updates,
      deadletter: topics.deadletter,
    };
    // The producer shifts the recording to its clock: the same one as the worker's.
    const start = () =>
      startProducer({
        config,
        bus,
        topics: producerTopics,
        log: silentLogger,
        progress: false,
        now,
      });
    try {
      const worker = await startTestWorker({ bus, db, topics, degradeOnStaleData: true, now });
      const age = async () => {
        const text = await worker.metrics.registry.metrics();
        const m = /^processing_freshness_seconds\{source="replay"\} ([\d.e+-]+)$/m.exec(text);
        return m ? Number(m[1]) : null;
      };
      let producer = await start();
      await waitFor(async () => (await age()) !== null, "a first batch written", {
        deadlineMs: 60_000,
      });
      assert.ok((await age())! < 60, `fresh while the producer runs: ${await age()} s`);
      assert.deepEqual(await worker.health(), { ok: true, reason: "ok" });

      await producer.stop();
      // Past the last position written: 61 s later on the worker's clock.
      skew = 61_000 + 10_000;
      const stale = await age();
      assert.ok(stale !== null && stale > 60, `stale after the producer stopped: ${stale} s`);
      const health = await worker.health();
      assert.equal(health.ok, true, "still serving");
      assert.equal(health.degraded, true);
      assert.match(health.reason, /newest replay position is \d+ s old \(limit 60 s\)/);

      // The producer back (on the same moved clock): fresh positions, healthy again.
      producer = await start();
      await waitFor(async () => (await worker.health()).reason === "ok", "healthy again", {
        deadlineMs: 60_000,
      });
      await producer.stop();
      await worker.stop();
    } finally {
      await bus.close();
      await db.close();
    }
  },
});
