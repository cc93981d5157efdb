/**
 * The worker's database writes: one transaction per consumed batch, a
 * handful of statements whatever the batch size.
 *
 * History rows on PostgreSQL: the rows newer than their aircraft's newest
 * stored row (nearly all) go by binary `COPY flights_history FROM STDIN
 * (FORMAT binary)` straight into the fine tier (lib/db/copy_binary.ts: no
 * number formatted by the client or parsed by the server), what the raw
 * COPY baseline of bench:worker does; the others (a redelivery, a late
 * update, a repeated position) by `COPY history_stage` into a temporary
 * staging table (`ON COMMIT DELETE ROWS`, created on first use) and `INSERT
 * ... ON CONFLICT (icao24, ts) DO NOTHING`, so writes stay idempotent (the
 * first write of a position wins, as the detection engine keeps the first
 * update of a `time_position` too). The newest stored row of an aircraft is
 * what this writer committed for it in the caller's scope (the worker's
 * topic partition: one member of the group writes an aircraft), else its
 * `flights_current.ts` (written in the same transaction as its history,
 * only moving forward), read once for the aircraft the writer does not know
 * (or given by the caller, who read it to rebuild them). Should a row taken
 * for new be stored all the same (a zombie member during a rebalance, a
 * flights_current row deleted while its history stayed), the server refuses
 * the COPY (unique violation), the transaction rolls back, and the same
 * write retries it at once through the stage and ON CONFLICT
 * ({@link WriteResult.copyFallbacks}); postgres.js drops a refusal that
 * comes after the COPY's last row, which _writer_history.ts notices. On the
 * embedded database (PGlite behind pglite-socket, which drops the connection
 * on COPY FROM STDIN) the rows go in by one INSERT of one array per column:
 * a plain INSERT for the rows newer than flights_current, ON CONFLICT for
 * the others.
 *
 * Then, in the same transaction:
 *
 * - `flights_history_sampled` (the sampled tier): the first point of each
 *   aircraft in each 5-minute bucket of the batch, unless the bucket has a
 *   periodic point already, and the fine rows where an event of the batch
 *   started or ended (take-off, landing, anomaly), labelled with its kind;
 *   both read back from flights_history, so a redelivery samples the rows
 *   stored first.
 * - `flights_current`: upsert that only moves forward in time.
 * - `flights` (sessions): upsert by the deterministic session id; times only
 *   widen, an end once set stays.
 * - `anomalies`: upsert by the deterministic event id; a closed event is
 *   never reopened by an older version of itself (a redelivery).
 *
 * Daily partitions of the fine tier and monthly ones of the sampled tier are
 * created first, each in its own statement outside the transaction (see
 * migration 0001: creating a partition inside a writer's transaction can
 * deadlock with another writer), and remembered, so that it is one call per
 * new day; the retention job (retention.ts) creates the coming days ahead.
 *
 * Rows are de-duplicated per key inside a batch first: PostgreSQL refuses an
 * `ON CONFLICT DO UPDATE` that touches one row twice in a statement.
 *
 * `synchronous_commit` is left as the server has it: with it on, a commit
 * per batch of thousands of rows costs one WAL flush, small next to the
 * batch, and turning it off would let a crash lose a batch whose offsets
 * were committed (the worker commits them after the transaction).
 *
 * With `transactionBudgetMs` (the embedded database) a batch is written in
 * consecutive transactions of about that long; see the option.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type postgres from "postgres";
import type { Sql } from "../../lib/db/mod.ts";
import type { SmoothedValues } from "../../lib/db/history_rows.ts";
import type { FlightSession } from "../../lib/detect/session.ts";
import { copyHistory, CopyRefusedError, insertHistory, TEXT } from "./_writer_history.ts";
import {
  type EventPoint,
  eventPoints,
  periodicCandidates,
  sampleEvents,
  samplePeriodic,
  upsertAnomalies,
  upsertCurrent,
  upsertSessions,
} from "./_writer_statements.ts";

export type { SmoothedValues } from "../../lib/db/history_rows.ts";
export { CopyRefusedError } from "./_writer_history.ts";
export { SAMPLE_INTERVAL_S } from "./_writer_statements.ts";

/** Aircraft whose sampled bucket a writer remembers; beyond, it starts over. */
const MAX_SAMPLED_REMEMBERED = 200_000;
/** Aircraft whose newest stored time a writer remembers per scope; beyond, it starts over. */
const MAX_STORED_REMEMBERED = 200_000;
/**
 * Slack on `flights_current.ts` taken as the newest stored time, s: it is
 * written from float8 seconds, the history's `ts` from microseconds.
 */
const CURRENT_SLACK_S = 0.001;

/** One position for `flights_history` (and `flights_current`). */
export interface HistoryRow {
  /** The flight object as received. */
  flight: Flight;
  /**
   * Null when the filter did not take the update (a late one): the raw
   * values are stored in the smoothed columns then, which are NOT NULL.
   */
  smoothed: SmoothedValues | null;
  /** The session it belongs to, if known. */
  sessionId: string | null;
}

/** What one transaction writes. */
export interface WriteBatch {
  history: HistoryRow[];
  /** Sessions opened, touched or closed (any order; merged per id). */
  sessions: FlightSession[];
  /** New or updated events, in emission order (the last version per id wins). */
  anomalies: AnomalyEvent[];
}

/** What a {@link BatchWriter.write} did. */
export interface WriteResult {
  /** History rows inserted (the rest were already there). */
  historyInserted: number;
  /** Events stored for the first time (the others updated or unchanged). */
  newAnomalies: { id: string; kind: string }[];
  /** The events written, one (the last) version per id, in first-emission order. */
  anomalies: AnomalyEvent[];
  /**
   * Transactions whose COPY straight into flights_history the server refused
   * (a row stored already), rolled back and written again the safe way.
   */
  copyFallbacks: number;
}

/** Options of one {@link BatchWriter.write}. */
export interface WriteOptions {
  /**
   * Whose rows these are: the worker gives its topic partition. Within a
   * scope the writer remembers, per aircraft, the newest time it has stored
   * (see {@link BatchWriter}); rows of one aircraft must always come in the
   * same scope, and a scope must be {@link BatchWriter.forget forgotten} when
   * someone else may have written its aircraft meanwhile (the partition moved
   * or its offsets jumped). Default: one scope for all.
   */
  scope?: string;
  /**
   * `flights_current.ts` (unix s; -Infinity: no row) of aircraft just read
   * by the caller (the processor's rebuild reads it), so that the writer
   * need not read it again for those it does not know.
   */
  current?: ReadonlyMap<string, number>;
}

/** Options for {@link BatchWriter}. */
export interface BatchWriterOptions {
  /**
   * How rows reach the staging table: `copy` (COPY FROM STDIN) or `unnest`
   * (one INSERT of arrays). Default: `unnest` on PGlite (which cannot take
   * COPY FROM STDIN over its socket), found out from `version()` once,
   * `copy` everywhere else.
   */
  stage?: "copy" | "unnest";
  /**
   * Told how long each step of a write took, seconds (the worker's
   * `processing_stage_seconds_total`); `commit` is the COMMIT itself.
   */
  onStage?: (stage: WriterStage, seconds: number) => void;
  /**
   * Split a batch's history rows over consecutive transactions of about this
   * long, ms (the rows per transaction follow the measured cost of a row),
   * yielding to other queries between two. For the embedded database, whose
   * one connection the history API shares: a request then waits for one
   * short transaction, not for a whole batch. Offsets still commit after
   * the last one (the worker), and every part is idempotent, so a batch that
   * fails part-way is written again whole. Default: one transaction per batch.
   */
  transactionBudgetMs?: number;
}

/** How many rows fit a transaction of `budgetMs`, from what the last ones cost. */
class TransactionBudget {
  #budgetMs: number;
  /** Smoothed cost of a transaction: fixed part and per row are not told apart; ms per row. */
  #msPerRow = 1;
  rows = 50;

  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  /** A transaction of `rows` rows took `ms`. */
  took(rows: number, ms: number): void {
    if (rows === 0) return;
    this.#msPerRow = 0.7 * this.#msPerRow + 0.3 * (ms / rows);
    this.rows = Math.max(10, Math.min(5000, Math.floor(this.#budgetMs / this.#msPerRow)));
  }
}

/**
 * The steps of a {@link BatchWriter.write}, in order: `begin` waits for a
 * connection of the pool and opens the transaction, `lookup` reads the
 * newest stored time of aircraft the writer does not know yet, `copy` is the
 * COPY straight into flights_history, `stage` and `merge` the staging COPY
 * and its `ON CONFLICT` merge (rows that may be stored already); on
 * PostgreSQL `upserts` is the sampled tier, current rows, sessions, anomalies
 * and event points sent at once, which PGlite takes one by one (`sampled`
 * ... `events`).
 */
export type WriterStage =
  | "partitions"
  | "begin"
  | "lookup"
  | "copy"
  | "stage"
  | "merge"
  | "upserts"
  | "sampled"
  | "current"
  | "sessions"
  | "anomalies"
  | "events"
  | "commit";

/** Writes batches in one transaction each; remembers which partitions exist. */
export class BatchWriter {
  #sql: Sql;
  #stage: Promise<"copy" | "unnest"> | undefined;
  #days = new Set<string>();
  #months = new Set<string>();
  #onStage: ((stage: WriterStage, seconds: number) => void) | undefined;
  /** The last write met a stored row on the plain-insert path: merge all with ON CONFLICT. */
  #conflicted = false;
  #budget: TransactionBudget | undefined;
  /** Per aircraft, the newest bucket committed with its periodic point in the sampled tier. */
  #sampled = new Map<string, number>();
  /**
   * Per scope, per aircraft: a time at or after its newest row in
   * flights_history, unix s (a row after it cannot be stored yet).
   */
  #stored = new Map<string, Map<string, number>>();

  constructor(sql: Sql, options: BatchWriterOptions = {}) {
    this.#sql = sql;
    if (options.stage) this.#stage = Promise.resolve(options.stage);
    this.#onStage = options.onStage;
    if (options.transactionBudgetMs !== undefined) {
      this.#budget = new TransactionBudget(options.transactionBudgetMs);
    }
  }

  /** How this writer stages rows (asks the server once unless told). */
  stageMethod(): Promise<"copy" | "unnest"> {
    this.#stage ??= this.#sql<{ v: string }[]>`SELECT version() AS v`.then(
      ([row]) => /PGlite/i.test(row?.v ?? "") ? "unnest" : "copy",
      (error) => {
        this.#stage = undefined;
        throw error;
      },
    );
    return this.#stage;
  }

  /** Forgets what the writer knows of a scope's stored rows (someone else may have written them). */
  forget(scope: string): void {
    this.#stored.delete(scope);
  }

  /** Forgets every scope but these (the partitions still held). */
  retain(scopes: Iterable<string>): void {
    const keep = new Set(scopes);
    for (const scope of [...this.#stored.keys()]) if (!keep.has(scope)) this.#stored.delete(scope);
  }

  /** Writes a batch atomically. On failure nothing is written; call again with the same batch. */
  async write(batch: WriteBatch, options: WriteOptions = {}): Promise<WriteResult> {
    const scope = options.scope ?? "";
    const history = dedupeHistory(batch.history);
    const sessions = mergeSessions(batch.sessions);
    const anomalies = lastVersions(batch.anomalies);
    const points = eventPoints(anomalies);
    const onStage = this.#onStage;
    let mark = performance.now();
    /** Ends the step `stage` now. */
    const lap = onStage
      ? (stage: WriterStage) => {
        const now = performance.now();
        onStage(stage, (now - mark) / 1000);
        mark = now;
      }
      : () => {};
    try {
      const how = await this.stageMethod();
      await this.#ensurePartitions(history, points);
      lap("partitions");
      let historyInserted = 0;
      let copyFallbacks = 0;
      /** One transaction; on PostgreSQL a refused COPY is rolled back and written again safely. */
      const transaction = async (part: Part) => {
        const mode = { scope, safe: false, current: options.current };
        if (how !== "copy") return await this.#transaction(how, lap, part, mode);
        try {
          return await this.#transaction(how, lap, part, mode);
        } catch (error) {
          if (!(error instanceof CopyRefusedError)) throw error;
          copyFallbacks++;
          this.#stored.delete(scope);
          return await this.#transaction(how, lap, part, { scope, safe: true });
        }
      };
      // With a budget, the rows go in consecutive transactions of about `budgetMs` each, the
      // events and sessions with the last; between two, queries queued meanwhile (the
      // history API's, on the embedded database's one connection) run first.
      let from = 0;
      while (this.#budget && history.length - from > this.#budget.rows) {
        const rows = history.slice(from, from += this.#budget.rows);
        const started = performance.now();
        historyInserted += await transaction({ rows });
        this.#budget.took(rows.length, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const rows = from === 0 ? history : history.slice(from);
      const started = performance.now();
      const newAnomalies: { id: string; kind: string }[] = [];
      historyInserted += await transaction({ rows, sessions, anomalies, points, newAnomalies });
      this.#budget?.took(rows.length, performance.now() - started);
      this.#conflicted = false;
      return { historyInserted, newAnomalies, anomalies, copyFallbacks };
    } catch (error) {
      // unique_violation: a row thought new was stored already; see mergeStage.
      if ((error as { code?: unknown })?.code === "23505") this.#conflicted = true;
      // A partition may have been dropped by retention meanwhile: ask again next time.
      this.#days.clear();
      this.#months.clear();
      this.#sampled.clear();
      // Whether the COMMIT went through before the connection broke is not known.
      this.#stored.delete(scope);
      throw error;
    }
  }

  /**
   * One transaction: history rows, their sampled and current rows, then the
   * rest given. With `copy` and not `safe`, the rows newer than their
   * aircraft's newest stored time go straight into flights_history by COPY
   * (nearly all: a unique violation is possible only if someone else wrote
   * them, and then the whole transaction fails with CopyRefusedError), the
   * others (a redelivery, a late update) through the stage and `ON CONFLICT`.
   */
  async #transaction(
    how: "copy" | "unnest",
    lap: (stage: WriterStage) => void,
    part: Part,
    mode: { scope: string; safe: boolean; current?: ReadonlyMap<string, number> },
  ): Promise<number> {
    const candidates = periodicCandidates(part.rows);
    // A bucket this writer has seen committed with its periodic point needs no query.
    const unsampled = candidates.filter((c) => this.#sampled.get(c.icao24) !== c.bucket);
    let stored: Map<string, number> | undefined;
    const inserted = await this.#sql.begin(async (tx) => {
      lap("begin");
      let n: number;
      if (how === "copy" && !mode.safe) {
        const fast = await this.#insertFast(tx, part.rows, mode, lap);
        n = fast.inserted;
        stored = fast.stored;
      } else {
        n = await insertHistory(tx, part.rows, how, {
          safe: how === "copy" || this.#conflicted,
          lap,
        });
      }
      lap("merge");
      if (how === "copy") {
        // PostgreSQL: the five statements go out at once (postgres.js pipelines queries issued
        // without waiting on one connection; the server runs them in order), one round trip
        // instead of five, which a busy machine made several milliseconds each. PGlite's
        // socket gets them one at a time.
        const [, , , fresh] = await Promise.all([
          samplePeriodic(tx, unsampled),
          upsertCurrent(tx, latestPerAircraft(part.rows)),
          upsertSessions(tx, part.sessions ?? []),
          upsertAnomalies(tx, part.anomalies ?? []),
          sampleEvents(tx, part.points ?? []),
        ]);
        part.newAnomalies?.push(...fresh);
        lap("upserts");
        return n;
      }
      await samplePeriodic(tx, unsampled);
      lap("sampled");
      await upsertCurrent(tx, latestPerAircraft(part.rows));
      lap("current");
      await upsertSessions(tx, part.sessions ?? []);
      lap("sessions");
      part.newAnomalies?.push(...await upsertAnomalies(tx, part.anomalies ?? []));
      lap("anomalies");
      await sampleEvents(tx, part.points ?? []);
      lap("events");
      return n;
    });
    lap("commit");
    if (stored) this.#remember(mode.scope, stored);
    if (this.#sampled.size > MAX_SAMPLED_REMEMBERED) this.#sampled.clear();
    for (const c of candidates) {
      if (c.bucket > (this.#sampled.get(c.icao24) ?? -Infinity)) {
        this.#sampled.set(c.icao24, c.bucket);
      }
    }
    return inserted;
  }

  /**
   * The fast path's history rows: those after their aircraft's newest stored
   * time by COPY straight into flights_history, the rest through the stage
   * and `ON CONFLICT`. The newest stored time is what this writer committed
   * in this scope, else `flights_current.ts` (the newest history row of its
   * aircraft: both are written in one transaction, the current row only
   * moving forward), read for the aircraft it does not know yet. Returns the
   * rows inserted and, per aircraft, the newest stored time once this commits.
   */
  async #insertFast(
    tx: postgres.TransactionSql,
    rows: readonly HistoryRow[],
    mode: { scope: string; current?: ReadonlyMap<string, number> },
    lap: (stage: WriterStage) => void,
  ): Promise<{ inserted: number; stored: Map<string, number> }> {
    const known = this.#stored.get(mode.scope);
    const before = new Map<string, number>();
    const unknown = new Set<string>();
    for (const { flight: { icao24 } } of rows) {
      if (known?.has(icao24) || before.has(icao24)) continue;
      const current = mode.current?.get(icao24);
      if (current !== undefined) before.set(icao24, current + CURRENT_SLACK_S);
      else unknown.add(icao24);
    }
    if (unknown.size > 0) {
      const found = await tx<{ icao24: string; t: number }[]>`
        SELECT icao24, extract(epoch FROM ts)::float8 AS t FROM flights_current
        WHERE icao24 = ANY(${tx.array([...unknown], TEXT)}::text[])`;
      for (const { icao24, t } of found) before.set(icao24, t + CURRENT_SLACK_S);
    }
    lap("lookup");
    const fresh: HistoryRow[] = [];
    const maybe: HistoryRow[] = [];
    const stored = new Map<string, number>();
    for (const row of rows) {
      const { icao24, time_position_unix: t } = row.flight;
      const bound = known?.get(icao24) ?? before.get(icao24) ?? -Infinity;
      (t > bound ? fresh : maybe).push(row);
      const after = stored.get(icao24);
      if (after === undefined || t > after) stored.set(icao24, Math.max(bound, t));
    }
    await copyHistory(tx, fresh);
    lap("copy");
    const merged = maybe.length === 0 ? 0 : await insertHistory(tx, maybe, "copy", {
      safe: true,
      lap,
    });
    return { inserted: fresh.length + merged, stored };
  }

  /** After a commit: the newest stored times of a scope's aircraft. */
  #remember(scope: string, stored: ReadonlyMap<string, number>): void {
    let known = this.#stored.get(scope);
    if (!known || known.size > MAX_STORED_REMEMBERED) this.#stored.set(scope, known = new Map());
    for (const [icao24, t] of stored) known.set(icao24, t);
  }

  async #ensurePartitions(rows: readonly HistoryRow[], points: readonly EventPoint[]) {
    // Day numbers first: formatting a date per row cost more than the rest of this.
    const dayNumbers = new Set<number>();
    for (const row of rows) dayNumbers.add(Math.floor(row.flight.time_position_unix / 86_400));
    const days = new Set<string>();
    for (const n of dayNumbers) days.add(utcDay(n * 86_400));
    const months = new Set<string>();
    for (const day of days) months.add(day.slice(0, 7));
    for (const p of points) months.add(p.ts.slice(0, 7));
    for (const day of [...days].sort()) {
      if (this.#days.has(day)) continue;
      await this.#sql`SELECT flights_history_ensure_partition(${day}::date)`;
      this.#days.add(day);
    }
    for (const month of [...months].sort()) {
      if (this.#months.has(month)) continue;
      await this.#sql`SELECT flights_history_sampled_ensure_partition(${`${month}-01`}::date)`;
      this.#months.add(month);
    }
  }
}

/** What one transaction of a {@link BatchWriter.write} writes. */
interface Part {
  rows: readonly HistoryRow[];
  sessions?: readonly FlightSession[];
  anomalies?: readonly AnomalyEvent[];
  points?: readonly EventPoint[];
  /** Filled with the events stored for the first time. */
  newAnomalies?: { id: string; kind: string }[];
}

/** `YYYY-MM-DD` of a unix time, UTC. */
export function utcDay(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

/**
 * First row per (icao24, time_position), in input order. Rows of an
 * aircraft nearly always come newer than its last one, which a number per
 * aircraft decides; a key set is built only once one does not.
 */
function dedupeHistory(rows: readonly HistoryRow[]): HistoryRow[] {
  const newest = new Map<string, number>();
  let seen: Set<string> | null = null;
  const key = (r: HistoryRow) => `${r.flight.icao24}|${r.flight.time_position_unix}`;
  const out: HistoryRow[] = [];
  for (const row of rows) {
    const { icao24, time_position_unix: t } = row.flight;
    const last = newest.get(icao24);
    if (last === undefined || t > last) {
      newest.set(icao24, t);
      seen?.add(key(row));
      out.push(row);
      continue;
    }
    seen ??= new Set(out.map(key));
    if (seen.has(key(row))) continue;
    seen.add(key(row));
    out.push(row);
  }
  return out;
}

/** The newest row per aircraft (the last one among equal times). */
function latestPerAircraft(rows: readonly HistoryRow[]): HistoryRow[] {
  const latest = new Map<string, HistoryRow>();
  for (const row of rows) {
    const held = latest.get(row.flight.icao24);
    if (!held || row.flight.time_position_unix >= held.flight.time_position_unix) {
      latest.set(row.flight.icao24, row);
    }
  }
  return [...latest.values()];
}

/** One row per session id: later versions win, but an end once seen stays. */
function mergeSessions(sessions: readonly FlightSession[]): FlightSession[] {
  const merged = new Map<string, FlightSession>();
  for (const s of sessions) {
    const held = merged.get(s.id);
    if (!held) {
      merged.set(s.id, { ...s });
      continue;
    }
    held.callsign = s.callsign ?? held.callsign;
    if (s.first_seen < held.first_seen) held.first_seen = s.first_seen;
    if (s.last_seen > held.last_seen) held.last_seen = s.last_seen;
    if (s.ended_at !== null) {
      held.ended_at = s.ended_at;
      held.end_reason = s.end_reason;
    }
  }
  return [...merged.values()];
}

/** The last version of each event, in the order the ids first appeared. */
function lastVersions(events: readonly AnomalyEvent[]): AnomalyEvent[] {
  const byId = new Map<string, AnomalyEvent>();
  for (const event of events) byId.set(event.id, event);
  return [...byId.values()];
}
