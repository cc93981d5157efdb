/**
 * One suite for both bus adapters ({@link busSuite}): the memory bus always,
 * Kafka when KAFKA_BROKERS is set (or CI=true). Every test creates its own
 * topics and groups with a per-run suffix, so runs never see each other.
 * Deadlines only bound the waiting (30 s); nothing asserts on timing.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { DeadLetter, DEADLETTER_RAW_LIMIT } from "../contracts/deadletter.ts";
import type { TopicSpec } from "../contracts/topics.ts";
import { buildDeadLetter, decodeMessage, subscribeValidated } from "../lib/bus/deadletter.ts";
import { KafkaBus } from "../lib/bus/kafka.ts";
import { MemoryBus, partitionForKey } from "../lib/bus/memory.ts";
import { openBus, shareMemoryBus } from "../lib/bus/mod.ts";
import type { Bus, BusBatch, BusMessage, BusSubscription } from "../lib/bus/types.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";

const RUN = crypto.randomUUID().slice(0, 8);
let counter = 0;
const unique = (label: string) => `test.bus.${label}.${RUN}.${counter++}`;

function spec(name: string, partitions: number, config: Record<string, string> = {}): TopicSpec {
  return { name, key: "icao24", partitions, config: { "cleanup.policy": "delete", ...config } };
}

const decoder = new TextDecoder();
const text = (m: BusMessage) => decoder.decode(m.value);
const json = (m: BusMessage) => JSON.parse(text(m));
const id = (m: BusMessage) => `${m.topic}/${m.partition}/${m.offset}`;

const DEADLINE_MS = 30_000;

/** Polls `done` until it holds; fails with `what` after the deadline (a bound, not a timing check). */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`gave up after ${DEADLINE_MS} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Collects every delivered message. */
function collector() {
  const seen: BusMessage[] = [];
  return {
    seen,
    eachBatch: (batch: BusBatch) => {
      seen.push(...batch.messages);
      return Promise.resolve();
    },
  };
}

function assertUnique(messages: BusMessage[], what: string): void {
  const ids = messages.map(id);
  assert.equal(new Set(ids).size, ids.length, `${what}: a message was delivered twice`);
}

/** Both members hold partitions, none twice, all `partitions` of `topic` between them. */
function balanced(subs: BusSubscription[], topic: string, partitions: number): boolean {
  if (!subs.every((s) => s.ready && (s.assignments?.() ?? []).length > 0)) return false;
  const held = subs.flatMap((s) => s.assignments!().filter((tp) => tp.topic === topic));
  const distinct = new Set(held.map((tp) => tp.partition));
  return held.length === partitions && distinct.size === partitions;
}

/** Registers the shared cases for one adapter. */
function busSuite(
  name: string,
  makeBus: () => Promise<Bus>,
  options: { ignore?: boolean; kafka?: boolean } = {},
): void {
  const test = (title: string, fn: (bus: Bus) => Promise<void>) =>
    Deno.test({
      name: `${name} bus: ${title}`,
      ignore: options.ignore ?? false,
      // kafkajs leaves timers and sockets behind after disconnect().
      sanitizeOps: !options.kafka,
      sanitizeResources: !options.kafka,
      async fn() {
        const bus = await makeBus();
        try {
          await fn(bus);
        } finally {
          await bus.close();
        }
      },
    });

  test("one send to several topics; a group reads all of them in per-key order", async (bus) => {
    const [a, b] = [unique("multi-a"), unique("multi-b")];
    await bus.ensureTopics([spec(a, 3), spec(b, 2)]);
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    for (let round = 0; round < 5; round++) {
      await bus.send([a, b].map((topic) => ({
        topic,
        messages: keys.flatMap((key) =>
          [0, 1].map((j) => ({
            key,
            value: JSON.stringify({ key, n: round * 2 + j }),
            headers: { round: String(round) },
          }))
        ),
      })));
    }
    const c = collector();
    await bus.subscribe({
      groupId: unique("group"),
      topics: [a, b],
      fromBeginning: true,
      eachBatch: c.eachBatch,
    });
    await waitFor(() => c.seen.length >= 160, "160 messages from two topics");
    assertUnique(c.seen, "multi-topic");
    assert.equal(c.seen.length, 160);
    for (const topic of [a, b]) {
      for (const key of keys) {
        const mine = c.seen.filter((m) => m.topic === topic && m.key === key);
        assert.deepEqual(
          mine.map((m) => json(m).n),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
          `${topic} ${key}`,
        );
        assert.deepEqual(mine.map((m) => m.headers.round), [
          "0",
          "0",
          "1",
          "1",
          "2",
          "2",
          "3",
          "3",
          "4",
          "4",
        ]);
      }
    }
    // Offsets grow within each partition in delivery order.
    const last = new Map<string, bigint>();
    for (const m of c.seen) {
      const tp = `${m.topic}/${m.partition}`;
      assert.ok(BigInt(m.offset) > (last.get(tp) ?? -1n), `offsets out of order on ${tp}`);
      last.set(tp, BigInt(m.offset));
    }
  });

  test("same key, same partition: the one Kafka's murmur2 partitioner picks", async (bus) => {
    const topic = unique("keys");
    await bus.ensureTopics([spec(topic, 5)]);
    // icao24 addresses from the Switzerland recording in fixtures/.
    const keys = ["4b1805", "4b1a1b", "3c6444", "4b1617", "440170", "4b1901", "4ca7b5", "3c4b26"];
    for (let round = 0; round < 3; round++) {
      await bus.send([{ topic, messages: keys.map((key) => ({ key, value: `${key}:${round}` })) }]);
    }
    const c = collector();
    await bus.subscribe({
      groupId: unique("group"),
      topics: [topic],
      fromBeginning: true,
      eachBatch: c.eachBatch,
    });
    await waitFor(() => c.seen.length >= 24, "24 keyed messages");
    for (const key of keys) {
      const mine = c.seen.filter((m) => m.key === key);
      assert.equal(mine.length, 3);
      assert.deepEqual(new Set(mine.map((m) => m.partition)), new Set([partitionForKey(key, 5)]));
      assert.deepEqual(mine.map(text), [0, 1, 2].map((r) => `${key}:${r}`));
    }
    assert.ok(new Set(c.seen.map((m) => m.partition)).size > 1, "keys spread over partitions");
  });

  test("two members of one group split the partitions and see each message once", async (bus) => {
    const topic = unique("split");
    await bus.ensureTopics([spec(topic, 4)]);
    const group = unique("group");
    const [c1, c2] = [collector(), collector()];
    const sub1 = await bus.subscribe({ groupId: group, topics: [topic], eachBatch: c1.eachBatch });
    const sub2 = await bus.subscribe({ groupId: group, topics: [topic], eachBatch: c2.eachBatch });
    await waitFor(() => balanced([sub1, sub2], topic, 4), "both members to hold partitions");
    const keys = Array.from({ length: 40 }, (_, i) => `aa${String(i).padStart(4, "0")}`);
    for (let round = 0; round < 5; round++) {
      await bus.send([{ topic, messages: keys.map((key) => ({ key, value: `${round}` })) }]);
    }
    await waitFor(() => c1.seen.length + c2.seen.length >= 200, "200 messages across the group");
    assertUnique([...c1.seen, ...c2.seen], "group of two");
    assert.equal(c1.seen.length + c2.seen.length, 200);
    assert.ok(c1.seen.length > 0 && c2.seen.length > 0, "both members got work");
    for (const [sub, c] of [[sub1, c1], [sub2, c2]] as const) {
      const held = new Set(sub.assignments!().map((tp) => tp.partition));
      assert.ok(c.seen.every((m) => held.has(m.partition)), "a member read a partition it lacks");
    }

    // The survivor takes over when a member leaves, from the committed positions.
    await sub2.stop();
    await waitFor(
      () => sub1.assignments!().length === 4 && sub1.ready,
      "rebalance onto one member",
    );
    await bus.send([{ topic, messages: keys.map((key) => ({ key, value: "after" })) }]);
    await waitFor(() => c1.seen.filter((m) => text(m) === "after").length >= 40, "40 more");
    assertUnique([...c1.seen, ...c2.seen], "after the rebalance");
    assert.equal(c1.seen.length + c2.seen.length, 240);
  });

  test("two different groups each see every message", async (bus) => {
    const topic = unique("fanout");
    await bus.ensureTopics([spec(topic, 3)]);
    await bus.send([{
      topic,
      messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: `${i}` })),
    }]);
    const [c1, c2] = [collector(), collector()];
    for (const c of [c1, c2]) {
      await bus.subscribe({
        groupId: unique("group"),
        topics: [topic],
        fromBeginning: true,
        eachBatch: c.eachBatch,
      });
    }
    await waitFor(() => c1.seen.length >= 60 && c2.seen.length >= 60, "60 messages in each group");
    for (const c of [c1, c2]) {
      assertUnique(c.seen, "per group");
      assert.deepEqual(c.seen.map(text).map(Number).sort((x, y) => x - y), [...Array(60).keys()]);
    }
  });

  test("a failed batch comes again, commits only after success, resumes after restart", async (bus) => {
    const topic = unique("retry");
    await bus.ensureTopics([spec(topic, 1)]);
    const group = unique("group");
    const send = (from: number, to: number) =>
      bus.send([{
        topic,
        messages: Array.from({ length: to - from }, (_, i) => ({ key: "k", value: `${from + i}` })),
      }]);
    await send(0, 10);
    let failed: string[] | undefined;
    const errors: unknown[] = [];
    const delivered: BusMessage[] = [];
    const sub = await bus.subscribe({
      groupId: group,
      topics: [topic],
      fromBeginning: true,
      onError: (error) => errors.push(error),
      eachBatch: (batch) => {
        if (!failed) {
          failed = batch.messages.map(id);
          return Promise.reject(new Error("handler failure (test)"));
        }
        delivered.push(...batch.messages);
        return Promise.resolve();
      },
    });
    await waitFor(() => delivered.length >= 10, "10 messages after the retry");
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /handler failure \(test\)/);
    assert.ok(failed && failed.length > 0);
    assert.deepEqual(delivered.slice(0, failed.length).map(id), failed, "the same messages again");
    assert.deepEqual(delivered.map(text), [...Array(10).keys()].map(String));
    await waitFor(() => sub.lag() === 0, "lag 0");
    await sub.stop();

    await send(10, 15);
    const again = collector();
    // fromBeginning must not matter now: the group has committed offsets.
    await bus.subscribe({ groupId: group, topics: [topic], fromBeginning: true, ...again });
    await waitFor(() => again.seen.length >= 5, "5 new messages");
    // One partition, in order: had anything committed come again, it would come first.
    assert.deepEqual(again.seen.map(text), ["10", "11", "12", "13", "14"]);
    assert.equal(again.seen[0]!.offset, "10");
  });

  test("ephemeral subscriptions read from the beginning and commit nothing", async (bus) => {
    const topic = unique("ephemeral");
    await bus.ensureTopics([spec(topic, 2)]);
    await bus.send([{
      topic,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `${i}` })),
    }]);
    for (let pass = 0; pass < 2; pass++) {
      const c = collector();
      const sub = await bus.subscribe({ topics: [topic], ephemeral: true, ...c });
      await waitFor(() => c.seen.length >= 20, `pass ${pass}: 20 messages`);
      await waitFor(() => sub.ready && sub.lag() === 0, `pass ${pass}: ready, lag 0`);
      assertUnique(c.seen, "ephemeral");
      assert.deepEqual(c.seen.map(text).map(Number).sort((x, y) => x - y), [...Array(20).keys()]);
      for (const p of [0, 1]) {
        const first = c.seen.find((m) => m.partition === p);
        if (first) assert.equal(first.offset, "0", `partition ${p} read from its start`);
      }
      await sub.stop();
    }
  });

  test("a compacted topic keeps (at least) the latest message per key", async (bus) => {
    const topic = unique("compact");
    await bus.ensureTopics([spec(topic, 2, { "cleanup.policy": "compact" })]);
    const keys = Array.from({ length: 10 }, (_, i) => `c0ffe${i}`);
    for (let round = 0; round < 3; round++) {
      await bus.send([{ topic, messages: keys.map((key) => ({ key, value: `${key}@${round}` })) }]);
    }
    const read = async () => {
      const c = collector();
      const sub = await bus.subscribe({ topics: [topic], ephemeral: true, ...c });
      await waitFor(() => sub.ready && sub.lag() === 0 && c.seen.length >= 10, "the whole topic");
      await sub.stop();
      return c.seen;
    };
    const before = await read();
    // The compaction view: the last message read per key is the latest one written.
    const latest = new Map(before.map((m) => [m.key, m]));
    assert.deepEqual([...latest.values()].map(text).sort(), keys.map((k) => `${k}@2`));

    if (bus instanceof MemoryBus) {
      assert.equal(bus.compact(topic), 20);
      const after = await read();
      assert.equal(after.length, 10);
      // Offsets survive compaction: exactly the latest messages, where they were.
      assert.deepEqual(after.map(id).sort(), [...latest.values()].map(id).sort());
      await assert.rejects(
        bus.send([{ topic, messages: [{ key: null, value: "x" }] }]),
        /needs a key/,
      );
    } else if (bus instanceof KafkaBus) {
      const config = await bus.topicConfig(topic);
      assert.equal(config["cleanup.policy"], "compact");
    }
  });

  test("subscribeValidated dead-letters bad JSON and schema violations, carries on", async (bus) => {
    const [input, dlq] = [unique("validated"), unique("deadletter")];
    await bus.ensureTopics([spec(input, 1), { ...spec(dlq, 1), key: "source" }]);
    const send = (values: string[]) =>
      bus.send([{ topic: input, messages: values.map((value) => ({ key: "4b1805", value })) }]);
    await send(['{"n":0}', "not json {", '{"n":"one"}', '{"n":1}', '{"n":2}']);

    const dead: { record: DeadLetter; key: string | null }[] = [];
    await bus.subscribe({
      topics: [dlq],
      ephemeral: true,
      eachBatch: (batch) => {
        for (const m of batch.messages) {
          dead.push({ record: DeadLetter.parse(json(m)), key: m.key });
        }
        return Promise.resolve();
      },
    });
    const handled: number[] = [];
    await subscribeValidated(bus, {
      groupId: unique("group"),
      topic: input,
      fromBeginning: true,
      source: "bus-test",
      deadletterTopic: dlq,
      schema: z.object({ n: z.number().int().nonnegative() }),
      handle: (items) => {
        handled.push(...items.map((item) => item.value.n));
        return Promise.resolve();
      },
    });
    await waitFor(() => handled.length >= 3 && dead.length >= 2, "3 valid, 2 dead letters");
    assert.deepEqual(handled, [0, 1, 2]);
    const [bad, wrong] = dead.map((d) => d.record);
    assert.match(bad!.reason, /^JSON parse error: /);
    assert.equal(bad!.raw, "not json {");
    assert.match(wrong!.reason, /^schema violation: n: /);
    assert.equal(wrong!.raw, '{"n":"one"}');
    for (const { record, key } of dead) {
      assert.equal(record.source, "bus-test");
      assert.equal(record.topic, input);
      assert.equal(record.key, "4b1805");
      assert.equal(key, "bus-test", "dead letters are keyed by source");
    }

    await send(["[]", '{"n":3}']);
    await waitFor(() => handled.length >= 4 && dead.length >= 3, "the consumer carried on");
    assert.deepEqual(handled, [0, 1, 2, 3]);
    assert.match(dead[2]!.record.reason, /^schema violation: \(root\): /);
  });
}

busSuite("memory", () => Promise.resolve(new MemoryBus()));
busSuite(
  "kafka",
  async () => {
    const bus = new KafkaBus({ brokers: kafkaBrokers() ?? [], clientId: `bus-test-${RUN}` });
    await bus.connect();
    return bus;
  },
  { ignore: skipWithoutKafka(), kafka: true },
);

// Memory-bus specifics: the bounds that keep the embedded stack's memory flat.

Deno.test("memory bus: retention keeps the newest messages; a lagging group skips ahead", async () => {
  const bus = new MemoryBus({ maxMessagesPerPartition: 10 });
  try {
    await bus.ensureTopics([spec("r", 1)]);
    for (let i = 0; i < 25; i++) {
      await bus.send([{ topic: "r", messages: [{ key: "k", value: `${i}` }] }]);
    }
    assert.deepEqual(
      bus.retained("r").map((m) => m.offset),
      [...Array(10).keys()].map((i) => `${15 + i}`),
    );
    const c = collector();
    await bus.subscribe({ groupId: "g", topics: ["r"], fromBeginning: true, ...c });
    await waitFor(() => c.seen.length >= 10, "the retained messages");
    assert.deepEqual(c.seen.map(text), [...Array(10).keys()].map((i) => `${15 + i}`));
  } finally {
    await bus.close();
  }
});

Deno.test("memory bus: a compacted partition compacts itself past 2 x keys + slack", async () => {
  const bus = new MemoryBus({ compactionSlack: 5 });
  try {
    await bus.ensureTopics([spec("c", 1, { "cleanup.policy": "compact" })]);
    for (let round = 0; round < 20; round++) {
      await bus.send([{
        topic: "c",
        messages: ["a", "b", "c"].map((key) => ({ key, value: `${round}` })),
      }]);
      assert.ok(bus.retained("c").length <= 2 * 3 + 5, "bounded after each send");
    }
    const kept = bus.retained("c");
    for (const key of ["a", "b", "c"]) {
      assert.equal(text(kept.filter((m) => m.key === key).at(-1)!), "19");
    }
    assert.equal(kept.at(-1)!.offset, "59", "offsets keep counting");
  } finally {
    await bus.close();
  }
});

Deno.test("memory bus: unknown topics fail after ensureTopics; handlers never run inside send", async () => {
  const bus = new MemoryBus();
  try {
    await bus.send([{ topic: "implicit", messages: [{ key: "k", value: "v" }] }]);
    assert.equal(bus.retained("implicit").length, 1);
    await bus.ensureTopics([spec("known", 2)]);
    await assert.rejects(bus.send([{ topic: "typo", messages: [] }]), /unknown topic "typo"/);
    await assert.rejects(
      bus.subscribe({ topics: ["typo"], ephemeral: true, ...collector() }),
      /unknown topic/,
    );

    let sending = false;
    const inside: boolean[] = [];
    await bus.subscribe({
      topics: ["known"],
      ephemeral: true,
      eachBatch: () => {
        inside.push(sending);
        return Promise.resolve();
      },
    });
    sending = true;
    const sent = bus.send([{ topic: "known", messages: [{ key: "k", value: "v" }] }]);
    sending = false;
    await sent;
    await waitFor(() => inside.length === 1, "the delivery");
    assert.deepEqual(inside, [false]);
  } finally {
    await bus.close();
  }
});

Deno.test("memory bus: stop waits for the handler in flight; close is idempotent", async () => {
  const bus = new MemoryBus();
  await bus.ensureTopics([spec("s", 1)]);
  const { promise: release, resolve } = Promise.withResolvers<void>();
  let started = false;
  let finished = false;
  const sub = await bus.subscribe({
    groupId: "g",
    topics: ["s"],
    fromBeginning: true,
    eachBatch: async () => {
      started = true;
      await release;
      finished = true;
    },
  });
  await bus.send([{ topic: "s", messages: [{ key: "k", value: "v" }] }]);
  await waitFor(() => started, "the handler to start");
  let stopped = false;
  const stopping = sub.stop().then(() => stopped = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(stopped, false, "stop() returned while the handler ran");
  resolve();
  await stopping;
  assert.ok(finished);
  await Promise.all([bus.close(), bus.close()]);
  await bus.close();
  assert.equal(bus.healthy(), false);
  await assert.rejects(bus.send([]), /closed/);
});

Deno.test("openBus: a handle on the shared memory bus closes only its own subscriptions", async () => {
  const shared = new MemoryBus();
  try {
    const producer = await openBus({ clientId: "producer", memory: shared });
    const hub = shareMemoryBus(shared);
    assert.ok((await openBus({ clientId: "alone" })) instanceof MemoryBus, "no brokers, no memory");
    assert.equal(hub.kind, "memory");
    const c = collector();
    await hub.subscribe({ topics: ["t"], ephemeral: true, ...c });
    await producer.send([{ topic: "t", messages: [{ key: "k", value: "1" }] }]);
    await waitFor(() => c.seen.length === 1, "delivery across handles");
    await producer.close();
    assert.equal(producer.healthy(), false);
    assert.equal(hub.healthy(), true);
    await shared.send([{ topic: "t", messages: [{ key: "k", value: "2" }] }]);
    await waitFor(() => c.seen.length === 2, "the hub still subscribed");
    await hub.close();
  } finally {
    await shared.close();
  }
});

Deno.test("dead letters: fields are cut to the contract's limits; bad UTF-8 is a reason", () => {
  const record = buildDeadLetter({
    source: "s".repeat(100),
    topic: null,
    key: null,
    reason: "r".repeat(5000),
    raw: "x".repeat(DEADLETTER_RAW_LIMIT + 10),
    at: new Date("2018-08-01T11:30:00.000Z"),
  });
  assert.equal(record.raw.length, DEADLETTER_RAW_LIMIT);
  assert.equal(record.source.length, 64);
  assert.equal(record.reason.length, 4096);
  assert.equal(record.at, "2018-08-01T11:30:00.000Z");
  DeadLetter.parse(record);

  const message: BusMessage = {
    topic: "t",
    partition: 0,
    offset: "0",
    key: null,
    value: new Uint8Array([0x7b, 0xff, 0x7d]),
    timestamp: 0,
    headers: {},
  };
  const decoded = decodeMessage(message, z.unknown());
  assert.equal(decoded.ok, false);
  assert.match(!decoded.ok ? decoded.reason : "", /^UTF-8 decode error/);
  // A real U+FFFD (valid UTF-8: EF BF BD) is text like any other; invalid bytes next to one
  // are still refused (decodeMessage decodes lossily first, strictly when it sees U+FFFD).
  const replacement = { ...message, value: new TextEncoder().encode('{"c":"\uFFFDx"}') };
  assert.deepEqual(decodeMessage(replacement, z.unknown()), { ok: true, value: { c: "\uFFFDx" } });
  const both = { ...message, value: new Uint8Array([0x22, 0xef, 0xbf, 0xbd, 0xc3, 0x22]) };
  const bad = decodeMessage(both, z.unknown());
  assert.match(!bad.ok ? bad.reason : "", /^UTF-8 decode error/);
});
