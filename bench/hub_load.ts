/**
 * `deno task load`: the WebSocket hub under a world-scale load, on
 * 127.0.0.1 only, bounded in clients and time, stopping by itself.
 *
 * - Feed: the derived world_load fleet (fixtures/scenarios/world_load.json:
 *   copies of real 1 s tracks under new addresses), 20,000 aircraft each
 *   reporting every 1 s (20,000 updates/s into the hub), then the same fleet
 *   at OpenSky's 10 s cadence. The server process (bench/load/server.ts) is
 *   the real hub behind Deno.serve, fed in-process.
 * - Clients in `--processes` separate load processes (bench/load/clients.ts):
 *   10% whole world, 90% regional views centred on aircraft (where the
 *   traffic is); mostly v2.bin, a share of JSON and MessagePack; 20 probes
 *   decode fully and measure ingest-to-receive, the rest read frame heads
 *   and measure tick-to-receive.
 * - Baseline in the same run, on the same server process and viewports:
 *   tar1090-style polling of 3° tiles of 112 B binCraft-like records, zstd
 *   level 1 (services/web/baseline_tiles.ts), every 1 s.
 * - Relay: one upstream and two relays (HUB_UPSTREAM_URL mode), probes on
 *   each, the latency one hop adds.
 *
 * Sizes come from flags or LOAD_* variables (flags win):
 *
 * ```
 * deno task load                                   # 20,000 aircraft x 2,000 clients
 * deno task load --aircraft=10000 --clients=500    # today's comparison
 * deno task load --aircraft=50 --clients=5 --seconds=3 --warmup=1 --profiles=1
 * ```
 *
 * | flag | env | default | meaning |
 * |---|---|---|---|
 * | --aircraft | LOAD_AIRCRAFT | 20000 | derived aircraft |
 * | --clients | LOAD_CLIENTS | 2000 | WebSocket clients (and baseline pollers) |
 * | --processes | LOAD_PROCESSES | 2 | load processes the clients are split over |
 * | --probes | LOAD_PROBES | 20 | fully decoding clients among them |
 * | --seconds | LOAD_SECONDS | 20 | measured window per phase, s |
 * | --warmup | LOAD_WARMUP | 5 | s after connecting before measuring |
 * | --profiles | LOAD_PROFILES | 1,10 | report intervals, s (1 s feed; 10 s OpenSky-like) |
 * | --world-share | LOAD_WORLD_SHARE | 0.1 | whole-world clients |
 * | --mix | LOAD_MIX | bin:8,json:1,msgpack:1 | encodings of regional clients |
 * | --world-encodings | LOAD_WORLD_ENCODINGS | bin | encodings of whole-world clients |
 * | --view-deg | LOAD_VIEW_DEG | 10 | regional view height, degrees (width 1.5x) |
 * | --baseline | LOAD_BASELINE | true | run the tar1090-style baseline |
 * | --relay | LOAD_RELAY | true | run the relay-hop phase |
 * | --tick | LOAD_TICK_MS | 200 | WS_DELTA_INTERVAL_MS of the hubs |
 * | --slices | LOAD_SLICES | 5 | feed parts per second (50: a nearly continuous feed) |
 * | --cpu-prof | LOAD_CPU_PROF | (none) | directory for the servers' V8 CPU profiles |
 * | --max-buffered | LOAD_MAX_BUFFERED | 4194304 | WS_MAX_BUFFERED_BYTES of the hubs |
 *
 * `LOAD_SERVER_WRAP=CMD` runs the server processes as `CMD deno run ...` (a heap profiler such
 * as heaptrack; it must keep its own output off stdout, which carries the JSON lines).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { LoadEncoding } from "./load/frames.ts";
import type { LoadPlan } from "./load/clients.ts";
import {
  type ProcessReport,
  ratios,
  type Row,
  rows,
  type ServerFigures,
  table,
} from "./load/report.ts";
import { Histogram, jsonLines } from "./load/stats.ts";
import { type ClientPlan, planClients, splitPlans } from "./load/viewports.ts";
import { mainThreadSched, procFigures } from "./load/proc.ts";
import { ingestLatency } from "./load/report.ts";

const HERE = new URL("./load/", import.meta.url);
const ICAO_FIRST = 0xf00000;

export interface LoadOptions {
  aircraft: number;
  clients: number;
  processes: number;
  probes: number;
  seconds: number;
  warmup: number;
  profiles: number[];
  worldShare: number;
  mix: Record<LoadEncoding, number>;
  worldEncodings: LoadEncoding[];
  viewDeg: number;
  baseline: boolean;
  relay: boolean;
  tick: number;
  /** Feed parts per second (5: every 200 ms, like a receiver's batches; 50: nearly continuous). */
  slices: number;
  /** Directory for V8 CPU profiles of the server processes (`deno run --cpu-prof`), or null. */
  cpuProf: string | null;
  /** WS_MAX_BUFFERED_BYTES of the hubs (per-client send queue limit), bytes. */
  maxBuffered: number;
}

export function parseLoadOptions(args: string[], env: Record<string, string | undefined>) {
  const { values: v } = parseArgs({
    args,
    options: Object.fromEntries(
      [
        "aircraft",
        "clients",
        "processes",
        "probes",
        "seconds",
        "warmup",
        "profiles",
        "world-share",
        "mix",
        "world-encodings",
        "view-deg",
        "baseline",
        "relay",
        "tick",
        "slices",
        "cpu-prof",
        "max-buffered",
      ].map((k) => [k, { type: "string" as const }]),
    ),
  });
  const get = (k: string, fallback: string) =>
    (v[k] as string | undefined) ?? env[`LOAD_${k.toUpperCase().replaceAll("-", "_")}`] ??
      (k === "tick" ? env.LOAD_TICK_MS : undefined) ?? fallback;
  const num = (k: string, fallback: string) => {
    const n = Number(get(k, fallback));
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`--${k}: not a number: ${get(k, "")}`);
    return n;
  };
  const mix = Object.fromEntries(
    get("mix", "bin:8,json:1,msgpack:1").split(",").map((p) => {
      const [e, w] = p.split(":");
      return [e, Number(w ?? 1)];
    }),
  ) as Record<LoadEncoding, number>;
  return {
    aircraft: num("aircraft", "20000"),
    clients: num("clients", "2000"),
    processes: Math.max(1, num("processes", "2")),
    probes: num("probes", "20"),
    seconds: num("seconds", "20"),
    warmup: num("warmup", "5"),
    // `none`: only the relay phase (with --relay).
    profiles: get("profiles", "1,10").split(",").map(Number).filter((n) => n > 0),
    worldShare: num("world-share", "0.1"),
    mix,
    worldEncodings: get("world-encodings", "bin").split(",") as LoadEncoding[],
    viewDeg: num("view-deg", "10"),
    baseline: get("baseline", "true") !== "false",
    relay: get("relay", "true") !== "false",
    tick: num("tick", "200"),
    slices: Math.max(1, num("slices", "5")),
    cpuProf: get("cpu-prof", "") || null,
    maxBuffered: num("max-buffered", String(4 * 1024 * 1024)),
  } satisfies LoadOptions;
}

// --- processes ------------------------------------------------------------------------

interface Child {
  process: Deno.ChildProcess;
  lines: AsyncGenerator<unknown>;
  send(message: unknown): Promise<void>;
  next(): Promise<Record<string, unknown>>;
}

/** Every process started, so that a run that fails or times out leaves none behind. */
const running = new Set<Deno.ChildProcess>();

function killAll(): void {
  for (const p of running) {
    try {
      p.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

function spawn(script: string, args: string[], flags: string[] = []): Child {
  // LOAD_SERVER_WRAP: a profiler in front of the server processes (heaptrack found the memory).
  const wrap = script === "server.ts" ? Deno.env.get("LOAD_SERVER_WRAP") : undefined;
  const process = new Deno.Command(wrap ?? Deno.execPath(), {
    args: [
      ...(wrap ? [Deno.execPath()] : []),
      "run",
      "-A",
      ...flags,
      new URL(script, HERE).pathname,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  running.add(process);
  process.status.then(() => running.delete(process));
  const lines = jsonLines(process.stdout);
  const writer = process.stdin.getWriter();
  return {
    process,
    lines,
    send: (m) => writer.write(new TextEncoder().encode(JSON.stringify(m) + "\n")),
    async next() {
      const r = await lines.next();
      if (r.done) throw new Error(`${script} ended early`);
      return r.value as Record<string, unknown>;
    },
  };
}

/** `--cpu-prof` flags for server processes when profiling (LOAD_CPU_PROF / --cpu-prof=DIR). */
let serverFlags: string[] = [];

async function startServer(args: string[]): Promise<Child & { port: number; pid: number }> {
  const child = spawn("server.ts", args, serverFlags);
  const ready = await child.next();
  return { ...child, port: ready.port as number, pid: ready.pid as number };
}

async function stopChild(child: Child, message: unknown): Promise<void> {
  await child.send(message).catch(() => {});
  const timer = setTimeout(() => child.process.kill("SIGKILL"), 10_000);
  await child.process.status;
  clearTimeout(timer);
}

/** Splits plans round-robin over `n` load processes and connects them all. */
async function startLoad(
  plans: ClientPlan[],
  options: { n: number; url: string; mode: LoadPlan["mode"]; slices: number },
): Promise<Child[]> {
  const children: Child[] = [];
  const split = splitPlans(plans, options.n);
  for (let p = 0; p < options.n; p++) {
    const child = spawn("clients.ts", []);
    const plan: LoadPlan = {
      url: options.url,
      mode: options.mode,
      clients: split[p]!,
      slices: options.slices,
      icaoFirst: ICAO_FIRST,
    };
    await child.send(plan);
    children.push(child);
  }
  for (const c of children) await c.next(); // ready
  return children;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseResult {
  rows: Row[];
  server: ServerFigures;
}

/** Connects the clients, waits, measures for the window, collects. */
async function phase(
  server: Child & { pid: number; port: number },
  plans: ClientPlan[],
  o: LoadOptions & { mode: LoadPlan["mode"]; inView: Map<number, number>; intervalS: number },
): Promise<PhaseResult> {
  const connectStart = performance.now();
  const load = await startLoad(plans, {
    n: o.processes,
    url: `ws://127.0.0.1:${server.port}/ws`,
    mode: o.mode,
    slices: o.slices,
  });
  await sleep(o.warmup * 1000);
  await server.send({ cmd: "reset_ticks" });
  await server.next();
  await server.send({ cmd: "stats" });
  const before = (await server.next()) as {
    slow_total: number;
    feed_skipped: number;
    ticks: number;
    tick_wall_ms: number;
  };
  const cpu0 = procFigures(server.pid);
  const sched0 = mainThreadSched(server.pid);
  const loadCpu0 = load.reduce((n, c) => n + procFigures(c.process.pid).cpuMs, 0);
  const t0 = performance.now();
  for (const c of load) await c.send({ cmd: "measure" });
  // Samples the server's socket queues (and RSS) once a second over the window.
  let bufferedPeak = 0;
  const until = performance.now() + o.seconds * 1000;
  while (performance.now() < until) {
    await sleep(Math.min(1000, Math.max(0, until - performance.now())));
    await server.send({ cmd: "stats" });
    const { stats } = (await server.next()) as { stats: { buffered_bytes: number } };
    bufferedPeak = Math.max(bufferedPeak, stats.buffered_bytes);
  }
  for (const c of load) await c.send({ cmd: "report" });
  const windowS = (performance.now() - t0) / 1000;
  const cpu1 = procFigures(server.pid);
  const sched1 = mainThreadSched(server.pid);
  const loadCpu1 = load.reduce((n, c) => n + procFigures(c.process.pid).cpuMs, 0);
  const reports: ProcessReport[] = [];
  for (const c of load) reports.push((await c.next()).report as ProcessReport);
  await server.send({ cmd: "stats" });
  const after = (await server.next()) as {
    slow_total: number;
    feed_skipped: number;
    ticks: number;
    tick_wall_ms: number;
    tick_p50_ms: number;
    tick_p99_ms: number;
    part_wait_p50_ms: number;
    part_wait_p99_ms: number;
    stats: { clients: number; flights: number; buffered_bytes: number };
    memory: { heapUsed: number; heapTotal: number; external: number };
  };
  await server.send({ cmd: "ingests" });
  const ingests = new Map((await server.next()).ingests as [number, number][]);
  for (const c of load) await stopChild(c, { cmd: "stop" });
  return {
    rows: rows(reports, {
      windowS,
      ingests,
      world: new Set(plans.filter((p) => p.bbox === null).map((p) => p.id)),
      probes: new Set(plans.filter((p) => p.probe).map((p) => p.id)),
      baseline: o.mode === "poll",
      inView: o.inView,
      intervalS: o.intervalS,
    }),
    server: {
      connectS: (t0 - connectStart) / 1000 - o.warmup,
      cpuPercent: (cpu1.cpuMs - cpu0.cpuMs) / (windowS * 10),
      rssMb: cpu1.rssMb,
      rssPeakMb: cpu1.peakMb,
      slowEvents: after.slow_total - before.slow_total,
      feedSkipped: after.feed_skipped - before.feed_skipped,
      flights: after.stats.flights,
      clients: after.stats.clients,
      ticksPerS: (after.ticks - before.ticks) / windowS,
      tickP50Ms: after.tick_p50_ms,
      tickP99Ms: after.tick_p99_ms,
      partWaitP50Ms: after.part_wait_p50_ms,
      partWaitP99Ms: after.part_wait_p99_ms,
      tickBusyPercent: (after.tick_wall_ms - before.tick_wall_ms) / (windowS * 10),
      mainRunPercent: (sched1.runMs - sched0.runMs) / (windowS * 10),
      mainWaitPercent: (sched1.waitMs - sched0.waitMs) / (windowS * 10),
      loadCpuPercent: (loadCpu1 - loadCpu0) / (windowS * 10),
      heapUsedMb: after.memory.heapUsed / 2 ** 20,
      heapTotalMb: after.memory.heapTotal / 2 ** 20,
      externalMb: after.memory.external / 2 ** 20,
      bufferedMb: after.stats.buffered_bytes / 2 ** 20,
      bufferedPeakMb: Math.max(bufferedPeak, after.stats.buffered_bytes) / 2 ** 20,
    },
  };
}

/** Probes on the upstream and on each of two relays: what one hop adds. */
async function relayPhase(o: LoadOptions, figures: LoadResult["relay"]): Promise<string> {
  const upstream = await startServer([
    `--aircraft=${o.aircraft}`,
    "--interval=1",
    `--slices=${o.slices}`,
    `--tick=${o.tick}`,
    `--max-buffered=${o.maxBuffered}`,
  ]);
  const url = `ws://127.0.0.1:${upstream.port}/ws`;
  const relays = [
    await startServer([
      "--role=relay",
      `--upstream=${url}`,
      `--tick=${o.tick}`,
      `--max-buffered=${o.maxBuffered}`,
    ]),
    await startServer([
      "--role=relay",
      `--upstream=${url}`,
      `--tick=${o.tick}`,
      `--max-buffered=${o.maxBuffered}`,
    ]),
  ];
  // Relays take a while to sync a big upstream snapshot: wait until each says it is ready.
  for (const r of relays) {
    const until = performance.now() + 90_000;
    while (performance.now() < until) {
      await r.send({ cmd: "stats" });
      const { stats } = (await r.next()) as { stats: { ready: boolean } };
      if (stats.ready) break;
      await sleep(1000);
    }
  }
  const targets = [upstream, ...relays];
  const perTarget = Math.max(1, Math.round(o.probes / 3));
  const plans = planClients(
    await samplePositions(o),
    {
      ...planOptions(o),
      clients: perTarget,
      probes: perTarget,
      mix: { bin: 1, json: 0, msgpack: 0 },
    },
  );
  const loads = [];
  for (const t of targets) {
    loads.push(
      await startLoad(plans, {
        n: 1,
        url: `ws://127.0.0.1:${t.port}/ws`,
        mode: "ws",
        slices: o.slices,
      }),
    );
  }
  await sleep(o.warmup * 1000);
  for (const l of loads) for (const c of l) await c.send({ cmd: "measure" });
  await sleep(o.seconds * 1000);
  const reports: ProcessReport[][] = [];
  for (const l of loads) {
    const list: ProcessReport[] = [];
    for (const c of l) await c.send({ cmd: "report" });
    for (const c of l) list.push((await c.next()).report as ProcessReport);
    reports.push(list);
  }
  await upstream.send({ cmd: "ingests" });
  const ingests = new Map((await upstream.next()).ingests as [number, number][]);
  for (const l of loads) for (const c of l) await stopChild(c, { cmd: "stop" });
  for (const t of [...relays, upstream]) await stopChild(t, { cmd: "stop" });
  const hists: Histogram[] = reports.map((list) =>
    ingestLatency(list.flatMap((r) => Object.values(r.receipts)), ingests)
  );
  const served = reports[1]?.[0]?.tallies[0]?.served ?? "?";
  const names = ["upstream", "relay 1", "relay 2"];
  const lines = [
    `### relay hop (${o.aircraft} aircraft at 1 s; ${perTarget} probes per hub, ${served} from the relays)`,
    "",
    "| hub | ingest→receive p50 ms | p99 ms | updates | added p50 ms | added p99 ms |",
    "|---|---|---|---|---|---|",
  ];
  hists.forEach((h, i) => {
    figures.push({ hub: names[i]!, p50: h.quantile(0.5), p99: h.quantile(0.99), updates: h.count });
    const add = (q: number) => i === 0 ? "-" : (h.quantile(q) - hists[0]!.quantile(q)).toFixed(0);
    lines.push(
      `| ${names[i]} | ${h.quantile(0.5)} | ${h.quantile(0.99)} | ${h.count} | ${add(0.5)} | ${
        add(0.99)
      } |`,
    );
  });
  return lines.join("\n");
}

/** Aircraft inside a bbox (`lomin > lomax` crosses the antimeridian); null is the world. */
function countInView(
  positions: readonly { lat: number; lon: number }[],
  bbox: [number, number, number, number] | null,
): number {
  if (!bbox) return positions.length;
  const [lamin, lomin, lamax, lomax] = bbox;
  return positions.filter((p) =>
    p.lat >= lamin && p.lat <= lamax &&
    (lomin <= lomax ? p.lon >= lomin && p.lon <= lomax : p.lon >= lomin || p.lon <= lomax)
  ).length;
}

function planOptions(o: LoadOptions) {
  return {
    clients: o.clients,
    probes: o.probes,
    worldShare: o.worldShare,
    mix: o.mix,
    worldEncodings: o.worldEncodings,
    viewDeg: o.viewDeg,
  };
}

/** Aircraft positions of the fleet at one moment: where regional viewers look. */
async function samplePositions(o: LoadOptions): Promise<{ lat: number; lon: number }[]> {
  const { parseScenario } = await import("../lib/replay/scenario.ts");
  const { loadDerivedFleet } = await import("../services/producer/derived.ts");
  const path = new URL("../fixtures/scenarios/world_load.json", import.meta.url).pathname;
  const { sources } = parseScenario(await Deno.readTextFile(path), { path });
  const fleet = await loadDerivedFleet(sources[0]!.derived!, {
    aircraft: o.aircraft,
    intervalS: 1,
  });
  return fleet.flightsAt(Math.floor(Date.now() / 1000)).map((f) => f.position);
}

/** What {@link runLoad} measured: the printed report and its figures. */
export interface LoadResult {
  text: string;
  phases: { title: string; rows: Row[]; server: ServerFigures }[];
  relay: { hub: string; p50: number; p99: number; updates: number }[];
}

/** Runs every phase and returns the printed report with its figures; no process outlives it. */
export async function runLoad(
  o: LoadOptions,
  log: (line: string) => void,
  /** Each printed section as soon as it is measured (a long run that fails later keeps it). */
  onSection: (text: string) => void = () => {},
): Promise<LoadResult> {
  try {
    return await runPhases(o, log, onSection);
  } finally {
    killAll();
  }
}

async function runPhases(
  o: LoadOptions,
  log: (line: string) => void,
  onSection: (text: string) => void,
): Promise<LoadResult> {
  const lines: string[] = [];
  const out = {
    push(...parts: string[]) {
      lines.push(...parts);
      onSection(parts.join("\n"));
    },
  };
  const phases: LoadResult["phases"] = [];
  const relay: LoadResult["relay"] = [];
  serverFlags = o.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProf}`] : [];
  const positions = await samplePositions(o);
  const plans = planClients(positions, planOptions(o));
  const inView = new Map(plans.map((p) => [p.id, countInView(positions, p.bbox)]));
  const world = plans.filter((p) => p.bbox === null).length;
  out.push(
    `hub load: ${o.aircraft} derived aircraft (world_load copies), ${o.clients} clients ` +
      `(${world} whole world, ${o.clients - world} regional ${o.viewDeg}°x${o.viewDeg * 1.5}°, ` +
      `${plans.filter((p) => p.probe).length} probes) in ${o.processes} load processes, ` +
      `tick ${o.tick} ms, feed in ${o.slices} parts/s, ${o.seconds} s measured per phase after ${o.warmup} s; ` +
      `127.0.0.1, ${navigator.hardwareConcurrency} CPUs shared by server and load`,
  );
  for (const [k, interval] of o.profiles.entries()) {
    const updates = Math.round(o.aircraft / interval);
    log(`profile ${interval} s: starting the server ...`);
    const server = await startServer([
      `--aircraft=${o.aircraft}`,
      `--interval=${interval}`,
      `--slices=${o.slices}`,
      `--tick=${o.tick}`,
      `--max-buffered=${o.maxBuffered}`,
    ]);
    try {
      log(`profile ${interval} s: ${o.clients} WebSocket clients ...`);
      const ws = await phase(server, plans, { ...o, mode: "ws", inView, intervalS: interval });
      const title = `hub, ${o.aircraft} aircraft every ${interval} s (${updates} updates/s)`;
      phases.push({ title, ...ws });
      out.push("", table(title, ws.rows, ws.server));
      if (o.baseline && k === 0) {
        log(`profile ${interval} s: ${o.clients} tar1090-style pollers ...`);
        const poll = await phase(server, plans, {
          ...o,
          mode: "poll",
          inView,
          intervalS: interval,
        });
        const title = "baseline: tar1090-style 1 s polling of 3° zstd tiles, same viewports";
        phases.push({ title, ...poll });
        out.push("", table(title, poll.rows, poll.server), ratios(ws.rows, poll.rows[0]));
      }
    } finally {
      await stopChild(server, { cmd: "stop" });
    }
  }
  if (o.relay) {
    log("relay hop: one upstream, two relays ...");
    out.push("", await relayPhase(o, relay));
  }
  return { text: lines.join("\n"), phases, relay };
}

if (import.meta.main) {
  const options = parseLoadOptions(Deno.args, Deno.env.toObject());
  const deadline = setTimeout(() => {
    console.error("load: still running after the time bound; stopping");
    killAll();
    Deno.exit(2);
  }, (options.profiles.length * 2 + 3) * (options.seconds + options.warmup + 120) * 1000);
  await runLoad(options, (line) => console.error(line), (text) => console.log(text));
  clearTimeout(deadline);
}
