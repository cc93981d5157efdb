/**
 * Relay mode: a hub that mirrors another hub's `/ws` (skysentinel.v2.bin,
 * MessagePack from an upstream that does not offer it) into its own cache
 * and clients; seq gaps and bad frames upstream lead to `resync`.
 *
 * Waits are bounded; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import { BINARY_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, type ServerMessage } from "../contracts/ws.ts";
import { encode } from "../lib/hub/codec.ts";
import {
  BinaryTracker,
  composeFrame,
  encodeGeneric,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  timeBase,
} from "../lib/hub/v2/mod.ts";
import { offeredProtocols } from "../services/web/hub_upgrade.ts";
import {
  Clock,
  connect,
  flightsCopiesForLoad,
  HOLDING,
  landed,
  Replayer,
  requantise,
  serveHub,
  serveRelay,
  T0,
  type TestClient,
  waitFor,
} from "./_hub_harness.ts";

Deno.test("relay: hub B mirrors hub A (flights, removes, anomalies) and reconnects", async () => {
  const clock = new Clock();
  let upstream = serveHub({ now: clock.now });
  // B's own stale threshold is long: the removes its clients get come from A.
  const { relayed, relay } = serveRelay(upstream.url, {
    hub: { now: clock.now, config: { WS_STALE_THRESHOLD_SECONDS: 3600 } },
    relay: { minBackoffMs: 50, maxBackoffMs: 200 },
  });
  let replay = new Replayer(upstream.hub, clock);
  let client: TestClient | undefined;
  try {
    replay.play(0);
    await waitFor(() => relayed.hub.stats().ready, "the relay to sync");
    // The relay took the compact binary encoding from A.
    assert.equal(upstream.hub.stats().clients_by_encoding.bin, 1);
    client = await connect(relayed.url, [MSGPACK_SUBPROTOCOL]);
    assert.equal((client.received[0] as { source: string }).source, "relay");
    for (let k = 1; k < 5; k++) {
      const flights = replay.play(k);
      await waitFor(() => landed(upstream.hub, flights), `snapshot ${k} in A`);
      // The relay takes v2.bin from A: its clients see A's states as quantised on that wire.
      await waitFor(
        () => client!.sees(upstream.hub.snapshot().map(requantise)),
        `the relayed view at ${k}`,
      );
    }
    upstream.hub.ingestAnomaly(HOLDING);
    assert.deepEqual((await client.next("anomaly")).event, HOLDING);
    // A removes what went stale there; B's clients get those removes.
    clock.offsetMs += 62_000;
    await waitFor(() => client!.view.flights.size === 0, "removes through the relay");

    // A goes away: B stays up (not ready), then follows a new A on the same port.
    const port = upstream.port;
    await upstream.close();
    await waitFor(() => !relayed.hub.stats().ready && !relay.healthy(), "B to notice");
    upstream = serveHub({ now: clock.now, port });
    replay = new Replayer(upstream.hub, clock);
    const later = replay.play(20);
    await waitFor(() => relay.healthy(), "B to reconnect");
    await waitFor(() => landed(upstream.hub, later), "snapshot 20 in the new A");
    await waitFor(
      () => client!.sees(upstream.hub.snapshot().map(requantise)),
      "the state of the new A",
    );
    // B's clients saw continuous seqs from B, whatever happened upstream.
    assert.deepEqual(client.violations, []);
  } finally {
    await relay.stop();
    await client?.close();
    await relayed.close();
    await upstream.close();
  }
  assert.equal(relay.healthy(), false);
});

Deno.test("relay: a seq gap upstream makes it ask for resync and apply the new snapshot", async () => {
  const flights = flightsCopiesForLoad(0, Math.floor(Date.now() / 1000) - T0);
  const [a, b, c] = [flights[0]!, flights[1]!, flights[2]!];
  const fromRelay: unknown[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: MSGPACK_SUBPROTOCOL });
    const send = (m: ServerMessage) => socket.send(encode(m, "msgpack"));
    const t = Date.now();
    socket.onopen = () => {
      send({ type: "snapshot", seq: 5, server_time_ms: t, flights: [a, b] });
      send({ type: "delta", seq: 6, server_time_ms: t, upserts: [c], removes: [] });
      send({ type: "delta", seq: 8, server_time_ms: t, upserts: [], removes: [a.icao24] });
    };
    socket.onmessage = (e) => {
      fromRelay.push(JSON.parse(e.data));
      send({ type: "snapshot", seq: 8, server_time_ms: t, flights: [c] });
    };
    return response;
  });
  const warnings: string[] = [];
  const { relayed, relay } = serveRelay(`ws://127.0.0.1:${upstream.addr.port}/ws`, {
    relay: { logger: { info() {}, warn: (m) => warnings.push(m) } },
  });
  try {
    await waitFor(() => fromRelay.length > 0, "the relay's resync");
    assert.deepEqual(fromRelay, [{ type: "resync" }]);
    assert.match(warnings.join("\n"), /seq gap \(expected 7, got 8\)/);
    await waitFor(
      () => JSON.stringify(relayed.hub.snapshot()) === JSON.stringify([c]),
      "the resynced state (only c)",
    );
  } finally {
    await relay.stop();
    await relayed.close();
    await upstream.shutdown();
  }
});

Deno.test("relay over v2.bin: a gap or a truncated frame upstream makes it resync from a snapshot", async () => {
  const flights = flightsCopiesForLoad(0, Math.floor(Date.now() / 1000) - T0);
  const [a, b, c] = [flights[0]!, flights[1]!, flights[2]!];
  const fromRelay: unknown[] = [];
  let connection = 0;
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    assert.ok(offeredProtocols(req).includes(BINARY_SUBPROTOCOL), "the relay asks for v2.bin");
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: BINARY_SUBPROTOCOL });
    const t = Date.now();
    const base = timeBase(t);
    const tracker = new BinaryTracker();
    const delta = (seq: number, upserts: typeof flights, removes: string[]) =>
      composeFrame(FRAME_DELTA, { seq, serverTimeMs: t }, [
        tracker.advance(upserts, removes, base)!,
      ]);
    const snapshot = (seq: number) =>
      composeFrame(FRAME_SNAPSHOT, { seq, serverTimeMs: t }, [tracker.snapshot(base)]);
    const round = ++connection;
    socket.onopen = () => {
      tracker.advance([a, b], [], base);
      socket.send(encodeGeneric({ type: "hello", protocol: 2, encoding: "bin" }));
      socket.send(snapshot(5));
      socket.send(delta(6, [c], []));
      if (round === 1) socket.send(delta(8, [], [a.icao24])); // seq 7 is missing
      else socket.send(delta(7, [], [a.icao24]).subarray(0, 9)); // cut short
    };
    socket.onmessage = (e) => {
      fromRelay.push(JSON.parse(e.data));
      tracker.advance([], [b.icao24], base);
      socket.send(snapshot(round === 1 ? 8 : 9));
      if (round === 1) socket.close(1000, "next round");
    };
    return response;
  });
  const warnings: string[] = [];
  const { relayed, relay } = serveRelay(`ws://127.0.0.1:${upstream.addr.port}/ws`, {
    relay: { minBackoffMs: 20, logger: { info() {}, warn: (m) => warnings.push(m) } },
  });
  const held = () => JSON.stringify(relayed.hub.snapshot().map((f) => f.icao24).sort());
  try {
    await waitFor(() => fromRelay.length === 1, "the relay's resync after the gap");
    assert.deepEqual(fromRelay, [{ type: "resync" }]);
    assert.match(warnings.join("\n"), /seq gap/);
    await waitFor(() => connection === 2 && fromRelay.length === 2, "the resync after a bad frame");
    assert.match(warnings.join("\n"), /undecodable frame: bad skysentinel\.v2\.bin frame/);
    // The snapshot after the resync holds only c (a and b were removed upstream): applied,
    // in quantised form.
    await waitFor(() => held() === JSON.stringify([c.icao24]), "the new snapshot");
    assert.deepEqual(
      relayed.hub.snapshot().find((f) => f.icao24 === c.icao24),
      requantise(c),
    );
  } finally {
    await relay.stop();
    await relayed.close();
    await upstream.shutdown();
  }
});

Deno.test("relay: each upstream frame is forwarded as it arrives, not on the relay's own tick", async () => {
  const clock = new Clock();
  const upstream = serveHub({ now: clock.now });
  // The relay's own ticks are a minute apart (and its heartbeat two): only forwarding each
  // upstream frame at once gets the updates below to its client within the waits.
  const { relayed, relay } = serveRelay(upstream.url, {
    hub: {
      now: clock.now,
      config: { WS_DELTA_INTERVAL_MS: 60_000, WS_STALE_THRESHOLD_SECONDS: 3600 },
      heartbeatMs: 120_000,
    },
  });
  const replay = new Replayer(upstream.hub, clock);
  let client: TestClient | undefined;
  try {
    replay.play(0);
    await waitFor(() => relayed.hub.stats().ready, "the relay to sync");
    client = await connect(relayed.url, [BINARY_SUBPROTOCOL]);
    for (let k = 1; k < 4; k++) {
      const flights = replay.play(k);
      await waitFor(() => landed(upstream.hub, flights), `snapshot ${k} in A`);
      await waitFor(
        () => client!.sees(upstream.hub.snapshot().map(requantise)),
        `the relayed view at ${k}`,
      );
    }
    assert.deepEqual(client.violations, []);
  } finally {
    await relay.stop();
    await client?.close();
    await relayed.close();
    await upstream.close();
  }
});
