/**
 * The producer against the real Kafka broker (KAFKA_BROKERS; `deno task services`).
 * Every run uses its own topics, so runs do not see each other's messages.
 */
import assert from "node:assert/strict";
import { DeadLetter, FlightStateEnvelope, FlightUpdateEnvelope } from "../contracts/mod.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus, BusMessage } from "../lib/bus/types.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { type ProducerTopics, startProducer } from "../services/producer/mod.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";
import {
  FakeOpenSky,
  realReplies,
  replyWithMalformedRowsDerived,
  waitFor,
} from "./_fake_opensky.ts";

const SWISS = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
).pathname;
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

function uniqueTopics(name: string): ProducerTopics {
  const prefix = `test.producer.${RUN}.${name}`;
  return {
    state: `${prefix}.state`,
    updates: `${prefix}.updates`,
    deadletter: `${prefix}.deadletter`,
  };
}

/** Reads topics from the beginning until `enough` says so. */
async function consume(
  bus: Bus,
  topics: string[],
  enough: (messages: BusMessage[]) => boolean,
): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  const sub = await bus.subscribe({
    topics,
    ephemeral: true,
    eachBatch: (batch) => {
      messages.push(...batch.messages);
      return Promise.resolve();
    },
  });
  try {
    await waitFor(() => enough(messages), { timeoutMs: 30_000, what: "messages from Kafka" });
  } finally {
    await sub.stop();
  }
  return messages;
}

const text = (m: BusMessage) => new TextDecoder().decode(m.value);

Deno.test({
  name:
    "kafka: live polls land on both topics as valid envelopes keyed by icao24; bad rows dead-lettered",
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const [first] = await realReplies();
    const derived = replyWithMalformedRowsDerived(first!);
    const fake = await FakeOpenSky.start({ script: [{ kind: "reply", body: derived.body }] });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: `producer-test-${RUN}` });
    const topics = uniqueTopics("live");
    try {
      const config = parseProducerConfig({
        OPENSKY_MODE: "live",
        OPENSKY_API_URL: fake.apiUrl,
        OPENSKY_AUTH_URL: fake.authUrl,
        OPENSKY_CLIENT_ID: "sky",
        OPENSKY_CLIENT_SECRET: "s3cr3t-value",
        POLL_INTERVAL_SECONDS: "0.2",
      });
      const producer = await startProducer({ config, bus, topics, log: silentLogger });
      const m = producer.metrics;
      await waitFor(async () => (await m.value(m.polls, { status: "ok" })) >= 3, {
        timeoutMs: 30_000,
        what: "3 polls published to Kafka",
      });
      await producer.stop();
      const published = await m.value(m.published, { topic: topics.state });
      const expected = published * 2 + derived.broken;
      const messages = await consume(
        bus,
        [topics.state, topics.updates, topics.deadletter],
        (got) => got.length >= expected,
      );
      assert.equal(messages.length, expected);
      const state = messages.filter((x) => x.topic === topics.state);
      const updates = messages.filter((x) => x.topic === topics.updates);
      const dead = messages.filter((x) => x.topic === topics.deadletter);
      assert.equal(state.length, published);
      assert.equal(updates.length, published);
      for (const x of state) {
        const env = FlightStateEnvelope.parse(JSON.parse(text(x)));
        assert.equal(x.key, env.payload.icao24);
        assert.match(x.key!, /^[0-9a-f]{6}$/);
      }
      for (const x of updates) {
        const env = FlightUpdateEnvelope.parse(JSON.parse(text(x)));
        assert.equal(x.key, env.payload.icao24);
      }
      const records = dead.map((x) => DeadLetter.parse(JSON.parse(text(x))));
      assert.equal(records.length, derived.broken);
      assert.ok(records.every((r) => r.source === "producer" && r.reason.includes("state vector")));
      assert.ok(records.some((r) => r.reason.includes("no position")));
    } finally {
      await bus.close();
      await fake.close();
    }
  },
});

Deno.test({
  name: "kafka: replay is deterministic (same files and options -> same messages per partition)",
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "producer_kafka_" });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: `producer-test-${RUN}` });
    try {
      // The first minute of the Swiss recording (7 snapshots).
      const scenario = `${dir}/swiss_first_minute.json`;
      await Deno.writeTextFile(
        scenario,
        JSON.stringify({ name: "swiss-1min", recordings: [{ file: SWISS, duration_s: 60 }] }),
      );
      const config = parseProducerConfig({
        OPENSKY_MODE: "replay",
        REPLAY_FILES: scenario,
        REPLAY_SPEED: "0",
        REPLAY_LOOP: "false",
        REPLAY_KEEP_TIMES: "true",
      });
      const hashes: string[] = [];
      for (const run of ["a", "b"]) {
        const topics = uniqueTopics(`replay-${run}`);
        const producer = await startProducer({
          config,
          bus,
          topics,
          log: silentLogger,
          progress: false,
          now: () => Date.parse("2026-03-18T09:30:00Z"),
        });
        await producer.done;
        await producer.stop();
        const m = producer.metrics;
        const published = await m.value(m.published, { topic: topics.state });
        assert.ok(published > 200);
        const messages = await consume(
          bus,
          [topics.state, topics.updates],
          (got) => got.length >= published * 2,
        );
        // Per-partition order is Kafka's guarantee; compare within partitions.
        const lines = messages
          .map((x) => ({
            p: `${x.topic === topics.state ? "state" : "updates"}/${x.partition}`,
            o: BigInt(x.offset),
            line: `${x.key}|${text(x)}`,
          }))
          .sort((a, b) => a.p < b.p ? -1 : a.p > b.p ? 1 : a.o < b.o ? -1 : a.o > b.o ? 1 : 0)
          .map((x) => `${x.p}|${x.line}`);
        const digest = await crypto.subtle.digest(
          "SHA-256",
          new TextEncoder().encode(lines.join("\n")),
        );
        hashes.push(
          Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""),
        );
      }
      assert.equal(hashes[0], hashes[1]);
    } finally {
      await bus.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
