/**
 * Worker throughput end to end into PostgreSQL: flight updates per second
 * from a bus to committed rows (decoding, validation, Kalman smoothing,
 * detectors, sessions, one transaction per batch, anomalies published),
 * against baselines that only load the same history rows into the same
 * table: a plain multi-row INSERT (500 rows per statement) and COPY.
 *
 * Run: DATABASE_URL=postgres://... [KAFKA_BROKERS=host:port] [BENCH_REPEAT=2] \
 *   deno run -A bench/worker_e2e.ts
 *
 * Uses a database of its own on that server (`bench_worker_<unix s>`,
 * dropped at the end). Sources: the memory bus, with all updates queued
 * before the worker starts, so the figure is the worker's and the
 * database's; and Kafka when KAFKA_BROKERS is set (topics of its own,
 * produced first and timed separately). Inputs are real recordings: TRA051
 * (16k updates, one aircraft at 1 s) and the Switzerland full day (139k
 * updates, 842 aircraft at 10 s).
 *
 * @module
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Flight } from "../contracts/flight.ts";
import { TOPICS } from "../contracts/topics.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus, OutgoingMessage } from "../lib/bus/types.ts";
import { connect, migrate, type Sql } from "../lib/db/mod.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { createRunwayIndex, parseRunwaysCsv, type RunwayIndex } from "../lib/detect/runways.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { silentLogger } from "../lib/log.ts";
import { startWorker, type WorkerTopics } from "../services/worker/worker.ts";
import { measuredColumns } from "../tests/_db.ts";

const DATASETS = [
  {
    name: "TRA051 1 s",
    path: "fixtures/event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl",
  },
  { name: "Switzerland day", path: "fixtures/states_switzerland_2018-08-01_fullday_10s.jsonl.gz" },
];
const INSERT_ROWS = 500;
/** Runs per figure (BENCH_REPEAT); the best one is reported, so a checkpoint or a cold cache does not decide. */
const REPEAT = Math.max(1, Number(Deno.env.get("BENCH_REPEAT") ?? 2));

interface Dataset {
  name: string;
  messages: OutgoingMessage[];
  flights: Flight[];
  /** Distinct (icao24, time_position): the history rows. */
  distinct: Flight[];
}

async function load(name: string, path: string): Promise<Dataset> {
  const messages: OutgoingMessage[] = [];
  const flights: Flight[] = [];
  const file = await Deno.open(path);
  for await (const item of readRecording(file.readable, { gzip: path.endsWith(".gz") })) {
    if (item.kind !== "snapshot") continue;
    const built = buildPollMessages(item.reply, {
      source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 10 },
      producedAt: new Date(item.reply.time * 1000).toISOString(),
      topics: { state: "unused", updates: "updates" },
    });
    messages.push(...(built.batch.find((t) => t.topic === "updates")?.messages ?? []));
    flights.push(...built.flights);
  }
  const seen = new Set<string>();
  const distinct = flights.filter((f) => {
    const key = `${f.icao24}|${f.time_position_unix}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return { name, messages, flights, distinct };
}

async function reset(sql: Sql): Promise<void> {
  await sql`TRUNCATE flights_history, flights_current, flights, anomalies`;
}

async function ensureDays(sql: Sql, flights: readonly Flight[]): Promise<void> {
  const days = new Set(
    flights.map((f) => new Date(f.time_position_unix * 1000).toISOString().slice(0, 10)),
  );
  for (const day of days) await sql`SELECT flights_history_ensure_partition(${day}::date)`;
}

/** The shortest of `n` runs of `fn`, each on empty tables. */
async function bestOf(n: number, sql: Sql, fn: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    await reset(sql);
    best = Math.min(best, await fn());
  }
  return best;
}

function historyRow(f: Flight) {
  return {
    icao24: f.icao24,
    ts: new Date(f.time_position_unix * 1000),
    session_id: null,
    ...measuredColumns(f),
    state: JSON.stringify(f),
  };
}
const COLUMNS = Object.keys(historyRow(
  {
    icao24: "000000",
    callsign: null,
    origin_country: null,
    position: { lat: 0, lon: 0 },
    altitude_m: null,
    geo_altitude_m: null,
    velocity_mps: null,
    heading_deg: null,
    vertical_rate_mps: null,
    on_ground: false,
    squawk: null,
    spi: false,
    position_source: 0,
    category: 0,
    time_position_unix: 0,
    last_contact_unix: 0,
  },
)) as (keyof ReturnType<typeof historyRow>)[];

/** Baseline: the history rows (raw values in the smoothed columns) by multi-row INSERT. */
async function baselineInsert(sql: Sql, data: Dataset): Promise<number> {
  await ensureDays(sql, data.distinct);
  const started = performance.now();
  for (let i = 0; i < data.distinct.length; i += INSERT_ROWS) {
    const rows = data.distinct.slice(i, i + INSERT_ROWS).map(historyRow);
    await sql`INSERT INTO flights_history ${
      sql(rows, COLUMNS)
    } ON CONFLICT (icao24, ts) DO NOTHING`;
  }
  return (performance.now() - started) / 1000;
}

/** COPY text format: tab-separated, `\N` for null, backslashes doubled. */
function copyLine(f: Flight): string {
  const row = historyRow(f);
  return COLUMNS.map((c) => {
    const v = row[c];
    if (v === null) return "\\N";
    if (v instanceof Date) return v.toISOString();
    if (typeof v === "boolean") return v ? "t" : "f";
    return String(v).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n");
  }).join("\t") + "\n";
}

/** Baseline: the same rows by COPY ... FROM STDIN (no conflict handling: an empty table). */
async function baselineCopy(sql: Sql, data: Dataset): Promise<number> {
  await ensureDays(sql, data.distinct);
  const started = performance.now();
  const writable = await sql.unsafe(
    `COPY flights_history (${COLUMNS.join(", ")}) FROM STDIN`,
  ).writable();
  await pipeline(
    Readable.from((function* () {
      for (let i = 0; i < data.distinct.length; i += 1000) {
        yield data.distinct.slice(i, i + 1000).map(copyLine).join("");
      }
    })()),
    writable,
  );
  return (performance.now() - started) / 1000;
}

/** The detection engine alone (no bus, no database), for scale. */
function engineOnly(data: Dataset, runways: RunwayIndex): number {
  const engine = createDetectionEngine({ runways });
  const started = performance.now();
  for (const f of data.flights) engine.ingest(f);
  engine.flush();
  return (performance.now() - started) / 1000;
}

function topicsFor(label: string): WorkerTopics {
  const run = crypto.randomUUID().slice(0, 8);
  return {
    updates: `bench.worker.${label}.updates.${run}`,
    anomalies: `bench.worker.${label}.anomalies.${run}`,
    deadletter: `bench.worker.${label}.deadletter.${run}`,
  };
}

async function send(bus: Bus, topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
  // Kafka caps a request at about 1 MB: 500 envelopes stay well below.
  for (let i = 0; i < messages.length; i += 500) {
    await bus.send([{ topic, messages: messages.slice(i, i + 500) }]);
  }
}

/** The worker over a bus holding every update already; seconds until all are committed. */
async function throughWorker(
  bus: Bus,
  sql: Sql,
  data: Dataset,
  topics: WorkerTopics,
  runways: RunwayIndex,
): Promise<number> {
  const started = performance.now();
  const worker = await startWorker({
    config: { WORKER_GROUP_ID: `bench-${topics.updates}`, LOG_LEVEL: "warn" },
    bus,
    db: { sql },
    runways,
    topics,
    log: silentLogger,
    ensureTopics: false,
  });
  while (await worker.metrics.value(worker.metrics.processed) < data.messages.length) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  return seconds;
}

interface Row {
  dataset: string;
  mode: string;
  updates: number;
  seconds: number;
  note?: string;
}

function printTable(rows: Row[]): void {
  const header = ["dataset", "mode", "updates", "seconds", "updates/s", "vs INSERT", "note"];
  const lines = rows.map((r) => {
    const base = rows.find((b) => b.dataset === r.dataset && b.mode === "baseline INSERT");
    const rate = r.updates / r.seconds;
    const ratio = base ? rate / (base.updates / base.seconds) : NaN;
    return [
      r.dataset,
      r.mode,
      String(r.updates),
      r.seconds.toFixed(2),
      Math.round(rate).toLocaleString("en"),
      `${ratio.toFixed(2)}x`,
      r.note ?? "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(fmt(line));
}

async function main(): Promise<void> {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) {
    console.error(
      "set DATABASE_URL (a PostgreSQL server; the bench creates and drops its own database)",
    );
    Deno.exit(2);
  }
  const brokers = Deno.env.get("KAFKA_BROKERS")?.split(",").map((b) => b.trim()).filter(Boolean);
  const runways = createRunwayIndex(
    parseRunwaysCsv(await Deno.readTextFile("fixtures/ourairports_runways.csv")).ends,
  );
  const name = `bench_worker_${Math.floor(Date.now() / 1000)}`;
  const admin = connect(url, { max: 1 });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const sql = connect(target.href, { max: 10 });
  const rows: Row[] = [];
  try {
    await migrate(sql);
    const [server] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    const version = server?.v;
    console.log(
      `PostgreSQL ${version}, database ${name}; Kafka: ${brokers?.join(",") ?? "not set"}`,
    );
    for (const { name: label, path } of DATASETS) {
      const data = await load(label, path);
      console.log(
        `${label}: ${data.messages.length} updates, ${data.distinct.length} distinct positions`,
      );
      const best = (fn: () => Promise<number>) => bestOf(REPEAT, sql, fn);
      rows.push({
        dataset: label,
        mode: "engine only (no I/O)",
        updates: data.flights.length,
        seconds: await best(() => Promise.resolve(engineOnly(data, runways))),
      });
      rows.push({
        dataset: label,
        mode: "baseline INSERT",
        updates: data.distinct.length,
        seconds: await best(() => baselineInsert(sql, data)),
        note: `history only, ${INSERT_ROWS} rows/statement`,
      });
      rows.push({
        dataset: label,
        mode: "baseline COPY",
        updates: data.distinct.length,
        seconds: await best(() => baselineCopy(sql, data)),
        note: "history only",
      });
      for (const maxBatchSize of [500, 2000]) {
        rows.push({
          dataset: label,
          mode: `worker, memory bus`,
          updates: data.messages.length,
          seconds: await best(async () => {
            const bus = new MemoryBus({ maxBatchSize, maxMessagesPerPartition: 1_000_000 });
            try {
              const topics = topicsFor("memory");
              await send(bus, topics.updates, data.messages);
              return await throughWorker(bus, sql, data, topics, runways);
            } finally {
              await bus.close();
            }
          }),
          note: `batches of ${maxBatchSize}; all tables`,
        });
      }
      if (brokers && brokers.length > 0) {
        let produce = Infinity;
        const seconds = await best(async () => {
          const bus = await openBus({ brokers, clientId: "bench-worker" });
          try {
            const topics = topicsFor("kafka");
            await bus.ensureTopics([
              { ...TOPICS.updates, name: topics.updates },
              { ...TOPICS.anomalies, name: topics.anomalies },
              { ...TOPICS.deadletter, name: topics.deadletter },
            ]);
            const started = performance.now();
            await send(bus, topics.updates, data.messages);
            produce = Math.min(produce, (performance.now() - started) / 1000);
            return await throughWorker(bus, sql, data, topics, runways);
          } finally {
            await bus.close();
          }
        });
        rows.push({
          dataset: label,
          mode: "worker, Kafka",
          updates: data.messages.length,
          seconds,
          note: `batches of 500; all tables; producing took ${produce.toFixed(1)} s before`,
        });
      }
      const [counts] = await sql<{ h: string; s: string; a: string }[]>`
        SELECT (SELECT count(*) FROM flights_history) AS h, (SELECT count(*) FROM flights) AS s,
               (SELECT count(*) FROM anomalies) AS a`;
      console.log(
        `  last worker run wrote ${counts!.h} history rows, ${counts!.s} sessions, ${
          counts!.a
        } events`,
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  }
  console.log();
  printTable(rows);
}

if (import.meta.main) await main();
