/**
 * Faults on the real Kafka (KAFKA_BROKERS) and PostgreSQL (DATABASE_URL), with topics,
 * groups and databases of their own (issue #14):
 *
 * - poison input: three 70,000-byte messages of byte 0x01 in one fetch, then a valid
 *   update: every dead letter is bounded, they all reach the dead-letter topic, and the
 *   valid message after them is processed (before the fix each dead letter was ~393 kB,
 *   together over the broker's 1 MB limit, and the partition stalled for good);
 * - lag from the broker: `processing_consumer_lag{topic,partition}` counts what is on the
 *   topic past the group's commit while the worker cannot write (before: 0);
 * - kafkajs under Deno prints no TimeoutNegativeWarning;
 * - the web's bus source started before its topics exist waits (log and hub status) and
 *   reads them once they are created (before: an uncaught KafkaJSProtocolError).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { DeadLetter } from "../contracts/deadletter.ts";
import { TOPICS } from "../contracts/topics.ts";
import { KafkaBus } from "../lib/bus/kafka.ts";
import type { Bus, BusMessage } from "../lib/bus/types.ts";
import { startBusSourceWhenReady } from "../services/web/bus_wait.ts";
import { Hub } from "../services/web/hub.ts";
import { freshPostgres } from "./_db.ts";
import { BASE_CONFIG } from "./_hub_harness.ts";
import {
  recorded,
  startTestWorker,
  STREAM,
  topicsFor,
  unique,
  waitFor,
} from "./_worker_harness.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";

const noServices = skipWithoutKafka() || skipWithoutPostgres();
const options = { ignore: noServices, sanitizeOps: false, sanitizeResources: false };
const stream = await recorded(STREAM.slice(1, 2));

async function kafka(label: string): Promise<KafkaBus> {
  const bus = new KafkaBus({ brokers: kafkaBrokers()!, clientId: unique(label) });
  await bus.connect();
  return bus;
}

/** Every message of `topic` from the beginning (an ephemeral reader). */
async function readAll(bus: Bus, topic: string, count: number): Promise<BusMessage[]> {
  const seen: BusMessage[] = [];
  const sub = await bus.subscribe({
    topics: [topic],
    ephemeral: true,
    eachBatch: (batch) => {
      seen.push(...batch.messages);
      return Promise.resolve();
    },
  });
  try {
    await waitFor(() => seen.length >= count, `${count} messages on ${topic}`, {
      deadlineMs: 60_000,
    });
  } finally {
    await sub.stop();
  }
  return seen;
}

Deno.test({
  name: "faults: three 70,000-byte 0x01 messages in one fetch do not stall the partition",
  ...options,
  fn: async () => {
    const db = await freshPostgres({ migrate: true });
    const bus = await kafka("poison");
    const topics = topicsFor("poison");
    // One partition: the poison and the valid update after it are in one fetch, in order.
    await bus.ensureTopics([
      { ...TOPICS.updates, name: topics.updates, partitions: 1 },
      { ...TOPICS.anomalies, name: topics.anomalies },
      { ...TOPICS.deadletter, name: topics.deadletter },
    ]);
    const poison = new Uint8Array(70_000).fill(0x01);
    const valid = stream.messages[0]!;
    await bus.send([{
      topic: topics.updates,
      messages: [
        { key: "poison", value: poison },
        { key: "poison", value: poison },
        { key: "poison", value: poison },
        valid,
      ],
    }]);
    const worker = await startTestWorker({ bus, db, topics, ensureTopics: false });
    try {
      await waitFor(
        async () => await worker.metrics.value(worker.metrics.processed) >= 1,
        "the valid update after the poison to be processed",
        { deadlineMs: 60_000 },
      );
      const [row] = await db.sql`SELECT count(*)::int AS n FROM flights_history`;
      assert.equal(row!.n, 1, "the valid update was written");
      assert.equal(await worker.metrics.value(worker.metrics.deadletters), 3);
      const letters = await readAll(bus, topics.deadletter, 3);
      assert.equal(letters.length, 3);
      const sha = createHash("sha256").update(poison).digest("hex");
      for (const message of letters) {
        assert.ok(
          message.value.byteLength < 50_000,
          `dead letter of ${message.value.byteLength} B`,
        );
        const record = DeadLetter.parse(JSON.parse(new TextDecoder().decode(message.value)));
        assert.equal(record.raw_bytes, 70_000);
        assert.equal(record.raw_sha256, sha);
        assert.equal(record.raw_truncated, true);
        const kept = Buffer.from(record.raw_base64, "base64");
        assert.ok(kept.length > 0 && kept.every((b) => b === 0x01), "a prefix of the bytes");
        assert.match(record.reason, /JSON parse error/);
      }
    } finally {
      await worker.stop();
      await bus.close();
      await db.close();
    }
  },
});

Deno.test({
  name: "faults: consumer lag per partition comes from the broker while the worker cannot write",
  ...options,
  fn: async () => {
    const db = await freshPostgres({ migrate: true });
    const bus = await kafka("lag");
    const topics = topicsFor("lag");
    await bus.ensureTopics([
      { ...TOPICS.updates, name: topics.updates, partitions: 2 },
      { ...TOPICS.anomalies, name: topics.anomalies },
      { ...TOPICS.deadletter, name: topics.deadletter },
    ]);
    const worker = await startTestWorker({
      bus,
      db,
      topics,
      ensureTopics: false,
    });
    try {
      await waitFor(async () => (await worker.health()).ok, "the worker to join");
      // A transaction holds flights_history locked: the worker's batch waits, nothing commits.
      const released = Promise.withResolvers<void>();
      const holding = db.sql.begin(async (tx) => {
        await tx`LOCK TABLE flights_history IN ACCESS EXCLUSIVE MODE`;
        await released.promise;
      });
      try {
        const sent = stream.messages.slice(0, 400);
        await bus.send([{ topic: topics.updates, messages: sent }]);
        const total = async () => {
          const { values } = await worker.metrics.lag.get();
          return values.reduce((sum, v) => sum + v.value, 0);
        };
        await waitFor(async () => await total() === sent.length, `lag ${sent.length}`, {
          deadlineMs: 60_000,
        });
        const { values } = await worker.metrics.lag.get();
        assert.ok(values.every((v) => v.labels.topic === topics.updates));
        assert.deepEqual(values.map((v) => String(v.labels.partition)).sort(), ["0", "1"]);
        assert.equal(await worker.metrics.value(worker.metrics.processed), 0);
      } finally {
        released.resolve();
        await holding;
      }
    } finally {
      await worker.stop();
      await bus.close();
      await db.close();
    }
  },
});

Deno.test({
  name: "faults: kafkajs under Deno prints no TimeoutNegativeWarning",
  ...options,
  fn: async () => {
    const script = `
      import { KafkaBus } from "${new URL("../lib/bus/kafka.ts", import.meta.url)}";
      const bus = new KafkaBus({ brokers: ${JSON.stringify(kafkaBrokers())}, clientId: "tnw" });
      await bus.connect();
      await bus.missingTopics(["flights.state"]);
      await bus.close();
      Deno.exit(0);
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", "--no-check", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, /TimeoutNegativeWarning/);
  },
});

Deno.test({
  name: "faults: the web's bus source waits for topics that do not exist yet, then reads them",
  ...options,
  fn: async () => {
    const bus = await kafka("wait");
    const topics = {
      state: unique("wait.state"),
      anomalies: unique("wait.anomalies"),
      deadletter: unique("wait.deadletter"),
    };
    const hub = new Hub({ config: BASE_CONFIG, logger: { info() {}, warn() {} } });
    hub.start();
    const lines: string[] = [];
    const source = startBusSourceWhenReady(hub, bus, {
      anomalyWindowHours: 24,
      topics,
      retryMs: 200,
      log: (line) => lines.push(line),
    });
    try {
      await waitFor(
        () => /waiting for topics/.test(hub.stats().source?.detail ?? ""),
        "the hub to say it waits for the topics",
        { deadlineMs: 30_000 },
      );
      assert.equal(hub.stats().ready, false);
      assert.ok(lines.some((l) => l.includes(topics.state)), lines.join("\n"));
      await bus.ensureTopics([
        { ...TOPICS.state, name: topics.state },
        { ...TOPICS.anomalies, name: topics.anomalies },
        { ...TOPICS.deadletter, name: topics.deadletter },
      ]);
      await waitFor(() => hub.stats().ready, "the hub to read the new topics", {
        deadlineMs: 60_000,
      });
      assert.ok(source.ready);
    } finally {
      await source.stop();
      await hub.stop();
      await bus.close();
    }
  },
});
