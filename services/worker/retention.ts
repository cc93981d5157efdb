/**
 * Retention of the two history tiers (migrations/0002_history_tiers.sql),
 * run by the worker every hour:
 *
 * 1. Creates the partitions writers are about to need (the fine tier's day
 *    partitions up to {@link AHEAD_DAYS} ahead, the sampled tier's month
 *    partitions for this month and the next), so a writer seldom creates one
 *    itself (creating one locks the parent table exclusively).
 * 2. Drops whole partitions whose upper bound is older than the retention:
 *    fine day partitions after HISTORY_RETENTION_DAYS, sampled month
 *    partitions after HISTORY_SAMPLED_RETENTION_DAYS. Each goes by
 *    `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` (a SHARE UPDATE
 *    EXCLUSIVE lock on the parent: inserts into and reads of the other
 *    partitions go on) and then `DROP TABLE` of the detached table, which
 *    no writer touches any more. A plain `DROP TABLE` of a partition would
 *    take an ACCESS EXCLUSIVE lock on the parent and queue behind, then
 *    block, every open write transaction. A detach interrupted half way
 *    (a crash) is finished with `DETACH ... FINALIZE`.
 * 3. Deletes sessions, anomalies and current rows older than the sampled
 *    tier's retention: they are kept as long as the sampled trails.
 *
 * A retention of 0 days keeps everything. Several workers may run the job
 * at once: a partition another one dropped meanwhile is skipped.
 *
 * @module
 */
import type { Sql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log.ts";

/** Fine-tier day partitions created ahead of time, days after today. */
export const AHEAD_DAYS = 2;
/** How often the job runs, ms. */
export const RETENTION_INTERVAL_MS = 3600 * 1000;

/** Options for {@link runRetention}. */
export interface RetentionOptions {
  /** HISTORY_RETENTION_DAYS; 0 keeps the fine tier forever. */
  fineDays: number;
  /** HISTORY_SAMPLED_RETENTION_DAYS; 0 keeps the sampled tier, sessions and anomalies forever. */
  sampledDays: number;
  /** Default: the wall clock. */
  now?: () => Date;
}

/** What one run did. */
export interface RetentionResult {
  /** Partitions that exist for the coming days and months (created now or before). */
  ensured: string[];
  /** Partitions dropped, oldest first. */
  dropped: string[];
  sessionsDeleted: number;
  anomaliesDeleted: number;
  currentDeleted: number;
}

const DAY_MS = 86_400_000;
const FINE = /^flights_history_(\d{4})(\d{2})(\d{2})$/;
const SAMPLED = /^flights_history_sampled_(\d{4})(\d{2})$/;

interface Partition {
  name: string;
  parent: "flights_history" | "flights_history_sampled";
  /** Exclusive upper bound, ms. */
  upper: number;
  detachPending: boolean;
}

/** One retention pass. */
export async function runRetention(sql: Sql, options: RetentionOptions): Promise<RetentionResult> {
  const now = (options.now ?? (() => new Date()))();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const ensured: string[] = [];
  for (let d = 0; d <= AHEAD_DAYS; d++) {
    const day = isoDay(today + d * DAY_MS);
    const [row] = await sql<{ part: string }[]>`
      SELECT flights_history_ensure_partition(${day}::date) AS part`;
    ensured.push(row!.part);
  }
  for (const month of [0, 1]) {
    const first = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + month, 1);
    const [row] = await sql<{ part: string }[]>`
      SELECT flights_history_sampled_ensure_partition(${isoDay(first)}::date) AS part`;
    ensured.push(row!.part);
  }

  const dropped: string[] = [];
  const partitions = await listPartitions(sql);
  const cutoff = {
    flights_history: options.fineDays > 0 ? now.getTime() - options.fineDays * DAY_MS : null,
    flights_history_sampled: options.sampledDays > 0
      ? now.getTime() - options.sampledDays * DAY_MS
      : null,
  };
  for (const p of partitions) {
    const limit = cutoff[p.parent];
    if (limit === null || p.upper > limit) continue;
    if (await dropPartition(sql, p)) dropped.push(p.name);
  }

  let sessionsDeleted = 0, anomaliesDeleted = 0, currentDeleted = 0;
  if (cutoff.flights_history_sampled !== null) {
    const before = new Date(cutoff.flights_history_sampled);
    sessionsDeleted = (await sql`DELETE FROM flights WHERE last_seen < ${before}`).count;
    anomaliesDeleted = (await sql`
      DELETE FROM anomalies WHERE COALESCE(ended_at, started_at) < ${before}`).count;
    currentDeleted = (await sql`DELETE FROM flights_current WHERE ts < ${before}`).count;
  }
  return { ensured, dropped, sessionsDeleted, anomaliesDeleted, currentDeleted };
}

/** The partitions of both tiers named as the ensure functions name them, oldest first. */
async function listPartitions(sql: Sql): Promise<Partition[]> {
  const rows = await sql<{ name: string; parent: string; pending: boolean }[]>`
    SELECT c.relname AS name, p.relname AS parent, i.inhdetachpending AS pending
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname IN ('flights_history', 'flights_history_sampled')
      AND p.relnamespace = 'public'::regnamespace`;
  const out: Partition[] = [];
  for (const r of rows) {
    const fine = r.parent === "flights_history" ? FINE.exec(r.name) : null;
    const sampled = r.parent === "flights_history_sampled" ? SAMPLED.exec(r.name) : null;
    if (fine) {
      const [, y, m, d] = fine.map(Number) as [number, number, number, number];
      out.push({
        name: r.name,
        parent: "flights_history",
        upper: Date.UTC(y, m - 1, d + 1),
        detachPending: r.pending,
      });
    } else if (sampled) {
      const [, y, m] = sampled.map(Number) as [number, number, number];
      out.push({
        name: r.name,
        parent: "flights_history_sampled",
        upper: Date.UTC(y, m, 1),
        detachPending: r.pending,
      });
    }
  }
  return out.sort((a, b) => a.upper - b.upper || a.name.localeCompare(b.name));
}

/** Detaches without blocking writers, then drops. False when another worker got there first. */
async function dropPartition(sql: Sql, p: Partition): Promise<boolean> {
  try {
    // Both statements refuse to run inside a transaction block: each goes on its own.
    await sql.unsafe(
      `ALTER TABLE ${p.parent} DETACH PARTITION ${p.name} ${
        p.detachPending ? "FINALIZE" : "CONCURRENTLY"
      }`,
    );
  } catch (error) {
    // 42P01: gone; 55000/42P16 and friends: not (or no longer) a partition of it, being detached.
    const code = (error as { code?: string }).code;
    if (code !== "42P01" && code !== "55000" && code !== "42P16" && code !== "42809") throw error;
    const [still] = await sql<{ r: string | null }[]>`SELECT to_regclass(${p.name})::text AS r`;
    if (still?.r === null) return false;
    const [attached] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_inherits WHERE inhrelid = ${p.name}::regclass`;
    if ((attached?.n ?? 0) > 0) throw error;
  }
  await sql.unsafe(`DROP TABLE IF EXISTS ${p.name}`);
  return true;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A running schedule. */
export interface RetentionJob {
  /** Resolves with the result of a run started now (after the one in progress, if any). */
  runNow(): Promise<RetentionResult>;
  /** Stops the schedule and waits for a run in progress. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startRetention}. */
export interface StartRetentionOptions extends RetentionOptions {
  log: Logger;
  /** Default {@link RETENTION_INTERVAL_MS}. */
  intervalMs?: number;
  /** Delay of the first run, ms. Default 0 (at start). */
  firstRunMs?: number;
}

/** Runs {@link runRetention} now and every `intervalMs`; failures are logged and retried next time. */
export function startRetention(sql: Sql, options: StartRetentionOptions): RetentionJob {
  const intervalMs = options.intervalMs ?? RETENTION_INTERVAL_MS;
  let running: Promise<unknown> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = (): Promise<RetentionResult> => {
    const next = running.then(() => runRetention(sql, options));
    running = next.then((result) => {
      if (result.dropped.length > 0 || result.sessionsDeleted + result.anomaliesDeleted > 0) {
        options.log.info("retention", {
          dropped: result.dropped,
          sessions_deleted: result.sessionsDeleted,
          anomalies_deleted: result.anomaliesDeleted,
          current_deleted: result.currentDeleted,
        });
      }
    }, (error) => {
      options.log.warn(`retention run failed (retried in ${intervalMs / 60000} min): ${error}`);
    });
    return next;
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      run().catch(() => {}).finally(() => schedule(intervalMs));
    }, ms);
  };
  schedule(options.firstRunMs ?? 0);
  return {
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
