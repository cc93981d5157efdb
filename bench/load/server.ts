/**
 * The server process of `deno task load`: the real hub (services/web/hub.ts)
 * served by Deno.serve on 127.0.0.1, fed in-process with the derived
 * world_load fleet, and the tar1090-style baseline tiles
 * (services/web/baseline_tiles.ts) served by the same process. As a relay
 * (`--role=relay`) it is a hub fed by another hub's `/ws` (HUB_UPSTREAM_URL
 * mode, services/web/hub_sources.ts).
 *
 * Feeding: each second of data time is the wall-clock second; its reports
 * are ingested in `slices` parts spread over the second (as a receiver feed
 * trickles in), and the ingest time of each part is kept so that probes can
 * measure ingest-to-receive per aircraft.
 *
 * Protocol with the orchestrator: JSON lines. Out: `{ready, port, pid}`,
 * then answers. In: `{cmd: "stats"}` (hub stats, shed counts, tick count and
 * durations), `{cmd: "reset_ticks"}` (starts the tick durations afresh), `{cmd:
 * "ingests"}` (ingest times), `{cmd: "stop"}`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { parseWebConfig } from "../../lib/config.ts";
import { parseScenario } from "../../lib/replay/scenario.ts";
import { createBaselineTiles } from "../../services/web/baseline_tiles.ts";
import { Hub } from "../../services/web/hub.ts";
import { startRelaySource } from "../../services/web/hub_sources.ts";
import { loadDerivedFleet } from "../../services/producer/derived.ts";
import { emit, Histogram, jsonLines } from "./stats.ts";

const WORLD_LOAD = new URL("../../fixtures/scenarios/world_load.json", import.meta.url).pathname;

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string", default: "hub" },
    aircraft: { type: "string", default: "20000" },
    interval: { type: "string", default: "1" },
    slices: { type: "string", default: "5" },
    tick: { type: "string", default: "200" },
    upstream: { type: "string" },
    "max-buffered": { type: "string", default: String(4 * 1024 * 1024) },
  },
});

const config = parseWebConfig({
  WS_DELTA_INTERVAL_MS: a.tick!,
  WS_MAX_CLIENTS: "100000",
  WS_MAX_BUFFERED_BYTES: a["max-buffered"]!,
});
const registry = new Registry();
const quiet = {
  info() {},
  warn(m: string) {
    console.error(m);
  },
};
const hub = new Hub({ config, registry, logger: quiet, onTick: (ms) => onTick(ms) });
let stopFeed = () => {};
const ingests: [number, number][] = [];
/** Feed parts skipped because the server fell more than a second behind. */
let skipped = 0;
let baseline: ((req: Request) => Response) | null = null;
/** When each feed part not yet in a tick was ingested (performance.now ms). */
const partsWaiting: number[] = [];
/** How long each feed part waited for the tick that carried it, 0.1 ms (the tick scheduling's share). */
const partWaits = new Histogram();
let relay: { stop(): Promise<void> } | null = null;

if (a.role === "relay") {
  relay = startRelaySource(hub, { upstreamUrl: a.upstream!, logger: quiet });
} else {
  const { sources } = parseScenario(await Deno.readTextFile(WORLD_LOAD), { path: WORLD_LOAD });
  const fleet = await loadDerivedFleet(sources[0]!.derived!, {
    aircraft: Number(a.aircraft),
    intervalS: Number(a.interval),
  });
  baseline = await createBaselineTiles({ flights: () => hub.snapshot() });
  const slices = Number(a.slices);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  // The next part to ingest: data second and slice.
  let second = Math.floor(Date.now() / 1000) + 1;
  let slice = 0;
  const step = () => {
    if (stopped) return;
    let due = second * 1000 + (slice * 1000) / slices;
    if (Date.now() - due > 1000) {
      // A live feed does not wait for the server: parts it could not take in time are skipped
      // (counted), instead of the feed falling ever further behind into stale data.
      const now = Date.now();
      const next = Math.floor(now / 1000) * slices + Math.floor((now % 1000) / (1000 / slices));
      skipped += next - (second * slices + slice);
      [second, slice] = [Math.floor(next / slices), next % slices];
      due = second * 1000 + (slice * 1000) / slices;
    }
    const wait = due - Date.now();
    if (wait > 1) {
      timer = setTimeout(step, wait);
      return;
    }
    const flights = fleet.flightsAt(second, { slice, slices });
    const at = Date.now();
    partsWaiting.push(performance.now());
    for (const f of flights) hub.ingest(f);
    ingests.push([second * slices + slice, at]);
    if (++slice === slices) [slice, second] = [0, second + 1];
    timer = setTimeout(step, 0);
  };
  // Fill the cache with one second before the clients come, so snapshots are full.
  for (const f of fleet.flightsAt(second - 1)) hub.ingest(f);
  step();
  stopFeed = () => {
    stopped = true;
    clearTimeout(timer);
  };
}
// Tick spans (the bench's profile of where ingest-to-receive goes): duration of each tick, 0.1 ms,
// both halves (the binary frames, then the v1 ones in the next task) without the gap between.
const tickSpans = new Histogram();
let ticks = 0;
/** Wall time spent in ticks, ms (against the window: how busy the event loop is with them). */
let tickWallMs = 0;
function onTick(ms: number): void {
  tickSpans.add(ms * 10);
  tickWallMs += ms;
  ticks++;
}
const tick = hub.tick.bind(hub);
hub.tick = () => {
  const started = performance.now();
  for (const at of partsWaiting) partWaits.add((started - at) * 10);
  partsWaiting.length = 0;
  tick();
};
hub.start();

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/ws") return hub.handleUpgrade(req);
  if (path === "/bench/tiles" && baseline) return baseline(req);
  return new Response("not found", { status: 404 });
});
emit({ ready: true, port: server.addr.port, pid: Deno.pid });

async function slowTotal(): Promise<number> {
  const metric = registry.getSingleMetric("hub_slow_clients_total");
  if (!metric) return 0;
  const values = (await metric.get()).values as { value: number }[];
  return values.reduce((n, v) => n + v.value, 0);
}

for await (const line of jsonLines(Deno.stdin.readable)) {
  const cmd = (line as { cmd: string }).cmd;
  if (cmd === "stats") {
    emit({
      stats: hub.stats(),
      slow_total: await slowTotal(),
      feed_skipped: skipped,
      ticks,
      tick_wall_ms: tickWallMs,
      tick_p50_ms: tickSpans.quantile(0.5) / 10,
      tick_p99_ms: tickSpans.quantile(0.99) / 10,
      part_wait_p50_ms: partWaits.quantile(0.5) / 10,
      part_wait_p99_ms: partWaits.quantile(0.99) / 10,
      memory: Deno.memoryUsage(),
    });
  } else if (cmd === "reset_ticks") {
    for (const h of [tickSpans, partWaits]) {
      h.counts.fill(0);
      h.count = 0;
    }
    emit({ ok: true });
  } else if (cmd === "ingests") {
    emit({ ingests: ingests.splice(0) });
  } else if (cmd === "stop") {
    stopFeed();
    await hub.stop();
    await relay?.stop();
    await server.shutdown();
    emit({ stopped: true });
    break;
  }
}
Deno.exit(0);
