/**
 * The hub's WebSocket protocol end to end through the bus: envelopes built
 * from the real Switzerland recording (by the producer's own
 * `buildPollMessages`) go through the memory bus, and through the real
 * Kafka broker (KAFKA_BROKERS, always in CI), into a hub served by
 * `Deno.serve`; real WebSocket clients check snapshot then deltas, seq
 * continuity, server-side filters, MessagePack, shared encoding per bucket,
 * out-of-order rejection, resync, ping and staleness removal.
 *
 * Waits are bounded; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import type { DeadLetter } from "../contracts/deadletter.ts";
import type { Flight, Source } from "../contracts/flight.ts";
import { TOPICS } from "../contracts/topics.ts";
import {
  BINARY_SUBPROTOCOL,
  JSON_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  type ServerMessage,
  type Subscription,
} from "../contracts/ws.ts";
import type { Bus } from "../lib/bus/types.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { openBus } from "../lib/bus/mod.ts";
import { encode } from "../lib/hub/codec.ts";
import { viewPredicate } from "../lib/hub/buckets.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { type HubTopics, startBusSource } from "../services/web/hub_sources.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";
import {
  Clock,
  connect,
  HOLDING,
  landed,
  metric,
  replies,
  serveHub,
  T0,
  type TestClient,
  waitFor,
} from "./_hub_harness.ts";

function uniqueTopics(): HubTopics & { updates: string } {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  return {
    state: `test.hub.${run}.state`,
    updates: `test.hub.${run}.updates`,
    anomalies: `test.hub.${run}.anomalies`,
    deadletter: `test.hub.${run}.deadletter`,
  };
}

const SOURCE: Source = {
  provider: "opensky",
  mode: "replay",
  bbox: [45.82, 5.96, 47.81, 10.49],
  poll_interval_s: 10,
};

async function conformance(bus: Bus): Promise<void> {
  const topics = uniqueTopics();
  await bus.ensureTopics([
    { ...TOPICS.state, name: topics.state },
    { ...TOPICS.updates, name: topics.updates },
    { ...TOPICS.anomalies, name: topics.anomalies },
    { ...TOPICS.deadletter, name: topics.deadletter },
  ]);
  const shift = Math.floor(Date.now() / 1000) - T0;
  const publish = async (k: number) => {
    const { batch, flights } = buildPollMessages(replies[k]!, {
      source: SOURCE,
      producedAt: new Date().toISOString(),
      shiftSeconds: shift,
      topics,
    });
    await bus.send(batch);
    return flights;
  };
  const clock = new Clock();
  // Replay at speed: snapshot k is played when the hub's clock says T0 + 10 k s.
  const play = async (k: number) => {
    clock.offsetMs = k * 10_000;
    const flights = await publish(k);
    await waitFor(() => landed(hub, flights), `snapshot ${k} to reach the hub`);
    return flights;
  };
  let deltaEncodes = 0;
  const served = serveHub({
    now: clock.now,
    encode: (m, e) => {
      if (m.type === "delta") deltaEncodes++;
      return encode(m, e);
    },
  });
  const { hub, registry } = served;
  await publish(0);
  await publish(1);
  await bus.send([{ topic: topics.state, messages: [{ key: "garbage", value: "{not json" }] }]);
  // Anomalies: one in the window, one that ended two days ago (outside it).
  const old = {
    ...HOLDING,
    id: "484506-holding-old",
    ended_at: new Date(Date.now() - 48 * 3_600_000).toISOString(),
  };
  await bus.send([{
    topic: topics.anomalies,
    messages: [old, HOLDING].map((e) => ({ key: e.icao24, value: JSON.stringify(e) })),
  }]);
  const source = await startBusSource(hub, bus, {
    anomalyWindowHours: 24,
    topics,
    readinessPollMs: 20,
  });
  const clients: TestClient[] = [];
  try {
    await waitFor(() => hub.stats().ready, "the hub to catch up with the state topic", 60_000);
    await waitFor(() => hub.snapshot().length > 0, "the first tick");
    // The garbage on the state topic went to the dead-letter topic; reading carried on.
    const deadLetters: DeadLetter[] = [];
    const dlq = await bus.subscribe({
      topics: [topics.deadletter],
      ephemeral: true,
      eachBatch: (batch) => {
        for (const m of batch.messages) {
          deadLetters.push(JSON.parse(new TextDecoder().decode(m.value)));
        }
        return Promise.resolve();
      },
    });
    await waitFor(() => deadLetters.length > 0, "the dead letter", 30_000);
    await dlq.stop();
    assert.equal(deadLetters[0]!.source, "hub");
    assert.equal(deadLetters[0]!.key, "garbage");
    assert.match(deadLetters[0]!.reason, /JSON/);

    const bbox: Subscription = { bbox: [46.0, 6.5, 47.2, 8.9] };
    const filters: [string[] | undefined, Subscription][] = [
      [undefined, {}],
      [[JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL], {}],
      [[MSGPACK_SUBPROTOCOL], bbox],
      [[MSGPACK_SUBPROTOCOL], bbox],
      [[JSON_SUBPROTOCOL], { min_altitude_m: 11_000, on_ground: false, callsign_prefix: "e" }],
      [undefined, { on_ground: true }],
      [[BINARY_SUBPROTOCOL, MSGPACK_SUBPROTOCOL], {}],
      [[BINARY_SUBPROTOCOL], bbox],
    ];
    for (const [protocols] of filters) clients.push(await connect(served.url, protocols));
    const [all, packed, box, , high, ground, bin, binBox] = clients as [
      TestClient,
      ...TestClient[],
    ];
    assert.equal(all.received[0]?.type, "hello");
    // The first snapshot waits (up to 250 ms) for a subscribe; nothing comes between it and hello.
    await waitFor(() => all.received.length >= 2, "the first snapshot");
    assert.equal(all.received[1]?.type, "snapshot", "the snapshot comes right after hello");
    // The anomaly in the window follows the snapshot; the old one is not sent.
    await waitFor(() => hub.stats().anomalies === 1, "the anomaly from the bus");
    const late = await connect(served.url);
    clients.push(late);
    await late.next("snapshot");
    assert.deepEqual((await late.next("anomaly")).event, HOLDING);
    const hello = all.received[0] as Extract<ServerMessage, { type: "hello" }>;
    assert.equal(hello.encoding, "json");
    assert.equal(hello.source, bus.kind);
    assert.equal(packed!.socket.protocol, MSGPACK_SUBPROTOCOL);
    assert.equal((packed!.received[0] as { encoding: string }).encoding, "msgpack");
    assert.equal(bin!.socket.protocol, BINARY_SUBPROTOCOL);
    assert.deepEqual(
      [
        (bin!.received[0] as { encoding: string }).encoding,
        (bin!.received[0] as { protocol: number }).protocol,
      ],
      ["bin", 2],
    );

    for (const [i, [, filter]] of filters.entries()) {
      if (Object.keys(filter).length > 0) clients[i]!.send({ type: "subscribe", filter });
    }
    const converge = async (what: string) => {
      for (const [i, [, filter]] of filters.entries()) {
        await waitFor(
          // A bbox is rounded out to the hub's tiles (docs/protocol.md).
          () => clients[i]!.sees(hub.snapshot().filter(viewPredicate(filter))),
          `${what}: ${JSON.stringify(filter)}`,
        );
      }
    };
    await converge("after subscribing");
    let published: Flight[] = [];
    for (let k = 2; k < 8; k++) {
      published = await play(k);
      await converge(`snapshot ${k}`);
    }
    // What the producer's envelope builder published (with its `source: "replay"`), as sent.
    const latest = new Map(published.map((f) => [f.icao24, f]));
    assert.ok([...latest.values()].every((f) => f.source === "replay"));
    assert.ok(all.view.flights.size >= latest.size);
    for (const f of latest.values()) assert.deepEqual(all.view.flights.get(f.icao24), f);
    const boxed = [...box!.view.flights.values()];
    assert.ok(boxed.length > 0 && boxed.length < all.view.flights.size, "the bbox filters");
    assert.ok(boxed.every(viewPredicate(bbox)));
    for (const f of hub.snapshot(bbox)) assert.ok(box!.view.flights.has(f.icao24));
    // The binary clients hold the same aircraft, quantised; their frames are far smaller.
    assert.deepEqual([...bin!.view.flights.keys()].sort(), [...all.view.flights.keys()].sort());
    assert.deepEqual([...binBox!.view.flights.keys()].sort(), [...box!.view.flights.keys()].sort());
    assert.ok(
      bin!.bytes * 5 < packed!.bytes,
      `${bin!.bytes} B binary vs ${packed!.bytes} B msgpack`,
    );
    const highs = [...high!.view.flights.values()];
    assert.ok(
      highs.length > 0 && highs.every((f) => f.altitude_m! >= 11_000 && /^E/.test(f.callsign!)),
    );
    assert.equal(ground!.view.flights.size, 0, "the recording has no aircraft on the ground");

    // Clients with the same filter share their bucket's frames: one encode per bucket, not per client.
    const { seq, buckets } = hub.stats();
    assert.equal(buckets, 4);
    assert.ok(deltaEncodes <= seq * buckets * 2, `${deltaEncodes} delta encodes in ${seq} ticks`);
    assert.ok(
      clients.reduce((n, c) => n + c.deltas, 0) > deltaEncodes,
      "encoded deltas are shared",
    );

    // Out of order: snapshot 3 again changes nothing and is counted; a bad message went to the dead letter.
    const outOfOrder = () =>
      metric(registry, "hub_rejected_updates_total", { reason: "out_of_order" });
    const before = await outOfOrder();
    await publish(3);
    await waitFor(async () => await outOfOrder() > before, "out-of-order updates to be counted");
    await converge("after out-of-order updates");
    for (const f of latest.values()) assert.deepEqual(all.view.flights.get(f.icao24), f);

    all.skipReceived();
    all.send({ type: "ping", id: "p-1" });
    assert.equal((await all.next("pong")).id, "p-1");
    const seqBefore = box!.view.seq!;
    box!.skipReceived();
    box!.send({ type: "resync" });
    const resync = await box!.next("snapshot");
    assert.ok(resync.seq >= seqBefore && resync.flights.every(viewPredicate(bbox)));

    // 62 s after the last update every aircraft is stale and removed.
    clock.offsetMs += 62_000;
    await waitFor(() => hub.snapshot().length === 0, "the stale sweep");
    await converge("after the stale threshold");
    assert.equal(all.view.flights.size, 0);
    assert.equal(hub.stats().flights, 0);
    for (const c of clients) assert.deepEqual(c.violations, []);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await source.stop();
    await served.close();
  }
}

Deno.test("protocol over the memory bus: snapshot, deltas, filters, seq, out of order, staleness", async () => {
  const bus = new MemoryBus();
  try {
    await conformance(bus);
  } finally {
    await bus.close();
  }
});

Deno.test({
  name: "protocol over Kafka: snapshot, deltas, filters, seq, out of order, staleness",
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: "skysentinel-hub-test" });
    try {
      await conformance(bus);
    } finally {
      await bus.close();
    }
  },
});
