/**
 * The hub's WebSocket edge with real clients against a real `Deno.serve`,
 * fed directly from the real Switzerland recording: slow consumers (a
 * hand-made TCP client that does not read) next to a fast client, garbage
 * and oversized frames, Origin checks, the client cap, shutdown, anomalies.
 *
 * Waits are bounded; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import { MAX_CLIENT_FRAME_BYTES, MSGPACK_SUBPROTOCOL } from "../contracts/ws.ts";
import {
  Clock,
  connect,
  HOLDING,
  metric,
  rawConnect,
  Replayer,
  type Served,
  serveHub,
  TestClient,
  waitFor,
} from "./_hub_harness.ts";

Deno.test("slow consumers are skipped, get a snapshot once drained, are closed when stuck; others get every seq", async () => {
  const clock = new Clock();
  const served = serveHub({
    now: clock.now,
    slowClientGraceMs: 5_000,
    config: { WS_MAX_BUFFERED_BYTES: 256 * 1024 },
  });
  const fast = await connect(served.url);
  const recovering = await rawConnect(served.port);
  const stuck = await rawConnect(served.port);
  const replay = new Replayer(served.hub, clock);
  let k = 0;
  let copies = 40;
  const feeder = setInterval(() => replay.play(k++, copies), 50);
  let draining: Promise<unknown> = Promise.resolve();
  try {
    assert.equal(recovering.status, 101);
    // Neither raw client reads: with ~1,900 aircraft (derived copies for load) per tick they fall behind.
    await waitFor(
      () => served.hub.stats().slow_clients === 2,
      "both raw clients to be marked slow",
      30_000,
    );
    assert.ok(await metric(served.registry, "hub_slow_clients_total") >= 2);
    copies = 1;
    // One starts reading: after the deltas it was sent before falling behind, a fresh snapshot comes.
    let sawDelta = false;
    const snapshot = await recovering.readUntil((m) => {
      if (m.type === "delta") sawDelta = true;
      return sawDelta && m.type === "snapshot";
    });
    assert.equal(snapshot?.type, "snapshot");
    draining = recovering.readUntil(() => false).catch(() => null);
    // The other stays stuck and is closed after the grace period.
    await waitFor(() => served.hub.stats().clients === 2, "the stuck client to be closed", 30_000);
    await waitFor(() => served.hub.stats().slow_clients === 0, "the reader to stay drained");
    const seqNow = served.hub.stats().seq;
    await waitFor(() => (fast.view.seq ?? 0) >= seqNow, "the fast client to catch up");
    assert.deepEqual(fast.violations, [], "the fast client saw every seq");
    assert.equal(fast.received.filter((m) => m.type === "snapshot").length, 1, "never shed");
  } finally {
    clearInterval(feeder);
    recovering.conn.close();
    stuck.conn.close();
    await draining;
    await fast.close();
    await served.close();
  }
});

Deno.test("garbage and oversized frames get errors, repeated abuse closes 1008, others are unaffected", async () => {
  const clock = new Clock();
  const served = serveHub({ now: clock.now });
  const replay = new Replayer(served.hub, clock);
  const good = await connect(served.url, [MSGPACK_SUBPROTOCOL]);
  const bad = await connect(served.url);
  const badPacked = await connect(served.url, [MSGPACK_SUBPROTOCOL]);
  try {
    replay.play(0);
    bad.send("{nope");
    assert.equal((await bad.next("error")).code, "bad_frame");
    bad.send({ type: "teleport" });
    assert.equal((await bad.next("error")).code, "bad_message");
    bad.send({ type: "subscribe", filter: { bbox: [1, 2, 3] } });
    assert.equal((await bad.next("error")).code, "bad_message");
    bad.send({ type: "ping", id: "x".repeat(MAX_CLIENT_FRAME_BYTES) });
    assert.equal((await bad.next("error")).code, "frame_too_large");
    badPacked.send(new Uint8Array([0xc1, 0xff]));
    assert.equal((await badPacked.next("error")).code, "bad_frame");
    bad.send({ type: "ping", id: 1 });
    assert.equal((await bad.next("pong")).id, 1, "a good message still works");
    // One bad frame at a time (so that none is in flight when the server closes): 20 in all.
    let closedWith: CloseEvent | undefined;
    bad.closed.then((e) => closedWith = e);
    for (let i = 0; i < 20 && !closedWith; i++) {
      bad.send("garbage");
      const errors = bad.received.filter((m) => m.type === "error").length;
      await waitFor(
        () =>
          closedWith !== undefined ||
          bad.received.filter((m) => m.type === "error").length > errors,
        "an error or the close",
      );
    }
    assert.equal((await bad.closed).code, 1008);
    replay.play(1);
    const seqNow = served.hub.stats().seq + 1;
    await waitFor(() => (good.view.seq ?? 0) >= seqNow, "the good client to keep receiving");
    await waitFor(() => good.sees(served.hub.snapshot()), "the good client to hold the state");
    assert.deepEqual(good.violations, []);
    assert.equal(good.received.filter((m) => m.type === "error").length, 0);
    assert.equal(served.hub.stats().clients, 2);
  } finally {
    await Promise.all([good.close(), bad.close(), badPacked.close()]);
    await served.close();
  }
});

Deno.test("Origin allowlist, same-host default, tools without Origin; capacity; shutdown", async () => {
  const served = serveHub({ config: { WS_MAX_CLIENTS: 2 } });
  const allowlisted = serveHub({ config: { WS_ALLOWED_ORIGINS: ["https://sky.example"] } });
  const raws: Deno.TcpConn[] = [];
  const status = async (s: Served, origin?: string) => {
    const raw = await rawConnect(s.port, origin ? { Origin: origin } : {});
    raws.push(raw.conn);
    return raw.status;
  };
  try {
    assert.equal(await status(served, "https://evil.example"), 403);
    assert.equal(await status(served, `http://127.0.0.1:${served.port}`), 101, "same host");
    assert.equal(await status(allowlisted, "https://sky.example"), 101);
    assert.equal(await status(allowlisted, `http://127.0.0.1:${allowlisted.port}`), 403);
    assert.equal(await status(allowlisted), 101, "no Origin: a tool, allowed");
    for (const c of raws) c.close();
    raws.length = 0;
    await waitFor(() => served.hub.stats().clients === 0, "raw clients to leave");
    const plain = await served.hub.handleUpgrade(new Request("http://127.0.0.1/ws"));
    assert.equal(plain.status, 426);
    await plain.body?.cancel();

    const a = await connect(served.url);
    const b = await connect(served.url);
    const c = new TestClient(served.url);
    assert.equal((await c.next("error")).code, "too_many_clients");
    assert.equal((await c.closed).code, 1013);

    const stopping = served.hub.stop();
    assert.equal(served.hub.stop(), stopping, "stop is idempotent");
    await stopping;
    for (const client of [a, b]) {
      assert.equal((await client.next("error")).code, "server_shutdown");
      assert.equal((await client.closed).code, 1001);
    }
    const late = served.hub.handleUpgrade(
      new Request("http://127.0.0.1/ws", { headers: { upgrade: "websocket" } }),
    );
    assert.equal(late.status, 503);
    await late.body?.cancel();
    assert.equal(served.hub.stats().ready, false);
  } finally {
    for (const c of raws) c.close();
    await served.close();
    await allowlisted.close();
  }
});

Deno.test("anomalies: recent ones after the snapshot, live ones to every client once", async () => {
  const served = serveHub();
  served.hub.ingestAnomaly(HOLDING);
  const json = await connect(served.url);
  const packed = await connect(served.url, [MSGPACK_SUBPROTOCOL]);
  try {
    for (const c of [json, packed]) {
      await c.next("snapshot");
      assert.deepEqual((await c.next("anomaly")).event, HOLDING);
    }
    const ended = { ...HOLDING, ended_at: new Date().toISOString() };
    assert.equal(served.hub.ingestAnomaly(ended), true);
    assert.equal(
      served.hub.ingestAnomaly({ ...ended }),
      false,
      "the same event again is not re-sent",
    );
    for (const c of [json, packed]) assert.deepEqual((await c.next("anomaly")).event, ended);
    const later = served.hub.stats().seq + 3;
    await waitFor(() => (json.view.seq ?? 0) >= later, "a few more ticks");
    assert.equal(json.received.filter((m) => m.type === "anomaly").length, 2);
  } finally {
    await Promise.all([json.close(), packed.close()]);
    await served.close();
  }
});
