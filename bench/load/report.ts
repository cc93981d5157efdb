/**
 * Turns what the load processes and the server reported into the printed
 * tables of `deno task load`. Pure.
 *
 * @module
 */
import { Histogram } from "./stats.ts";

export interface TallyReport {
  id: number;
  served: string | null;
  bytes: number;
  frames: number;
  deltas: number;
  gaps: number;
  snapshots: number;
  upserts: number;
  deltaBytes: number;
  closeCode: number | null;
  failed: string | null;
}

export interface ProcessReport {
  tallies: TallyReport[];
  tick: Record<string, [number, number][]>;
  receipts: Record<string, [number, number, number][]>;
}

export interface ServerFigures {
  /** CPU used by the server process during the window, % of one core. */
  cpuPercent: number;
  /** Resident set at the end of the window and its peak over the process's life, MB. */
  rssMb: number;
  rssPeakMb: number;
  /** Clients the hub marked slow (skipped deltas) during the window. */
  slowEvents: number;
  /** Clients the server had at the end. */
  clients: number;
  /** Feed parts (a fifth of a second of reports each) skipped in the window: the server was behind. */
  feedSkipped: number;
  /** Seconds the load processes took to connect all their clients (before the warm-up). */
  connectS?: number;
  /** Aircraft in the hub at the end. */
  flights: number;
  /** Hub ticks per second during the window, and their duration (compute, encode, send), ms. */
  ticksPerS?: number;
  tickP50Ms?: number;
  tickP99Ms?: number;
  /** How long a feed part waited for the tick that carried it (ingest to tick start), ms. */
  partWaitP50Ms?: number;
  partWaitP99Ms?: number;
  /** Wall time inside ticks, % of the window. */
  tickBusyPercent?: number;
  /** The server's main thread (event loop): on a CPU, and runnable but waiting for one, % of the window. */
  mainRunPercent?: number;
  mainWaitPercent?: number;
  /** CPU used by the load processes together during the window, % of one core. */
  loadCpuPercent?: number;
  /** The server's V8 heap (used, reserved) and memory outside it held by JS objects, MB. */
  heapUsedMb?: number;
  heapTotalMb?: number;
  externalMb?: number;
  /** Bytes queued in the server's client sockets at the end (largest sample over the window), MB. */
  bufferedMb?: number;
  bufferedPeakMb?: number;
}

export interface Row {
  label: string;
  clients: number;
  world: number;
  probes: number;
  ingestP50: number;
  ingestP99: number;
  probeUpdates: number;
  tickP50: number;
  tickP99: number;
  bytesPerUpsert: number;
  bytesPerClientS: number;
  /**
   * Bytes/s per client that full delivery takes, whatever the machine
   * managed: hub, B/upsert × aircraft in the client's view ÷ report
   * interval; baseline, bytes per completed poll × 1 poll/s.
   */
  neededPerClientS: number;
  /** The same, for whole-world and for regional clients. */
  neededPerWorldClientS: number;
  neededPerRegionalClientS: number;
  bytesPerWorldClientS: number;
  bytesPerRegionalClientS: number;
  gaps: number;
  closed: number;
  /** The closed sockets by close code ("1006x3, 4000x1"; 1006: no close frame, 4000: slow consumer). */
  closeCodes: string;
  failed: number;
}

/** Ingest-to-receive of probe receipts, given the server's ingest times by key. */
export function ingestLatency(
  receipts: [number, number, number][][],
  ingests: Map<number, number>,
): Histogram {
  const h = new Histogram();
  for (const list of receipts) {
    for (const [key, count, arrival] of list) {
      const at = ingests.get(key);
      if (at !== undefined) h.add(arrival - at, count);
    }
  }
  return h;
}

/**
 * One row per served encoding (WebSocket) or one for the poll baseline.
 * `plans` says which ids are world clients and probes.
 */
export function rows(
  reports: ProcessReport[],
  options: {
    windowS: number;
    ingests: Map<number, number>;
    world: Set<number>;
    probes: Set<number>;
    baseline: boolean;
    /** Aircraft in each client's view (by id) and the feed's report interval, s. */
    inView: Map<number, number>;
    intervalS: number;
  },
): Row[] {
  const tallies = reports.flatMap((r) => r.tallies);
  const groups = new Map<string, TallyReport[]>();
  for (const t of tallies) {
    const label = options.baseline ? "tar1090 poll (zstd)" : (t.served ?? "unconnected");
    let list = groups.get(label);
    if (!list) groups.set(label, list = []);
    list.push(t);
  }
  const out: Row[] = [];
  for (const [label, list] of groups) {
    const ids = new Set(list.map((t) => t.id));
    const receipts = reports.flatMap((r) =>
      Object.entries(r.receipts).filter(([k]) => ids.has(Number(k.slice(k.lastIndexOf("|") + 1))))
        .map(([, v]) => v)
    );
    const ingest = ingestLatency(receipts, options.ingests);
    const tick = new Histogram();
    for (const r of reports) if (r.tick[label]) tick.merge(Histogram.from(r.tick[label]!));
    const probes = list.filter((t) => options.probes.has(t.id));
    const upserts = probes.reduce((n, t) => n + t.upserts, 0);
    const probeBytes = probes.reduce((n, t) => n + (options.baseline ? t.bytes : t.deltaBytes), 0);
    const per = (ts: TallyReport[]) =>
      ts.length === 0 ? NaN : ts.reduce((n, t) => n + t.bytes, 0) / ts.length / options.windowS;
    const bytesPerUpsert = upserts > 0 ? probeBytes / upserts : NaN;
    // Bytes per upsert of the probes of one kind of view (whole world or regional: a regional
    // frame's segment heads cost more per upsert), the row's figure when it has none of that kind.
    const kindBytesPerUpsert = (world: boolean) => {
      const mine = probes.filter((t) => options.world.has(t.id) === world);
      const n = mine.reduce((k, t) => k + t.upserts, 0);
      return n > 0 ? mine.reduce((k, t) => k + t.deltaBytes, 0) / n : bytesPerUpsert;
    };
    const perUpsert = { world: kindBytesPerUpsert(true), regional: kindBytesPerUpsert(false) };
    const neededOf = (t: TallyReport) =>
      options.baseline
        ? (t.frames > 0 ? t.bytes / t.frames : NaN)
        : (options.inView.get(t.id) ?? 0) / options.intervalS *
          (options.world.has(t.id) ? perUpsert.world : perUpsert.regional);
    const meanNeeded = (ts: TallyReport[]) => {
      const v = ts.map(neededOf).filter(Number.isFinite);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    };
    out.push({
      label,
      neededPerClientS: meanNeeded(list),
      neededPerWorldClientS: meanNeeded(list.filter((t) => options.world.has(t.id))),
      neededPerRegionalClientS: meanNeeded(list.filter((t) => !options.world.has(t.id))),
      clients: list.length,
      world: list.filter((t) => options.world.has(t.id)).length,
      probes: probes.length,
      ingestP50: ingest.quantile(0.5),
      ingestP99: ingest.quantile(0.99),
      probeUpdates: ingest.count,
      tickP50: tick.quantile(0.5),
      tickP99: tick.quantile(0.99),
      bytesPerUpsert,
      bytesPerClientS: per(list),
      bytesPerWorldClientS: per(list.filter((t) => options.world.has(t.id))),
      bytesPerRegionalClientS: per(list.filter((t) => !options.world.has(t.id))),
      gaps: list.reduce((n, t) => n + t.gaps, 0),
      closed: list.filter((t) => t.closeCode !== null).length,
      closeCodes: closeCodes(list),
      failed: list.filter((t) => t.failed !== null).length,
    });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

function closeCodes(list: TallyReport[]): string {
  const by = new Map<number, number>();
  for (const t of list) {
    if (t.closeCode !== null) by.set(t.closeCode, (by.get(t.closeCode) ?? 0) + 1);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([code, n]) => `${code}x${n}`).join(", ");
}

const f0 = (v: number) => Number.isFinite(v) ? v.toFixed(0) : "-";
const f1 = (v: number) => Number.isFinite(v) ? v.toFixed(1) : "-";
const kb = (v: number) => Number.isFinite(v) ? (v / 1024).toFixed(1) : "-";

/** The main table, markdown. */
export function table(title: string, list: Row[], server: ServerFigures): string {
  const lines = [
    `### ${title}`,
    "",
    `server: CPU ${f0(server.cpuPercent)}% of one core, RSS ${f0(server.rssMb)} MB ` +
    `(peak ${f0(server.rssPeakMb)} MB), slow-client events ${server.slowEvents}, ` +
    `${server.clients} clients connected and ${server.flights} aircraft in the hub at the end, ` +
    `feed parts skipped (server behind) ${server.feedSkipped}` +
    (server.connectS === undefined ? "" : `, clients connected in ${f1(server.connectS)} s`),
    ...(server.ticksPerS === undefined ? [] : [
      "",
      `hub ticks: ${f1(server.ticksPerS)}/s, duration p50 ${f1(server.tickP50Ms ?? NaN)} ms, ` +
      `p99 ${f1(server.tickP99Ms ?? NaN)} ms (commit, route, encode, hand to sockets), ` +
      `feed part to its tick p50 ${f1(server.partWaitP50Ms ?? NaN)} ms, p99 ${
        f1(server.partWaitP99Ms ?? NaN)
      } ms, ` +
      `${f0(server.tickBusyPercent ?? NaN)}% of the time in ticks; server main thread on a CPU ${
        f0(server.mainRunPercent ?? NaN)
      }%, waiting for one ${f0(server.mainWaitPercent ?? NaN)}%; ` +
      `load processes: CPU ${f0(server.loadCpuPercent ?? NaN)}% of one core; ` +
      `socket send queues ${f0(server.bufferedMb ?? NaN)} MB (peak ${
        f0(server.bufferedPeakMb ?? NaN)
      } MB); server V8 heap ${f0(server.heapUsedMb ?? NaN)} MB used of ${
        f0(server.heapTotalMb ?? NaN)
      } MB, external ${f0(server.externalMb ?? NaN)} MB`,
    ]),
    "",
    "| encoding | clients (world) | probes | ingest→receive p50 ms | p99 ms | probe updates | " +
    "tick→receive p50 ms | p99 ms | B/upsert | KB/s per client | KB/s needed per client | " +
    "KB/s world client | KB/s regional client | seq gaps | closed | failed |",
    `|${"---|".repeat(16)}`,
  ];
  for (const r of list) {
    lines.push(
      `| ${r.label} | ${r.clients} (${r.world}) | ${r.probes} | ${f0(r.ingestP50)} | ` +
        `${f0(r.ingestP99)} | ${r.probeUpdates} | ${f0(r.tickP50)} | ${f0(r.tickP99)} | ` +
        `${f1(r.bytesPerUpsert)} | ${kb(r.bytesPerClientS)} | ${kb(r.neededPerClientS)} | ` +
        `${kb(r.bytesPerWorldClientS)} | ` +
        `${kb(r.bytesPerRegionalClientS)} | ${r.gaps} | ${r.closed} | ${r.failed} |`,
    );
  }
  const closes = list.filter((r) => r.closed > 0).map((r) => `${r.label} ${r.closeCodes}`);
  if (closes.length) {
    lines.push(
      `closed sockets by close code (1006: no close frame, 4000: slow consumer): ${
        closes.join("; ")
      }`,
    );
  }
  return lines.join("\n");
}

/** Baseline ÷ hub ratios for the same viewports. */
export function ratios(hub: Row[], baseline: Row | undefined): string {
  if (!baseline) return "";
  const lines = ["", "baseline (tar1090-style poll) ÷ hub, same viewports:"];
  for (const r of hub) {
    const x = (b: number, h: number) => Number.isFinite(b / h) ? `${(b / h).toFixed(1)}x` : "-";
    // The baseline's bytes for this row's own mix of views: whole-world clients all take v2.bin, so
    // its row holds more of them than the pollers do (12% against 10%), and a whole-world view
    // costs 25 times a regional one; the pollers' average would count the mix, not the encoding.
    const regional = r.clients - r.world;
    const mix = (world: number, other: number) =>
      r.clients > 0
        ? ((r.world > 0 ? r.world * world : 0) + (regional > 0 ? regional * other : 0)) / r.clients
        : NaN;
    const mixed = mix(baseline.bytesPerWorldClientS, baseline.bytesPerRegionalClientS);
    const mixedNeed = mix(baseline.neededPerWorldClientS, baseline.neededPerRegionalClientS);
    lines.push(
      `- ${r.label}: bytes/client/s needed ${x(mixedNeed, r.neededPerClientS)}, ` +
        `delivered ${x(mixed, r.bytesPerClientS)} for the same views (against the pollers' ` +
        `plain means: ${x(baseline.neededPerClientS, r.neededPerClientS)}, ${
          x(baseline.bytesPerClientS, r.bytesPerClientS)
        }) ` +
        `(world ${x(baseline.bytesPerWorldClientS, r.bytesPerWorldClientS)}, regional ${
          x(baseline.bytesPerRegionalClientS, r.bytesPerRegionalClientS)
        }), ingest→receive p50 ${x(baseline.ingestP50, r.ingestP50)}, p99 ${
          x(baseline.ingestP99, r.ingestP99)
        }`,
    );
  }
  return lines.join("\n");
}
