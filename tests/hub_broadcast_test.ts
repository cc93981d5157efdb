/**
 * The tick broadcaster (services/web/hub_broadcast.ts) on the real core with
 * sockets that record what they are handed: v2.bin clients get the tick
 * before JSON and MessagePack ones (their frames are ready; v1 frames are
 * encoded on first use), and each client still gets its anomalies before
 * its delta; split in two halves, the v1 clients wait for `finish`, which a
 * snapshot or the next tick forces first.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import type { Encoding } from "../lib/hub/codec.ts";
import { HubCore } from "../lib/hub/core.ts";
import { HubMetrics } from "../lib/hub/metrics.ts";
import { FRAME_DELTA, FRAME_GENERIC } from "../lib/hub/v2/frame.ts";
import { TickBroadcaster } from "../services/web/hub_broadcast.ts";
import { ClientSession } from "../services/web/hub_session.ts";
import { flightsCopiesForLoad, HOLDING, T0 } from "./_hub_harness.ts";

function setup() {
  const log: string[] = [];
  const core = new HubCore<ClientSession>({ staleAfterSeconds: 60, anomalyWindowMs: 86_400_000 });
  const metrics = new HubMetrics(new Registry(), { clients: () => 0, flights: () => 0 });
  const broadcast = new TickBroadcaster({
    core,
    metrics,
    maxBufferedBytes: 1 << 20,
    graceMs: 30_000,
    close() {},
    warn() {},
  });
  const shift = Math.floor(Date.now() / 1000) - T0;
  const now = () => Date.now();
  for (const f of flightsCopiesForLoad(0, shift)) core.ingest(f, { nowSeconds: now() / 1000 });
  core.tick(now());
  // Interleaved encodings, two views (whole world; a bbox over Switzerland up to the anomaly).
  const encodings: Encoding[] = ["json", "bin", "msgpack", "bin", "json", "bin"];
  const clients = encodings.map((encoding, i) => {
    const name = `${encoding}${i}`;
    const socket = {
      readyState: WebSocket.OPEN,
      bufferedAmount: 0,
      send(frame: string | Uint8Array) {
        const kind = typeof frame === "string" ? JSON.parse(frame).type : `${frame[0]}`;
        log.push(`${name}:${kind}`);
      },
      close() {},
    };
    const c = new ClientSession(socket as unknown as WebSocket, encoding, metrics);
    c.open = true;
    core.join(c, i % 2 === 0 ? {} : { bbox: [45, 3, 54, 12] });
    broadcast.sendSnapshot(c, now());
    return { c, name };
  });
  log.length = 0;
  return { log, core, broadcast, clients, shift, now };
}

Deno.test("broadcaster: binary clients first, then v1; anomalies before the delta for each", () => {
  const { log, core, broadcast, clients, shift, now } = setup();
  for (const f of flightsCopiesForLoad(1, shift)) core.ingest(f, { nowSeconds: now() / 1000 });
  core.ingestAnomaly(HOLDING, now());
  broadcast.deliver(core.tick(now()), now());
  const order = [...new Set(log.map((l) => l.split(":")[0]!))];
  const bin = clients.filter((x) => x.c.encoding === "bin").map((x) => x.name);
  assert.deepEqual(order.slice(0, bin.length).sort(), bin.sort(), log.join(" "));
  assert.equal(order.length, clients.length);
  // Every client: its anomaly (a generic frame / JSON "anomaly"), then its delta.
  for (const { name, c } of clients) {
    const mine = log.filter((l) => l.startsWith(`${name}:`)).map((l) => l.split(":")[1]);
    const expected = c.encoding === "bin"
      ? [`${FRAME_GENERIC}`, `${FRAME_DELTA}`]
      : c.encoding === "json"
      ? ["anomaly", "delta"]
      : [];
    if (c.encoding !== "msgpack") assert.deepEqual(mine, expected, name);
    else assert.equal(mine.length, 2, name);
  }
});

Deno.test("broadcaster: the v1 half waits for finish; a snapshot or the next tick finishes it first", () => {
  const { log, core, broadcast, clients, shift, now } = setup();
  const name = (c: ClientSession) => clients.find((x) => x.c === c)!.name;
  const v1 = clients.filter((x) => x.c.encoding !== "bin").map((x) => x.name).sort();
  const bin = clients.filter((x) => x.c.encoding === "bin").map((x) => x.name).sort();
  const who = () => [...new Set(log.map((l) => l.split(":")[0]!))].sort();
  for (const f of flightsCopiesForLoad(1, shift)) core.ingest(f, { nowSeconds: now() / 1000 });
  assert.equal(broadcast.deliverBinary(core.tick(now()), now()), true);
  assert.deepEqual(who(), bin, "only the binary clients so far");
  assert.equal(broadcast.pending, true);
  // A v1 client's snapshot (a subscribe, a resync) comes after the delta it was owed.
  const json = clients.find((x) => x.c.encoding === "json")!.c;
  broadcast.sendSnapshot(json, now());
  assert.equal(broadcast.pending, false);
  const mine = log.filter((l) => l.startsWith(`${name(json)}:`)).map((l) => l.split(":")[1]);
  assert.deepEqual(mine, ["delta", "snapshot"]);
  assert.deepEqual(who(), [...bin, ...v1].sort());
  // Left pending, the next tick's first half sends the previous v1 frames first.
  log.length = 0;
  for (const f of flightsCopiesForLoad(2, shift)) core.ingest(f, { nowSeconds: now() / 1000 });
  broadcast.deliverBinary(core.tick(now()), now());
  for (const f of flightsCopiesForLoad(3, shift)) core.ingest(f, { nowSeconds: now() / 1000 });
  broadcast.deliverBinary(core.tick(now()), now());
  broadcast.finish();
  assert.equal(broadcast.pending, false);
  for (const { name: n } of clients) {
    const deltas = log.filter((l) => l.startsWith(`${n}:`));
    assert.equal(deltas.length, 2, `${n} got both ticks: ${log.join(" ")}`);
  }
  const firstV1 = log.findIndex((l) => v1.includes(l.split(":")[0]!));
  const secondBin = log.findLastIndex((l) => bin.includes(l.split(":")[0]!));
  assert.ok(firstV1 < secondBin, "the first tick's v1 frames before the second tick's binary ones");
});
