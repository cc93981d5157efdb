/**
 * The CPU cost of one hub tick at load scale, without sockets or a load
 * generator sharing the cores: the real core and tick broadcaster
 * (services/web/hub_broadcast.ts) with the load harness's viewports and the
 * derived world_load fleet, and sockets that only count what they are
 * handed. It splits the tick into its spans (commit, route and encode the
 * segments; hand the frames out per encoding), to see where the
 * ingest-to-receive time of `deno task load` goes.
 *
 * ```
 * deno run -A bench/load/tick_profile.ts --aircraft=10000 --clients=500 --ticks=50
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { HubCore } from "../../lib/hub/core.ts";
import { HubMetrics } from "../../lib/hub/metrics.ts";
import { parseScenario } from "../../lib/replay/scenario.ts";
import { loadDerivedFleet } from "../../services/producer/derived.ts";
import { TickBroadcaster } from "../../services/web/hub_broadcast.ts";
import { ClientSession } from "../../services/web/hub_session.ts";
import { Histogram } from "./stats.ts";
import { planClients } from "./viewports.ts";
import { procFigures } from "./proc.ts";
import type { LoadEncoding } from "./frames.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    aircraft: { type: "string", default: "10000" },
    clients: { type: "string", default: "500" },
    ticks: { type: "string", default: "50" },
    slices: { type: "string", default: "5" },
  },
});
const WORLD_LOAD = new URL("../../fixtures/scenarios/world_load.json", import.meta.url).pathname;
const { sources } = parseScenario(await Deno.readTextFile(WORLD_LOAD), { path: WORLD_LOAD });
const fleet = await loadDerivedFleet(sources[0]!.derived!, {
  aircraft: Number(a.aircraft),
  intervalS: 1,
});
const slices = Number(a.slices);
let second = Math.floor(Date.now() / 1000);
const plans = planClients(fleet.flightsAt(second).map((f) => f.position), {
  clients: Number(a.clients),
  probes: 0,
  worldShare: 0.1,
  mix: { bin: 8, json: 1, msgpack: 1 } as Record<LoadEncoding, number>,
  worldEncodings: ["bin"],
  viewDeg: 10,
});

/** A socket that takes frames and counts them. */
class CountingSocket {
  readyState = WebSocket.OPEN;
  bufferedAmount = 0;
  bytes = 0;
  /** The largest frame handed over (Deno keeps a write buffer of its size per socket). */
  largest = 0;
  send(frame: string | Uint8Array) {
    const n = typeof frame === "string" ? frame.length : frame.byteLength;
    this.bytes += n;
    if (n > this.largest) this.largest = n;
  }
  close() {}
}

const core = new HubCore<ClientSession>({ staleAfterSeconds: 60, anomalyWindowMs: 3_600_000 });
const metrics = new HubMetrics(new Registry(), { clients: () => 0, flights: () => 0 });
const broadcast = new TickBroadcaster({
  core,
  metrics,
  maxBufferedBytes: 4 << 20,
  graceMs: 30_000,
  close() {},
  warn() {},
});
const nowS = () => Date.now() / 1000;
for (const f of fleet.flightsAt(second - 1)) core.ingest(f, { nowSeconds: nowS() });
core.tick(Date.now());
const clients = plans.map((p) => {
  const c = new ClientSession(
    new CountingSocket() as unknown as WebSocket,
    p.encoding === "bin" ? "bin" : p.encoding,
    metrics,
  );
  c.open = true;
  core.join(c, p.bbox ? { bbox: p.bbox } : {});
  broadcast.sendSnapshot(c, Date.now());
  return c;
});

const spans = { core: new Histogram(), bin: new Histogram(), v1: new Histogram() };
// Time to the last binary client, then to the last v1 client (the broadcaster sends bin first).
// The wrapper is put in once: replacing a prototype's method every tick deoptimised the
// broadcaster's loop, a cost the hub does not have.
let binDone = 0;
{
  const send = ClientSession.prototype.send;
  ClientSession.prototype.send = function (this: ClientSession, m) {
    send.call(this, m);
    if (this.encoding === "bin") binDone = performance.now();
  };
}
const cpu0 = procFigures("self").cpuMs;
let slice = 0;
const ticks = Number(a.ticks);
const started = performance.now();
for (let k = 0; k < ticks; k++) {
  for (const f of fleet.flightsAt(second, { slice, slices })) {
    core.ingest(f, { nowSeconds: nowS() });
  }
  if (++slice === slices) [slice, second] = [0, second + 1];
  const t0 = performance.now();
  const result = core.tick(Date.now());
  const t1 = performance.now();
  binDone = t1;
  broadcast.deliver(result, Date.now());
  const t2 = performance.now();
  spans.core.add((t1 - t0) * 10);
  spans.bin.add((binDone - t1) * 10);
  spans.v1.add((t2 - binDone) * 10);
}
const total = performance.now() - started;
const cpuPerTick = (procFigures("self").cpuMs - cpu0) / ticks;
const q = (h: Histogram) =>
  `p50 ${(h.quantile(0.5) / 10).toFixed(1)} p99 ${(h.quantile(0.99) / 10).toFixed(1)} ms`;
console.log(
  `${a.aircraft} aircraft, ${clients.length} clients (${core.bucketCount} views, ${core.segmentCount} segments), ${ticks} ticks of 1/${slices} s, ${
    (total / ticks).toFixed(1)
  } ms per tick with ingest (CPU ${
    cpuPerTick.toFixed(1)
  } ms per tick: the figure a busy machine moves least)`,
);
console.log(`  core (commit, route, encode segments): ${q(spans.core)}`);
console.log(`  hand out to v2.bin clients:            ${q(spans.bin)}`);
console.log(`  then JSON and MessagePack clients:     ${q(spans.v1)}`);
const mem = Deno.memoryUsage();
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
console.log(
  `  memory: RSS ${mb(mem.rss)}, V8 heap ${mb(mem.heapUsed)} used of ${mb(mem.heapTotal)}, ` +
    `external ${mb(mem.external)}`,
);
{
  const by = new Map<string, { n: number; sum: number; max: number }>();
  for (const c of clients) {
    const s = c.socket as unknown as CountingSocket;
    const e = by.get(c.encoding) ?? { n: 0, sum: 0, max: 0 };
    e.n++;
    e.sum += s.largest;
    e.max = Math.max(e.max, s.largest);
    by.set(c.encoding, e);
  }
  for (const [enc, e] of by) {
    console.log(
      `  largest frame per ${enc} client: mean ${(e.sum / e.n / 1024).toFixed(0)} KB, max ${
        (e.max / 1024).toFixed(0)
      } KB, sum ${mb(e.sum)}`,
    );
  }
}
