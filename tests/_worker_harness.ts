/**
 * What the worker tests share: the real recordings as the producer's replay
 * turns them into flight_update envelopes, unique topic and group names,
 * bounded waits, an exact dump of every row the worker writes, and a bus
 * whose consumers crash between the database commit and the offset commit.
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import type { Bus, OutgoingMessage, SubscribeOptions } from "../lib/bus/types.ts";
import type { Sql } from "../lib/db/mod.ts";
import { createRunwayIndex, parseRunwaysCsv } from "../lib/detect/runways.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { silentLogger } from "../lib/log.ts";
import {
  startWorker,
  type StartWorkerOptions,
  type WorkerHandle,
  type WorkerTopics,
} from "../services/worker/worker.ts";

/** Chronological, so that data time only moves forward across files. */
export const STREAM = [
  "fixtures/opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
  "fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  "fixtures/opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl",
] as const;

export const RUNWAYS = createRunwayIndex(
  parseRunwaysCsv(await Deno.readTextFile("fixtures/ourairports_runways.csv")).ends,
);

const RUN = crypto.randomUUID().slice(0, 8);
let counter = 0;
/** A topic or group name no other test or run uses. */
export const unique = (label: string) => `test.worker.${label}.${RUN}.${counter++}`;

/** The envelopes of some recordings, and what a correct worker must end up with. */
export interface Recorded {
  messages: OutgoingMessage[];
  /** Distinct (icao24, time_position). */
  positions: number;
  /** The last update per aircraft (the latest time_position, the last among equals). */
  latest: Map<string, Flight>;
}

/** flight_update envelopes of real recordings, as the producer's replay builds them. */
export async function recorded(files: readonly string[]): Promise<Recorded> {
  const messages: OutgoingMessage[] = [];
  const positions = new Set<string>();
  const latest = new Map<string, Flight>();
  for (const path of files) {
    const file = await Deno.open(path);
    for await (const item of readRecording(file.readable, { gzip: path.endsWith(".gz") })) {
      if (item.kind !== "snapshot") continue;
      const { batch, flights } = buildPollMessages(item.reply, {
        source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 1 },
        producedAt: new Date(item.reply.time * 1000).toISOString(),
        topics: { state: "unused", updates: "updates" },
      });
      messages.push(...(batch.find((t) => t.topic === "updates")?.messages ?? []));
      for (const f of flights) {
        positions.add(`${f.icao24}|${f.time_position_unix}`);
        const held = latest.get(f.icao24);
        if (!held || f.time_position_unix >= held.time_position_unix) latest.set(f.icao24, f);
      }
    }
  }
  return { messages, positions: positions.size, latest };
}

/** Topic names unique to one test. */
export function topicsFor(label: string): WorkerTopics {
  return {
    updates: unique(`${label}.updates`),
    anomalies: unique(`${label}.anomalies`),
    deadletter: unique(`${label}.deadletter`),
  };
}

/**
 * A worker with the test defaults (a consumer group of its own, the bundled
 * runways, no log lines); `options` overrides any of them.
 */
export function startTestWorker(
  options: Pick<StartWorkerOptions, "bus" | "db"> & Partial<StartWorkerOptions>,
): Promise<WorkerHandle> {
  return startWorker({
    config: { WORKER_GROUP_ID: unique("group"), LOG_LEVEL: "warn" },
    runways: RUNWAYS,
    log: silentLogger,
    ...options,
  });
}

/** Sends `messages` in batches of 1,000. */
export async function send(
  bus: Bus,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  for (let i = 0; i < messages.length; i += 1000) {
    await bus.send([{ topic, messages: messages.slice(i, i + 1000) }]);
  }
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long. Default 120 s. */
  deadlineMs?: number;
  /** Between checks. Default 25 ms. */
  pollMs?: number;
}

/** Polls `done` until it is true; fails naming `what` after the deadline. */
export async function waitFor(
  done: () => boolean | Promise<boolean>,
  what: string,
  options: WaitOptions = {},
): Promise<void> {
  const deadlineMs = options.deadlineMs ?? 120_000;
  const deadline = Date.now() + deadlineMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${deadlineMs} ms waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 25));
  }
}

/** Every row the worker writes, in a stable order, for exact comparisons. */
export async function dump(sql: Sql) {
  return {
    history: await sql`
      SELECT icao24, extract(epoch FROM ts)::float8 AS ts, callsign, session_id, on_ground, squawk,
        raw_lat, raw_lon, raw_altitude_m, lat, lon, altitude_m, velocity_mps, heading_deg,
        vertical_rate_mps, geo_altitude_m, extract(epoch FROM last_contact)::float8 AS last_contact,
        position_source, category, spi, origin_country, source
      FROM flights_history ORDER BY icao24, ts`,
    sampled: await sql`
      SELECT icao24, extract(epoch FROM ts)::float8 AS ts, session_id, lat, lon, sample
      FROM flights_history_sampled ORDER BY icao24, ts`,
    current: await sql`
      SELECT icao24, callsign, lat, lon, altitude_m, on_ground, state, ts, session_id
      FROM flights_current ORDER BY icao24`,
    sessions: await sql`
      SELECT id, icao24, callsign, first_seen, last_seen, ended_at, end_reason
      FROM flights ORDER BY id`,
    anomalies: await sql`
      SELECT id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon, altitude_m,
        evidence
      FROM anomalies ORDER BY id`,
  };
}

/** The rows of {@link dump}. */
export type Dump = Awaited<ReturnType<typeof dump>>;

/**
 * The first difference between two dumps, row for row, or null. (A deepEqual
 * diff of 10k rows would not finish.)
 */
export function difference(actual: Dump, expected: Dump): string | null {
  for (const table of ["history", "sampled", "current", "sessions", "anomalies"] as const) {
    if (actual[table].length !== expected[table].length) {
      return `${table}: ${actual[table].length} rows, want ${expected[table].length}`;
    }
    const a = actual[table].map((r) => JSON.stringify(r));
    const e = expected[table].map((r) => JSON.stringify(r));
    const i = a.findIndex((row, k) => row !== e[k]);
    if (i !== -1) return `${table} row ${i}:\n  got  ${a[i]}\n  want ${e[i]}`;
  }
  return null;
}

/**
 * A bus whose consumers "crash" once `crashAfter` batches have been handled:
 * that batch's handler resolves (the database commit and the publishing
 * happened) and then it throws, so its offsets are not committed. With
 * `dead` (the default), every later batch throws too, as if the process
 * were gone.
 */
export function crashingBus(
  inner: Bus,
  crashAfter: number,
  options: { dead?: boolean } = {},
): Bus & { crashed: boolean } {
  const dead = options.dead ?? true;
  let handled = 0;
  const wrapper = {
    crashed: false,
    kind: inner.kind,
    ensureTopics: inner.ensureTopics.bind(inner),
    send: inner.send.bind(inner),
    healthy: inner.healthy.bind(inner),
    close: inner.close.bind(inner),
    subscribe(options: SubscribeOptions) {
      return inner.subscribe({
        ...options,
        async eachBatch(batch) {
          if (wrapper.crashed && dead) throw new Error("simulated crash: process gone");
          await options.eachBatch(batch);
          if (++handled === crashAfter) {
            wrapper.crashed = true;
            throw new Error("simulated crash after the database commit, before the offset commit");
          }
        },
      });
    },
  };
  return wrapper;
}
