/**
 * The tick broadcaster (services/web/hub_broadcast.ts) on the real core with
 * sockets that record what they are handed: v2.bin clients get the tick
 * before JSON and MessagePack ones (their frames are ready; v1 frames are
 * encoded on first use), and each client still gets its anomalies before
 * its delta.
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

Deno.test("broadcaster: binary clients first, then v1; anomalies before the delta for each", () => {
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
