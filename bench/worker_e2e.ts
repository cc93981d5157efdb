/**
 * Worker throughput end to end, Kafka -> worker -> PostgreSQL (decoding,
 * validation, Kalman smoothing, detectors, sessions, the COPY write path,
 * the sampled tier, anomalies published, offsets committed after the
 * transaction), next to a raw COPY of the same history rows into the same
 * table in the same run, and the on-disk cost of a history row.
 *
 * Run: `deno task bench:worker [flags]` with DATABASE_URL and KAFKA_BROKERS
 * set. Flags (each also an environment variable):
 *
 * - `--messages=N` (BENCH_MESSAGES, 300,000): updates of the drain runs;
 * - `--workers=1,2` (BENCH_WORKERS): the drain runs, by group size (2: a
 *   second worker process in the same group, sharing the partitions);
 * - `--seconds=S` (BENCH_SUSTAIN_S, 60; 0 skips it) and `--rate=R`
 *   (BENCH_RATE, 20,000 updates/s): the sustained run, with
 *   `--sustain-workers=N` (BENCH_SUSTAIN_WORKERS, 1) workers;
 * - `--partitions=P` (BENCH_PARTITIONS, 6), `--batch=B` (WORKER_BATCH_SIZE,
 *   2,000), `--concurrency=C` (WORKER_PARTITION_CONCURRENCY, 3);
 * - `--cpu-prof=DIR` (BENCH_CPU_PROF): a V8 CPU profile of this process
 *   during each drain (the in-process worker only, not the input's
 *   preparation), written to `DIR/drain<N>.cpuprofile`, and its sampled
 *   allocations to `DIR/drain<N>.heapprofile`; summarize them with
 *   `deno run --allow-read bench/cpuprofile_top.ts FILE`.
 *
 * The 10-minute run: `deno task bench:worker --workers= --seconds=600 --rate=20000`.
 *
 * TODO(#11): the drain reaches about 0.15x the raw COPY (issue: 0.5x) at about 48 us of CPU per
 * update on one core (docs/history.md, "CPU per update"): what is left is garbage collection of
 * the per-update objects that live until their batch commits, `JSON.parse`, kafkajs' record
 * decoding and postgres.js' buffers.
 *
 * Input: `switzerland_day_copies_for_load`, derived from the real
 * Switzerland full-day recording (842 aircraft at 10 s): each poll is
 * repeated for copies of the fleet under other icao24 addresses (the first
 * hex digit replaced), enough copies for the messages asked for. Positions,
 * times and everything else are the recording's.
 *
 * Runs:
 * 1. raw COPY of the distinct rows into flights_history (empty table), text
 *    and binary; the binary one (as the worker writes) is the baseline;
 * 2. drain: all messages produced first, then the group of `--workers`,
 *    timed until every update is committed;
 * 3. sustained: a producer process at `--rate` for `--seconds` while the
 *    workers consume; the group's lag (high watermarks minus committed
 *    offsets) sampled every second, in messages and in seconds of input;
 *    updates/s committed next to the raw COPY rate of run 1, and a verdict
 *    saying which side limited the run (bench/_worker_feed.ts: the feed
 *    encodes each poll once and keeps every partition in order).
 *
 * Each run prints where this process's time went, per stage of a batch
 * (`processing_stage_seconds_total`: decode, process, the transaction's
 * statements, commit, alerts, publish); with several partitions in flight
 * at once the shares overlap.
 *
 * Uses a database of its own (`bench_worker_<unix s>`, dropped at the end)
 * and topics of its own.
 *
 * @module
 */
import { Session } from "node:inspector";
import process from "node:process";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Kafka, logLevel } from "kafkajs";
import { type Flight, FlightUpdateEnvelope } from "../contracts/flight.ts";
import { checkFlightUpdateEnvelope } from "../contracts/flight_check.ts";
import { TOPICS } from "../contracts/topics.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { OutgoingMessage } from "../lib/bus/types.ts";
import { type Encoded, preEncode, produceAll, runProducer } from "./_worker_feed.ts";
import { derived, polls } from "./_worker_input.ts";
import { connect, migrate, type Sql } from "../lib/db/mod.ts";
import { BinaryCopyBuffer } from "../lib/db/copy_binary.ts";
import { copyLine, encodeHistoryRow, HISTORY_COLUMN_LIST } from "../lib/db/history_rows.ts";
import { createRunwayIndex, parseRunwaysCsv, type RunwayIndex } from "../lib/detect/runways.ts";
import { silentLogger } from "../lib/log.ts";
import { startWorker, type WorkerHandle, type WorkerTopics } from "../services/worker/worker.ts";

/** `--name=value` of the command line, else the environment variable, else the default. */
function knob(flag: string, variable: string, fallback: string): string {
  const prefix = `--${flag}=`;
  const arg = Deno.args.find((a) => a.startsWith(prefix));
  return arg?.slice(prefix.length) ?? Deno.env.get(variable) ?? fallback;
}
const num = (flag: string, variable: string, fallback: number) => {
  const value = Number(knob(flag, variable, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`--${flag}: not a number >= 0`);
  return value;
};
const MESSAGES = num("messages", "BENCH_MESSAGES", 300_000);
const RATE = num("rate", "BENCH_RATE", 20_000);
const SUSTAIN_S = num("seconds", "BENCH_SUSTAIN_S", 60);
const PARTITIONS = num("partitions", "BENCH_PARTITIONS", 6);
/** Drain runs: how many workers each (`--workers=1,2`: one, then two in one group). */
const DRAIN_WORKERS = knob("workers", "BENCH_WORKERS", "1,2").split(",").filter(Boolean)
  .map(Number);
/** Workers in the group during the sustained run. */
const SUSTAIN_WORKERS = num("sustain-workers", "BENCH_SUSTAIN_WORKERS", 1);
const BATCH = num("batch", "WORKER_BATCH_SIZE", 2000);
const CONCURRENCY = num("concurrency", "WORKER_PARTITION_CONCURRENCY", 3);
/** Directory for the drains' CPU profiles, or "" (none). */
const CPU_PROF = knob("cpu-prof", "BENCH_CPU_PROF", "");

/**
 * Starts V8's sampling profiler in this process (node:inspector); the returned function
 * stops it and writes the profile to `file` (Chrome DevTools' .cpuprofile JSON).
 */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => error ? reject(error) : resolve(result))
    );
  await post("Profiler.enable");
  await post("Profiler.start");
  // Allocations too (garbage included), sampled every 64 kB: where the collector's work comes from.
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 65536,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = await post("Profiler.stop") as { profile: unknown };
    const heap = await post("HeapProfiler.stopSampling") as { profile: unknown };
    session.disconnect();
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")) || ".", { recursive: true });
    await Deno.writeTextFile(file, JSON.stringify(profile));
    const heapFile = file.replace(/\.cpuprofile$/, ".heapprofile");
    await Deno.writeTextFile(heapFile, JSON.stringify(heap.profile));
    console.error(`  CPU profile of the drain: ${file}; allocations: ${heapFile}`);
  };
}

function topicsFor(label: string): WorkerTopics {
  const run = crypto.randomUUID().slice(0, 8);
  return {
    updates: `bench.worker.${label}.updates.${run}`,
    anomalies: `bench.worker.${label}.anomalies.${run}`,
    deadletter: `bench.worker.${label}.deadletter.${run}`,
  };
}

async function createTopics(brokers: string[], topics: WorkerTopics): Promise<void> {
  const bus = await openBus({ brokers, clientId: "bench-worker-admin" });
  try {
    await bus.ensureTopics([
      { ...TOPICS.updates, name: topics.updates, partitions: PARTITIONS },
      { ...TOPICS.anomalies, name: topics.anomalies },
      { ...TOPICS.deadletter, name: topics.deadletter },
    ]);
  } finally {
    await bus.close();
  }
}

/**
 * Raw COPY of the distinct rows into an empty flights_history, in 2,000-row
 * chunks of one COPY, binary (as the worker writes) or text; seconds.
 */
async function rawCopy(
  sql: Sql,
  flights: readonly Flight[],
  format: "binary" | "text",
): Promise<number> {
  const days = new Set(flights.map((f) => new Date(f.time_position_unix * 1000).toISOString()));
  for (const day of new Set([...days].map((d) => d.slice(0, 10)))) {
    await sql`SELECT flights_history_ensure_partition(${day}::date)`;
  }
  const started = performance.now();
  const writable = await sql.unsafe(
    `COPY flights_history (${HISTORY_COLUMN_LIST}) FROM STDIN (FORMAT ${format})`,
  ).writable();
  await pipeline(
    Readable.from((function* () {
      if (format === "text") {
        for (let i = 0; i < flights.length; i += 2000) {
          yield flights.slice(i, i + 2000).map((f) => copyLine(f, null, null)).join("");
        }
        return;
      }
      const out = new BinaryCopyBuffer(1 << 20);
      for (let i = 0; i < flights.length; i++) {
        encodeHistoryRow(out, flights[i]!, null, null);
        if (i % 2000 === 1999) yield out.take();
      }
      yield out.finish();
    })()),
    writable,
  );
  return (performance.now() - started) / 1000;
}

/** The group's lag: high watermarks minus committed offsets, messages. */
async function groupLag(admin: ReturnType<Kafka["admin"]>, group: string, topic: string) {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const byPartition = new Map(
    (committed?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]),
  );
  let lag = 0;
  for (const p of await admin.fetchTopicOffsets(topic)) {
    lag += Number(p.high) - (byPartition.get(p.partition) ?? 0);
  }
  return lag;
}

/**
 * The runway index, built once per process before any clock starts (a worker builds it once
 * at start; parsing the CSV inside a drain's window added 0.4 s of CPU to it).
 */
let runwayIndex: Promise<RunwayIndex> | undefined;
function runways(): Promise<RunwayIndex> {
  return runwayIndex ??= Deno.readTextFile("fixtures/ourairports_runways.csv")
    .then((csv) => createRunwayIndex(parseRunwaysCsv(csv).ends));
}

async function startBenchWorker(
  brokers: string[],
  sql: Sql,
  topics: WorkerTopics,
  group: string,
): Promise<{ worker: WorkerHandle; close(): Promise<void> }> {
  const bus = await openBus({ brokers, clientId: "bench-worker" });
  const worker = await startWorker({
    config: {
      WORKER_GROUP_ID: group,
      LOG_LEVEL: "warn",
      WORKER_BATCH_SIZE: BATCH,
      WORKER_PARTITION_CONCURRENCY: CONCURRENCY,
    },
    bus,
    db: { sql },
    runways: await runways(),
    topics,
    log: silentLogger,
    ensureTopics: false,
    partitions: PARTITIONS,
  });
  return {
    worker,
    async close() {
      await worker.stop();
      await bus.close();
    },
  };
}

/** A second group member in its own process (the other core): `--member URL TOPICS GROUP`. */
function spawnMember(url: string, topics: WorkerTopics, group: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "--member",
      url,
      JSON.stringify(topics),
      group,
      `--batch=${BATCH}`,
      `--concurrency=${CONCURRENCY}`,
      `--partitions=${PARTITIONS}`,
    ],
    stdout: "inherit",
    stderr: "inherit",
    stdin: "piped",
  }).spawn();
}

async function member(url: string, topics: WorkerTopics, group: string): Promise<void> {
  const brokers = Deno.env.get("KAFKA_BROKERS")!.split(",");
  const sql = connect(url, { max: CONCURRENCY + 1 });
  const { close } = await startBenchWorker(brokers, sql, topics, group);
  // Runs until the parent closes stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  await close();
  await sql.end({ timeout: 5 });
}

async function waitProcessed(
  admin: ReturnType<Kafka["admin"]>,
  group: string,
  topic: string,
  total: number,
) {
  const started = performance.now();
  for (;;) {
    const lag = await groupLag(admin, group, topic);
    if (lag === 0) return (performance.now() - started) / 1000;
    if (performance.now() - started > 30 * 60_000) throw new Error(`stuck at lag ${lag}/${total}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What a fine row costs on disk, and a day of 20,000 aircraft at 10 s and at 1 s. */
function costLines(what: string, cost: { bytes: number; rows: number }): string {
  const perRow = cost.bytes / cost.rows;
  const lines = [
    `on disk, ${what}: ${cost.bytes} bytes for ${cost.rows} rows (pg_total_relation_size of ` +
    `the partitions: heap, unique index, BRIN) = ${perRow.toFixed(1)} bytes/row`,
  ];
  for (const [label, perDay] of [["10 s", 20_000 * 8640], ["1 s", 20_000 * 86_400]] as const) {
    lines.push(
      `  a day of 20,000 aircraft at ${label}: ${perDay.toLocaleString("en")} rows = ` +
        `${(perDay * perRow / 1e9).toFixed(1)} GB in the fine tier; the sampled tier ` +
        `(one point per 5 min) ${((20_000 * 288 * perRow) / 1e6).toFixed(0)} MB/day`,
    );
  }
  return lines.join("\n");
}

/**
 * The decode stage alone, on the input: JSON.parse then zod's safeParse (the schema of record)
 * against JSON.parse then the worker's hand-written check, per update, in this run.
 */
function decodeLine(messages: Encoded[]): string {
  const decoder = new TextDecoder();
  const texts = messages.map((m) => decoder.decode(m.value));
  const time = (validate: (json: unknown) => unknown) => {
    const started = performance.now();
    for (const text of texts) validate(JSON.parse(text));
    return (performance.now() - started) * 1000 / texts.length;
  };
  time((json) => FlightUpdateEnvelope.safeParse(json)); // warm both up
  time(checkFlightUpdateEnvelope);
  const zod = time((json) => FlightUpdateEnvelope.safeParse(json));
  const check = time(checkFlightUpdateEnvelope);
  const parse = time((json) => json);
  return `decode per update: JSON.parse + zod ${zod.toFixed(2)} us, JSON.parse + hand-written ` +
    `check ${check.toFixed(2)} us (the worker's) = ${(zod / check).toFixed(1)}x; JSON.parse ` +
    `alone ${parse.toFixed(2)} us`;
}

/**
 * Which side limited a sustained run. The feed fell short when it produced under 95% of the
 * rate asked; the worker kept up when the group's lag stayed within 5 s of input (p99 and at
 * the end): the target is both, at 20,000 updates/s.
 */
export function verdict(run: {
  asked: number;
  produced: number;
  committed: number;
  lagP99S: number;
  lagEndS: number;
}): string {
  const fed = run.produced >= 0.95 * run.asked;
  const keptUp = run.lagP99S <= 5 && run.lagEndS <= 5;
  const produced = `${Math.round(run.produced)}/s`;
  const committed = `${Math.round(run.committed)}/s`;
  if (fed && keptUp) {
    return `the worker kept up with the ${produced} asked (lag p99 ${run.lagP99S.toFixed(1)} s ` +
      `<= 5 s): neither side was the limit at this rate`;
  }
  if (fed) {
    return `the worker is the limit: it committed ${committed} of the ${produced} produced ` +
      `(the rate asked) and its lag grew past 5 s`;
  }
  if (keptUp) {
    return `the feed is the limit: it produced ${produced} of the ${run.asked}/s asked and the ` +
      `worker kept up with that; this run does not show the worker's limit`;
  }
  return `both fell short: the feed produced ${produced} of the ${run.asked}/s asked, and the ` +
    `worker did not keep up even with that (committed ${committed}, lag past 5 s): the worker ` +
    `is the limit, at about ${committed}`;
}

/**
 * CPU time `used` by this process (`process.cpuUsage(since)`) over `wallS` of wall time, and
 * per update when `updates` (the updates this process handled) is given.
 */
function cpuShare(used: { user: number; system: number }, wallS: number, updates?: number) {
  const s = (used.user + used.system) / 1e6;
  const per = updates ? `; ${(s * 1e6 / updates).toFixed(1)} us per update handled` : "";
  return {
    seconds: s,
    text: `${s.toFixed(1)} s in ${wallS.toFixed(1)} s = ${
      (100 * s / wallS).toFixed(0)
    }% of a core (its JavaScript runs on one)${per}`,
  };
}

/** `stage share%` of this process's wall time, largest first. */
async function stageBreakdown(worker: WorkerHandle, wallS: number): Promise<string> {
  const { values } = await worker.metrics.stageSeconds.get();
  const parts = values.map((v) => ({ stage: String(v.labels.stage), s: v.value }))
    .sort((a, b) => b.s - a.s);
  const busy = parts.reduce((n, p) => n + p.s, 0);
  return parts.filter((p) => p.s > 0).map((p) => `${p.stage} ${(100 * p.s / wallS).toFixed(0)}%`)
    .join(", ") +
    `; the rest (${(100 * (1 - busy / wallS)).toFixed(0)}%) outside the handler ` +
    `(fetching, waiting, other partitions in parallel overlap)`;
}

async function rowCost(sql: Sql) {
  const [row] = await sql<{ bytes: string; rows: string; heap: string }[]>`
    SELECT pg_total_relation_size(c.oid)::text AS bytes,
           (SELECT count(*) FROM flights_history)::text AS rows,
           pg_relation_size(c.oid)::text AS heap
    FROM pg_class c WHERE c.relname = (
      SELECT c2.relname FROM pg_inherits i JOIN pg_class c2 ON c2.oid = i.inhrelid
      WHERE i.inhparent = 'flights_history'::regclass
      ORDER BY pg_total_relation_size(c2.oid) DESC LIMIT 1)`;
  const [all] = await sql<{ bytes: string; rows: string }[]>`
    SELECT sum(pg_total_relation_size(i.inhrelid))::text AS bytes,
           (SELECT count(*) FROM flights_history)::text AS rows
    FROM pg_inherits i WHERE i.inhparent = 'flights_history'::regclass`;
  return { bytes: Number(all!.bytes), rows: Number(all!.rows), biggest: row };
}

async function main(): Promise<void> {
  const url = Deno.env.get("DATABASE_URL");
  const brokers = Deno.env.get("KAFKA_BROKERS")?.split(",").map((b) => b.trim()).filter(Boolean);
  if (!url || !brokers?.length) {
    console.error("set DATABASE_URL and KAFKA_BROKERS (the bench creates its own database/topics)");
    Deno.exit(2);
  }
  const name = `bench_worker_${Math.floor(Date.now() / 1000)}`;
  const admin = connect(url, { max: 1 });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const sql = connect(target.href, { max: CONCURRENCY + 2 });
  const kafka = new Kafka({ brokers, clientId: "bench-worker-lag", logLevel: logLevel.NOTHING });
  const kadmin = kafka.admin();
  await kadmin.connect();
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    await migrate(sql);
    const [server] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    say(
      `PostgreSQL ${server?.v}; Kafka ${brokers.join(",")}; ${PARTITIONS} partitions; ` +
        `batch ${BATCH}, concurrency ${CONCURRENCY}; ${navigator.hardwareConcurrency} cores`,
    );
    const replies = await polls();
    const outgoing: OutgoingMessage[] = [];
    const flights: Flight[] = [];
    for (const { message, flight } of derived(replies, MESSAGES)) {
      outgoing.push(message);
      flights.push(flight);
    }
    const messages = preEncode(outgoing);
    outgoing.length = 0;
    const distinct = [...new Map(flights.map((f) => [`${f.icao24}|${f.time_position_unix}`, f]))
      .values()];
    say(
      `input switzerland_day_copies_for_load: ${messages.length} updates, ` +
        `${distinct.length} distinct positions, ${
          new Set(flights.map((f) => f.icao24)).size
        } aircraft`,
    );

    say(decodeLine(messages));
    await runways();

    const textS = await rawCopy(sql, distinct, "text");
    await sql`TRUNCATE flights_history`;
    const copyS = await rawCopy(sql, distinct, "binary");
    const copyRate = distinct.length / copyS;
    say(
      `raw COPY into flights_history (the baseline, binary as the worker writes): ` +
        `${copyS.toFixed(2)} s, ${Math.round(copyRate)} rows/s; as text: ${textS.toFixed(2)} s, ` +
        `${Math.round(distinct.length / textS)} rows/s`,
    );
    say(costLines("the raw COPY's rows (no session id, smoothed = raw)", await rowCost(sql)));
    await sql`TRUNCATE flights_history, flights_history_sampled, flights_current, flights, anomalies`;

    for (const members of DRAIN_WORKERS) {
      const topics = topicsFor(`drain${members}`);
      await createTopics(brokers, topics);
      const produceS = await produceAll(brokers, topics.updates, messages, PARTITIONS);
      const group = `bench-${topics.updates}`;
      const stopProfile = CPU_PROF
        ? await startProfile(`${CPU_PROF}/drain${members}.cpuprofile`)
        : null;
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      const one = await startBenchWorker(brokers, sql, topics, group);
      const children = Array.from(
        { length: members - 1 },
        () => spawnMember(target.href, topics, group),
      );
      await waitProcessed(kadmin, group, topics.updates, messages.length);
      const seconds = (performance.now() - started) / 1000;
      const cpuUsed = process.cpuUsage(cpuStarted);
      await stopProfile?.();
      const shared = await one.worker.metrics.value(one.worker.metrics.processed);
      const cpu = cpuShare(cpuUsed, seconds, shared).text;
      const stages = await stageBreakdown(one.worker, seconds);
      for (const child of children) await child.stdin.close();
      for (const child of children) await child.status;
      await one.close();
      const rate = messages.length / seconds;
      say(
        `drain, ${members} worker${members > 1 ? "s" : ""}: ${messages.length} updates in ` +
          `${seconds.toFixed(2)} s = ${Math.round(rate)} updates/s end to end = ` +
          `${(rate / copyRate).toFixed(2)}x raw COPY (producing took ${produceS.toFixed(1)} s ` +
          `before; this process handled ${shared})`,
      );
      say(`  this process's time per stage: ${stages}`);
      say(`  this process's CPU: ${cpu}`);
      const [n] = await sql<{ h: string; s: string }[]>`
        SELECT (SELECT count(*) FROM flights_history)::text AS h,
               (SELECT count(*) FROM flights_history_sampled)::text AS s`;
      say(`  wrote ${n!.h} fine rows, ${n!.s} sampled rows`);
      if (members === DRAIN_WORKERS[0]) say(costLines("the worker's rows", await rowCost(sql)));
      await sql`TRUNCATE flights_history, flights_history_sampled, flights_current, flights,
        anomalies`;
    }

    if (SUSTAIN_S > 0) {
      const topics = topicsFor("sustained");
      await createTopics(brokers, topics);
      const group = `bench-${topics.updates}`;
      const one = await startBenchWorker(brokers, sql, topics, group);
      const children = Array.from(
        { length: SUSTAIN_WORKERS - 1 },
        () => spawnMember(target.href, topics, group),
      );
      const prod = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          "--produce",
          topics.updates,
          String(RATE),
          String(SUSTAIN_S),
          `--partitions=${PARTITIONS}`,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      // The window opens once the producer has encoded its input and is connected.
      const ready = prod.stdout.pipeThrough(new TextDecoderStream()).getReader();
      for (let seen = ""; !seen.includes("ready");) {
        const { value, done } = await ready.read();
        if (done) throw new Error("the producer process ended before it was ready");
        seen += value;
      }
      await ready.cancel();
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      const lags: number[] = [];
      let done = false;
      prod.status.then(() => done = true);
      let nextReport = started + 60_000;
      while (!done) {
        await new Promise((r) => setTimeout(r, 1000));
        lags.push(await groupLag(kadmin, group, topics.updates));
        if (performance.now() >= nextReport) {
          nextReport += 60_000;
          const recent = lags.slice(-60);
          console.error(
            `  ${Math.round((performance.now() - started) / 1000)} s: lag now ${
              lags[lags.length - 1]
            }, max of the last minute ${Math.max(...recent)} messages`,
          );
        }
      }
      const window = (performance.now() - started) / 1000;
      const cpuUsed = process.cpuUsage(cpuStarted);
      const produced = (await kadmin.fetchTopicOffsets(topics.updates))
        .reduce((n, p) => n + Number(p.high), 0);
      const lagEnd = await groupLag(kadmin, group, topics.updates);
      const stages = await stageBreakdown(one.worker, window);
      const handled = await one.worker.metrics.value(one.worker.metrics.processed);
      const cpu = cpuShare(cpuUsed, window, handled).text;
      for (const child of children) await child.stdin.close();
      for (const child of children) await child.status;
      await one.close();
      const sorted = [...lags].sort((a, b) => a - b);
      const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      const producedRate = produced / window;
      const committedRate = (produced - lagEnd) / window;
      const asSeconds = (lag: number) => lag / Math.max(1, producedRate);
      const p99 = asSeconds(p(0.99));
      const max = sorted[sorted.length - 1] ?? 0;
      say(
        `sustained ${SUSTAIN_S} s, ${SUSTAIN_WORKERS} worker${SUSTAIN_WORKERS > 1 ? "s" : ""}, ` +
          `${RATE} updates/s asked: produced ${Math.round(producedRate)}/s ` +
          `(${produced} in ${window.toFixed(1)} s)`,
      );
      say(
        `  committed ${Math.round(committedRate)} updates/s end to end = ` +
          `${(committedRate / copyRate).toFixed(2)}x raw COPY (${Math.round(copyRate)} rows/s, ` +
          `this run)`,
      );
      say(
        `  group lag p50 ${p(0.5)}, p99 ${p(0.99)}, max ${max} messages = p99 ` +
          `${p99.toFixed(1)} s, max ${asSeconds(max).toFixed(1)} s of input at the produced ` +
          `rate; ${lagEnd} left when the producer stopped`,
      );
      say(`  verdict: ${
        verdict({
          asked: RATE,
          produced: producedRate,
          committed: committedRate,
          lagP99S: p99,
          lagEndS: asSeconds(lagEnd),
        })
      }`);
      say(`  this process's time per stage: ${stages}`);
      say(`  this process's CPU: ${cpu}`);
    }
  } finally {
    await kadmin.disconnect();
    await sql.end({ timeout: 5 });
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  const [mode, ...args] = Deno.args;
  if (mode === "--member") await member(args[0]!, JSON.parse(args[1]!), args[2]!);
  else if (mode === "--produce") {
    await runProducer({ topic: args[0]!, rate: Number(args[1]), seconds: Number(args[2]) }, {
      partitions: PARTITIONS,
    });
  } else await main();
  Deno.exit(0);
}
