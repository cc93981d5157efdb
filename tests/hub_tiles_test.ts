/**
 * Viewport tiles against a real `Deno.serve` hub fed from the real
 * Switzerland recording: clients subscribed to a bbox hold exactly the
 * aircraft of the 3° tiles covering it, in every encoding; aircraft moving
 * between two tiles of a view stay in it; clients with the same view share
 * one bucket and views share segments (the per-tick work counts segments,
 * not clients); panning re-subscribes with continuous seqs; anomalies and
 * snapshots respect the viewport. Plus the tile grid's edge cases.
 *
 * Waits are bounded; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import {
  BINARY_SUBPROTOCOL,
  JSON_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  type Subscription,
} from "../contracts/ws.ts";
import { decode as msgpackDecode } from "@msgpack/msgpack";
import { viewPredicate } from "../lib/hub/buckets.ts";
import { HubCore } from "../lib/hub/core.ts";
import { MAX_VIEW_TILES, tileBounds, tileOf, tilesCovering } from "../lib/hub/tiles.ts";
import {
  Clock,
  connect,
  flightsCopiesForLoad,
  HOLDING,
  landed,
  Replayer,
  serveHub,
  T0,
  type TestClient,
  waitFor,
} from "./_hub_harness.ts";

type BBox = [number, number, number, number];

Deno.test("tiles: grid, covering sets, edges and the antimeridian", () => {
  assert.equal(tileOf(46.5, 7.5), tileOf(45, 6));
  assert.notEqual(tileOf(46.5, 8.99), tileOf(46.5, 9));
  assert.deepEqual(tileBounds(tileOf(46.5, 7.5)), [45, 6, 48, 9]);
  assert.equal(tileOf(90, 180), tileOf(88, -180), "the pole row and 180° (= -180°) are in range");
  // A box inside one tile, across a tile edge, across the antimeridian, ending on it.
  assert.deepEqual(tilesCovering([46, 6.5, 47, 8.5]), [tileOf(46, 6.5)]);
  assert.deepEqual(tilesCovering([46, 8, 47.5, 11]), [tileOf(46, 8), tileOf(46, 11)]);
  assert.deepEqual(tilesCovering([10, 178, 11, -178]), [tileOf(10, -178), tileOf(10, 178)]);
  assert.deepEqual(tilesCovering([10, 176, 11, 180]), [
    tileOf(10, -180),
    tileOf(10, 176),
    tileOf(10, 179),
  ]);
  assert.equal(tilesCovering([-80, -170, 80, 170]), null, "a huge box is the whole world");
  const many = tilesCovering([-40, -90, 40, 90])!;
  assert.ok(many.length <= MAX_VIEW_TILES);
  // Every aircraft inside a bbox is in one of its tiles (edges included).
  for (const [lat, lon] of [[46, 8], [47.5, 11], [46, 11], [47.5, 8]]) {
    assert.ok(tilesCovering([46, 8, 47.5, 11])!.includes(tileOf(lat!, lon!)));
  }
});

Deno.test("a view of several tiles: JSON and MessagePack made of per-segment parts equal whole-message encoding", () => {
  const core = new HubCore<string>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
  // Different boxes over the same two tiles: one bucket, next to the whole world's.
  const boxes: BBox[] = [[46.0, 8.0, 47.5, 11.0], [45.2, 6.5, 47.9, 11.9], [46.5, 7, 47, 10]];
  boxes.forEach((bbox, i) => core.join(`c${i}`, { bbox }));
  core.join("w");
  assert.equal(core.bucketCount, 2);
  assert.equal(core.bucketOf("c0")!.segments.length, 2);
  let compared = 0;
  const sizes = new Set<number>();
  for (let k = 0; k < 30; k++) {
    const flights = flightsCopiesForLoad(k, 0);
    // Vary the tick sizes (MessagePack arrays of under and over 16 elements).
    for (const f of flights.slice(0, k % 3 === 0 ? 5 : flights.length)) {
      core.ingest(f, { nowSeconds: T0 + 10 * k });
    }
    for (const d of core.tick((T0 + 10 * k) * 1000).deltas) {
      const json = d.message.frame("json") as string;
      assert.equal(json, JSON.stringify(d.message.message));
      assert.deepEqual(msgpackDecode(d.message.frame("msgpack") as Uint8Array), d.message.message);
      sizes.add((d.message.message as { upserts: unknown[] }).upserts.length);
      compared++;
    }
  }
  assert.ok(compared >= 60 && [...sizes].some((n) => n < 16) && [...sizes].some((n) => n >= 16));
});

Deno.test("viewport over the real server: tiles in every encoding, moves between tiles, shared buckets and segments, panning", async () => {
  const clock = new Clock();
  const served = serveHub({ now: clock.now });
  const { hub } = served;
  const replay = new Replayer(hub, clock);
  // Two tiles, 6-9° and 9-12° east: aircraft over Switzerland cross from one to the other.
  const box: BBox = [46.0, 8.0, 47.5, 11.0];
  const clients: TestClient[] = [];
  try {
    replay.play(0);
    await waitFor(() => hub.stats().flights > 0 && hub.snapshot().length > 0, "the first tick");
    const specs: [string[], Subscription][] = [
      [[BINARY_SUBPROTOCOL], { bbox: box }],
      [[JSON_SUBPROTOCOL], { bbox: box }],
      [[MSGPACK_SUBPROTOCOL], { bbox: box }],
      [[BINARY_SUBPROTOCOL], {}],
      [[JSON_SUBPROTOCOL], {}],
      [[BINARY_SUBPROTOCOL], { bbox: [46.0, 9.2, 47.0, 11.5] }],
    ];
    for (const [protocols] of specs) clients.push(await connect(served.url, protocols));
    const [binBox, jsonBox, , binWorld, jsonWorld, eastBin] = clients as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
    assert.equal(binBox.socket.protocol, BINARY_SUBPROTOCOL);
    for (const [i, [, filter]] of specs.entries()) {
      if (filter.bbox) clients[i]!.send({ type: "subscribe", filter });
    }
    const converge = async (what: string) => {
      for (const [i, [, filter]] of specs.entries()) {
        const inView = viewPredicate(filter);
        await waitFor(
          () => clients[i]!.sees(hub.snapshot().filter(inView)),
          `${what}: client ${i}`,
        );
      }
    };
    await converge("after subscribing");
    const west = tileOf(46.5, 7.5), east = tileOf(46.5, 10.5);
    const tileOfHeld = new Map<string, number>();
    let crossings = 0;
    for (let k = 1; k <= 12; k++) {
      const flights = replay.play(k);
      await waitFor(() => landed(hub, flights), `snapshot ${k} in the hub`);
      await converge(`snapshot ${k}`);
      for (const f of binBox.view.flights.values()) {
        const t = tileOf(f.position.lat, f.position.lon);
        const before = tileOfHeld.get(f.icao24);
        if (before !== undefined && before !== t && [west, east].includes(t)) crossings++;
        tileOfHeld.set(f.icao24, t);
      }
    }
    assert.ok(crossings > 0, "aircraft moved between the two tiles of the view");
    const inBox = [...binBox.view.flights.values()];
    assert.ok(inBox.every((f) => [west, east].includes(tileOf(f.position.lat, f.position.lon))));
    // One tile only (9-12° E): a strict part of the recording.
    const eastOnly = [...eastBin.view.flights.values()];
    assert.ok(eastOnly.length > 0 && eastOnly.length < binWorld.view.flights.size);
    assert.ok(eastOnly.every((f) => tileOf(f.position.lat, f.position.lon) === east));
    // The binary clients hold the JSON clients' aircraft; their bytes are a fraction.
    assert.deepEqual(
      [...binBox.view.flights.keys()].sort(),
      [...jsonBox.view.flights.keys()].sort(),
    );
    assert.ok(binWorld.bytes * 5 < jsonWorld.bytes, `${binWorld.bytes} B vs ${jsonWorld.bytes} B`);

    // One bucket per distinct view, one segment per tile (plus the world), whatever the clients.
    assert.deepEqual([hub.stats().buckets, hub.stats().segments], [3, 3]);
    for (let i = 0; i < 6; i++) {
      const c = await connect(served.url, i % 2 ? [JSON_SUBPROTOCOL] : [BINARY_SUBPROTOCOL]);
      clients.push(c);
      // A different bbox over the same two tiles is the same view.
      c.send({ type: "subscribe", filter: { bbox: i < 3 ? box : [45.2, 6.5, 47.9, 11.9] } });
      // Subscribed at once: its view's snapshot is its first (no whole-world one before it).
      await c.next("snapshot");
    }
    assert.deepEqual([hub.stats().buckets, hub.stats().segments], [3, 3]);
    const wide = await connect(served.url, [BINARY_SUBPROTOCOL]);
    clients.push(wide);
    const wideBox: BBox = [42, 9, 47.5, 14];
    wide.skipReceived();
    wide.send({ type: "subscribe", filter: { bbox: wideBox } });
    await wide.next("snapshot");
    await waitFor(() => wide.sees(hub.snapshot().filter(viewPredicate({ bbox: wideBox }))), "wide");
    // 4 tiles, one shared with the first view: 5 tile segments and the world's.
    assert.deepEqual([hub.stats().buckets, hub.stats().segments], [4, 6]);
    // A filter on top of the tiles is its own group of segments.
    const high = await connect(served.url, [BINARY_SUBPROTOCOL]);
    clients.push(high);
    high.skipReceived();
    high.send({ type: "subscribe", filter: { bbox: box, min_altitude_m: 11_000 } });
    await high.next("snapshot");
    const highView = viewPredicate({ bbox: box, min_altitude_m: 11_000 });
    await waitFor(() => high.sees(hub.snapshot().filter(highView)), "the high view");
    assert.deepEqual([hub.stats().buckets, hub.stats().segments], [5, 8]);

    // Panning: the view moves away (a snapshot of nothing) and back, seqs stay continuous.
    binBox.skipReceived();
    binBox.send({ type: "subscribe", filter: { bbox: [30, -100, 34, -96] } });
    const away = await binBox.next("snapshot");
    assert.equal(away.flights.length, 0);
    await waitFor(() => binBox.view.flights.size === 0, "the empty view");
    const flights = replay.play(13);
    await waitFor(() => landed(hub, flights), "snapshot 13");
    binBox.send({ type: "subscribe", filter: { bbox: box } });
    await waitFor(
      () => binBox.sees(hub.snapshot().filter(viewPredicate({ bbox: box }))),
      "the view back",
    );
    // Clients that left release their segments.
    await high.close();
    await waitFor(() => hub.stats().segments === 6, "the high view's segments to go");
    for (const c of clients) assert.deepEqual(c.violations, [], "seqs and frames are valid");
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await served.close();
  }
});

Deno.test("anomalies respect the viewport, live and on subscribe, in every encoding", async () => {
  const served = serveHub();
  const { hub } = served;
  const near: BBox = [51, 5, 53, 7]; // HOLDING is at 52.19 N, 6.39 E
  const far: BBox = [-40, 140, -30, 150];
  const clients: TestClient[] = [];
  try {
    const [nearBin, farBin, world, farJson] = await Promise.all([
      connect(served.url, [BINARY_SUBPROTOCOL]),
      connect(served.url, [BINARY_SUBPROTOCOL]),
      connect(served.url, [MSGPACK_SUBPROTOCOL]),
      connect(served.url, [JSON_SUBPROTOCOL]),
    ]);
    clients.push(nearBin!, farBin!, world!, farJson!);
    for (const [c, bbox] of [[nearBin!, near], [farBin!, far], [farJson!, far]] as const) {
      c.send({ type: "subscribe", filter: { bbox } });
      await c.next("snapshot");
    }
    hub.ingestAnomaly(HOLDING);
    assert.deepEqual((await nearBin!.next("anomaly")).event, HOLDING);
    assert.deepEqual((await world!.next("anomaly")).event, HOLDING);
    // A few ticks later the far clients still have none.
    const seq = hub.stats().seq;
    await waitFor(() => farBin!.view.seq! >= seq + 3 && farJson!.view.seq! >= seq + 3, "ticks");
    for (const c of [farBin!, farJson!]) {
      assert.ok(!c.received.some((m) => m.type === "anomaly"), "no anomaly outside the view");
    }
    // Recent anomalies after a snapshot: in the view only.
    const later = await connect(served.url, [BINARY_SUBPROTOCOL]);
    clients.push(later);
    assert.deepEqual((await later.next("anomaly")).event, HOLDING, "whole world on connect");
    later.send({ type: "subscribe", filter: { bbox: far } });
    later.skipReceived();
    await later.next("snapshot");
    const s = hub.stats().seq;
    await waitFor(() => later.view.seq! >= s + 2, "ticks after subscribing");
    later.skipReceived();
    later.send({ type: "subscribe", filter: { bbox: near } });
    await later.next("snapshot");
    assert.deepEqual((await later.next("anomaly")).event, HOLDING, "again when it pans to it");
    for (const c of clients) assert.deepEqual(c.violations, []);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await served.close();
  }
});

Deno.test("a client that subscribes at once gets its view's snapshot first, never the whole world's", async () => {
  // Deno keeps a write buffer per socket as large as the largest frame it sent, for the
  // socket's life: a whole-world snapshot before the view's would cost that much per client.
  const clock = new Clock();
  const served = serveHub({ now: clock.now, firstSnapshotDelayMs: 1_000 });
  const { hub } = served;
  const replay = new Replayer(hub, clock);
  const box: BBox = [46.0, 8.0, 47.5, 11.0];
  const clients: TestClient[] = [];
  try {
    replay.play(0);
    await waitFor(() => hub.snapshot().length > 0, "the first tick");
    const total = hub.snapshot().length;
    const inView = hub.snapshot().filter(viewPredicate({ bbox: box })).length;
    assert.ok(inView > 0 && inView < total, `${inView} of ${total} in view`);
    for (const protocols of [[BINARY_SUBPROTOCOL], [JSON_SUBPROTOCOL], [MSGPACK_SUBPROTOCOL]]) {
      const c = await connect(served.url, protocols);
      clients.push(c);
      c.send({ type: "subscribe", filter: { bbox: box } });
    }
    const world = await connect(served.url, [JSON_SUBPROTOCOL]);
    clients.push(world);
    for (const c of clients.slice(0, 3)) {
      const first = await c.next("snapshot");
      assert.equal(first.flights.length, inView, c.socket.protocol);
      assert.equal(first.total, total);
    }
    // A client that names no view gets the whole world once the delay has passed.
    const whole = await world.next("snapshot");
    assert.equal(whole.flights.length, total);
    const seq = hub.stats().seq;
    await waitFor(() => clients.every((c) => c.view.seq! >= seq + 2), "ticks");
    for (const c of clients) {
      assert.equal(c.received.filter((m) => m.type === "snapshot").length, 1, c.socket.protocol);
      assert.deepEqual(c.violations, []);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await served.close();
  }
});
