/**
 * Runs the detection engine over consumed batches, one engine per topic
 * partition, so that what the worker writes does not depend on where a
 * batch starts, on redeliveries, on restarts or on which worker held a
 * partition before.
 *
 * Why per partition: a key always lands on the same partition, and a
 * partition is processed by one member of the group at a time. The state of
 * the aircraft on a partition therefore belongs to whoever holds the
 * partition; when it moves (rebalance) the state is dropped here and rebuilt
 * by the next holder.
 *
 * Redelivery (the database write failed, the handler threw): the engine has
 * already consumed the batch, and feeding it the same updates again would be
 * ignored as duplicates (no smoothed values, no events). So the output of
 * each message is kept by offset until its batch commits, and a redelivered
 * message gets its kept output instead of a second pass through the engine.
 *
 * Restart and rebalance (the state is gone, the bus delivers from the last
 * committed offset): the engine is rebuilt from the database before it sees
 * an aircraft it does not track, by replaying that aircraft's current track
 * from `flights_history` (the flight objects as received; everything there
 * was written in the same transaction as the events it produced), up to the
 * time of its first update in the batch. Rows of a batch whose transaction
 * committed but whose offsets did not (a crash in between) are therefore not
 * replayed but taken again from the bus, which gives the same output again:
 * written idempotently, and published again (at-least-once). A go-around in
 * progress at the crash is completed with the same id, the session goes on
 * under the same id, the smoothed values continue from the same filter
 * state: the rows end up exactly as without the crash (the tests compare
 * them). The current track is the rows since the last silence that ended
 * the aircraft (over `staleAfterS`), at most `warmupMaxS` back.
 *
 * Trade-offs of rebuilding: a track longer than `warmupMaxS` restarts the
 * filter and the detectors part-way (a new session id for that aircraft,
 * possibly a missed or shifted event); a rebuild costs one read of up to
 * `warmupMaxS` of rows per aircraft, paid after a restart or a rebalance
 * and when offsets jump (a batch that was all dead letters, an offset commit
 * that failed: correct, just slower); rows the engine had ignored as out of
 * order are replayed in time order; history keeps the first row of a
 * repeated position, so a repeat's later `last_contact` is known only for
 * the latest position (`flights_current`), and a silence within seconds of
 * `staleAfterS` in the middle of a track may be judged differently. Events
 * produced while rebuilding are not written or published again: they were,
 * with the rows that produced them.
 *
 * Aircraft that fall silent right before a restart never come back to be
 * rebuilt, yet their flight must still end (session closed, `flight_end`).
 * So when data time moves on (every `sweepIntervalS`), open sessions in the
 * database that went silent for `staleAfterS`, whose key hashes to this
 * partition and that the engine does not track are rebuilt the same way and
 * ended by the flush; one that cannot be rebuilt is closed as it stands
 * (`timeout` at its last_seen, without `flight_end`). This needs the
 * partition count of the topic (`partitions`); when a message shows that
 * the count is wrong, the sweep turns itself off.
 *
 * An aircraft silent for longer than `staleAfterS` is ended before its next
 * update is taken (a flush at that update's time), not only at the end of a
 * batch: otherwise whether it gets a new session would depend on where a
 * batch boundary fell.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import { offsetAtMost } from "../../lib/bus/offsets.ts";
import { partitionForKey } from "../../lib/bus/partitioner.ts";
import {
  createDetectionEngine,
  type DetectionEngine,
  type DetectionEngineOptions,
  type SmoothedUpdate,
} from "../../lib/detect/engine.ts";
import type { RunwayIndex } from "../../lib/detect/runways.ts";
import type { FlightSession } from "../../lib/detect/session.ts";
import type { HistoryRow, SmoothedValues } from "./writer.ts";

/** Default data-time silence that ends a flight, s (the engine's default). */
export const DEFAULT_STALE_AFTER_S = 1200;
/** Default longest track replayed to rebuild an aircraft, s. */
export const DEFAULT_WARMUP_MAX_S = 6 * 3600;
/**
 * Default data time between two sweeps for silent aircraft of a partition, s.
 * A replay faster than real time sweeps that many times more often per wall
 * second; a sweep reads the database only while sessions inherited from the
 * partition's previous holder are left (see Processor#sweep), so that costs
 * nothing once they are closed.
 */
export const DEFAULT_SWEEP_INTERVAL_S = 60;

/** A request to rebuild one aircraft. */
export interface TrackRequest {
  icao24: string;
  /** Replay rows strictly older than this, unix s. */
  beforeUnix: number;
  /**
   * Whether the silence between the last row and `beforeUnix` counts: true
   * for an aircraft about to get an update at `beforeUnix` (a silence over
   * `staleAfterS` means its track ended and nothing is replayed), false for
   * a silent aircraft being rebuilt to be ended.
   */
  trailingGap: boolean;
}

/** Where the rebuilding reads from (the database; see history_source.ts). */
export interface HistorySource {
  /**
   * Per aircraft, the flight objects of its current track, oldest first:
   * the rows before `beforeUnix` and after the last silence longer than
   * `staleAfterS`, at most `maxS` back. Aircraft without rows may be absent.
   */
  tracks(
    requests: readonly TrackRequest[],
    options: {
      staleAfterS: number;
      maxS: number;
      /** Filled with `flights_current.ts` (unix s) of the requested aircraft that have one. */
      newest?: Map<string, number>;
    },
  ): Promise<Map<string, Flight[]>>;
  /**
   * Sessions still open (`ended_at` null) whose `last_seen` is before
   * `beforeUnix` (every open one when it is `Infinity`).
   */
  openSessions(beforeUnix: number): Promise<FlightSession[]>;
  /** Those of the sessions `ids` still open, as stored now. */
  stillOpen(ids: readonly string[]): Promise<FlightSession[]>;
}

/** One consumed, valid update. */
export interface ProcessItem {
  /** Offset in its partition, decimal string. */
  offset: string;
  flight: Flight;
}

/** What one message produced: its history row plus events and session versions to store. */
export interface ItemOutput {
  history: HistoryRow;
  /** New or updated events, in emission order (flushes before or after it included). */
  events: AnomalyEvent[];
  /** Session versions (opened, touched, closed), in order. */
  sessions: FlightSession[];
}

/** What {@link Processor.process} returns for a batch. */
export interface ProcessResult {
  outputs: ItemOutput[];
  /** Messages whose output was kept from an earlier attempt. */
  reused: number;
  /** Aircraft rebuilt from the database (rows replayed in `warmupRows`). */
  warmedUp: number;
  warmupRows: number;
  /** Time spent reading the database to rebuild aircraft of the batch, s. */
  readSeconds: number;
  /** Time spent sweeping for silent aircraft (reads and rebuilding), s. */
  sweepSeconds: number;
  /** The partition's state was dropped first (it had moved, or offsets jumped). */
  reset: boolean;
  /**
   * The newest stored time (`flights_current.ts`, unix s; -Infinity for none)
   * of the aircraft of the batch read to rebuild them, for the writer's fast
   * path (writer.ts), which need not read them again.
   */
  stored: Map<string, number>;
}

/** Options for {@link Processor}. */
export interface ProcessorOptions {
  runways: RunwayIndex;
  history: HistorySource;
  /** Default {@link DEFAULT_STALE_AFTER_S}. */
  staleAfterS?: number;
  /** Default {@link DEFAULT_WARMUP_MAX_S}. */
  warmupMaxS?: number;
  /** Partition count of the consumed topic, for the sweep; null turns the sweep off. */
  partitions: number | null;
  /** Default {@link DEFAULT_SWEEP_INTERVAL_S}. */
  sweepIntervalS?: number;
  /** Further engine options (Kalman tuning, capacity). */
  engine?: Omit<DetectionEngineOptions, "runways" | "staleAfterS">;
  /** Called once when the sweep turns itself off. */
  onSweepDisabled?: (reason: string) => void;
}

interface CachedOutput extends ItemOutput {
  /** The end-of-batch flush ran after this message. */
  flushed: boolean;
}

interface PartitionState {
  engine: DetectionEngine;
  /** Offset the next batch must start at to continue this state; null before the first commit. */
  nextOffset: bigint | null;
  /** Outputs of messages not committed yet, by offset. */
  pending: Map<string, CachedOutput>;
  /** Largest time_position seen, unix s. */
  dataTime: number;
  nextSweepAt: number;
  /** Aircraft seen to belong to this partition (see #checkPartitioning). */
  checked: Set<string>;
  /**
   * Sessions of this partition left open by whoever held it before, by id,
   * as read at the first sweep (null before): the only ones a sweep can find
   * (see #sweep).
   */
  inherited: Map<string, FlightSession> | null;
}

/** Aircraft remembered per partition as checked; beyond, the set starts over. */
const MAX_CHECKED = 100_000;

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The engines of the partitions this worker processes, and their uncommitted outputs. */
export class Processor {
  #options: ProcessorOptions;
  #staleAfterS: number;
  #warmupMaxS: number;
  #sweepIntervalS: number;
  #partitions: number | null;
  #states = new Map<string, PartitionState>();

  constructor(options: ProcessorOptions) {
    this.#options = options;
    this.#staleAfterS = options.staleAfterS ?? DEFAULT_STALE_AFTER_S;
    this.#warmupMaxS = options.warmupMaxS ?? DEFAULT_WARMUP_MAX_S;
    this.#sweepIntervalS = options.sweepIntervalS ?? DEFAULT_SWEEP_INTERVAL_S;
    this.#partitions = options.partitions;
  }

  /** Aircraft tracked over all partitions. */
  get aircraft(): number {
    let n = 0;
    for (const state of this.#states.values()) n += state.engine.stats.aircraft;
    return n;
  }

  /**
   * Runs a batch of one partition. `firstOffset` is the batch's first offset
   * (valid or not), `items` its valid messages in order. Throws only when the
   * database cannot be read; nothing is lost then (call again with the
   * redelivered batch).
   */
  async process(
    at: { topic: string; partition: number; firstOffset: string },
    items: readonly ProcessItem[],
  ): Promise<ProcessResult> {
    const key = tpKey(at.topic, at.partition);
    let state = this.#states.get(key);
    let reset = false;
    if (state && state.nextOffset !== null && BigInt(at.firstOffset) !== state.nextOffset) {
      // Someone else processed (or the consumer skipped) messages in between: this state is stale.
      this.#states.delete(key);
      state = undefined;
      reset = true;
    }
    if (!state) {
      state = {
        engine: createDetectionEngine({
          ...this.#options.engine,
          runways: this.#options.runways,
          staleAfterS: this.#staleAfterS,
        }),
        nextOffset: null,
        pending: new Map(),
        dataTime: -Infinity,
        nextSweepAt: -Infinity,
        checked: new Set(),
        inherited: null,
      };
      this.#states.set(key, state);
    }
    this.#checkPartitioning(state, at.partition, items);

    // Database reads first, so that a failure leaves the engine untouched.
    const requests: TrackRequest[] = [];
    const requested = new Set<string>();
    // Outputs are kept only for a batch delivered again: none, nearly always (the lookups of
    // every offset were measurable in the worker's CPU time, issue #11).
    const anyKept = state.pending.size > 0;
    for (const { offset, flight } of items) {
      if ((anyKept && state.pending.has(offset)) || requested.has(flight.icao24)) continue;
      requested.add(flight.icao24);
      if (state.engine.lastSeen(flight.icao24) !== null) continue;
      requests.push({
        icao24: flight.icao24,
        beforeUnix: flight.time_position_unix,
        trailingGap: true,
      });
    }
    const readStart = performance.now();
    const newest = new Map<string, number>();
    const warm = await this.#warmUp(state, requests, newest);
    const stored = new Map<string, number>();
    for (const r of requests) stored.set(r.icao24, newest.get(r.icao24) ?? -Infinity);
    const readSeconds = (performance.now() - readStart) / 1000;
    let sweepSeconds = 0;

    const outputs: ItemOutput[] = [];
    let reused = 0;
    let last: CachedOutput | undefined;
    for (const { offset, flight } of items) {
      const kept = anyKept ? state.pending.get(offset) : undefined;
      if (kept) {
        outputs.push(kept);
        reused++;
        last = kept;
        continue;
      }
      last = this.#ingest(state, flight);
      state.pending.set(offset, last);
      outputs.push(last);
    }
    if (last && !last.flushed) {
      let orphans: FlightSession[] = [];
      if (this.#partitions !== null && state.dataTime >= state.nextSweepAt) {
        const sweepStart = performance.now();
        const swept = await this.#sweep(state, at.partition);
        sweepSeconds = (performance.now() - sweepStart) / 1000;
        state.nextSweepAt = state.dataTime + this.#sweepIntervalS;
        warm.aircraft += swept.aircraft;
        warm.rows += swept.rows;
        orphans = swept.orphans;
      }
      const flush = state.engine.flush(state.dataTime);
      // A rebuilt aircraft whose session id differs from the open one (its track was longer
      // than warmupMaxS) must not add a session that never was: the open one is closed instead.
      const orphanIds = new Set(orphans.map((o) => o.id));
      const orphanAircraft = new Set(orphans.map((o) => o.icao24));
      last.events.push(...flush.events);
      const closed = new Set<string>();
      for (const { session } of flush.sessionChanges) {
        if (orphanAircraft.has(session.icao24) && !orphanIds.has(session.id)) continue;
        last.sessions.push(session);
        closed.add(session.id);
      }
      for (const orphan of orphans) {
        if (closed.has(orphan.id)) continue;
        last.sessions.push({ ...orphan, ended_at: orphan.last_seen, end_reason: "timeout" });
      }
      last.flushed = true;
    }
    return {
      outputs,
      reused,
      warmedUp: warm.aircraft,
      warmupRows: warm.rows,
      readSeconds,
      sweepSeconds,
      reset,
      stored,
    };
  }

  /** The batch ending at `lastOffset` committed: forget its outputs, expect the next offset. */
  committed(at: { topic: string; partition: number; lastOffset: string }): void {
    const state = this.#states.get(tpKey(at.topic, at.partition));
    if (!state) return;
    state.nextOffset = BigInt(at.lastOffset) + 1n;
    for (const offset of state.pending.keys()) {
      if (offsetAtMost(offset, at.lastOffset)) state.pending.delete(offset);
    }
  }

  /** Drops the state of partitions this worker no longer holds. */
  retain(assigned: readonly { topic: string; partition: number }[]): number {
    const keep = new Set(assigned.map((a) => tpKey(a.topic, a.partition)));
    let dropped = 0;
    for (const key of [...this.#states.keys()]) {
      if (!keep.has(key)) {
        this.#states.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  #ingest(state: PartitionState, flight: Flight): CachedOutput {
    const t = flight.time_position_unix;
    const lastSeen = state.engine.lastSeen(flight.icao24);
    const flush = lastSeen !== null && t - lastSeen > this.#staleAfterS
      ? state.engine.flush(t)
      : null;
    const result = state.engine.ingest(flight);
    // The engine's arrays are this update's own: taken as they are unless a flush came first
    // (fewer objects per update that live until the batch commits: the worker's CPU, #11).
    let events = result.events;
    const sessions: FlightSession[] = [];
    if (flush) {
      events = [...flush.events, ...result.events];
      for (const change of flush.sessionChanges) sessions.push(change.session);
    }
    for (const change of result.sessionChanges) sessions.push(change.session);
    const session = state.engine.session(flight.icao24);
    if (session) sessions.push(session);
    if (t > state.dataTime) state.dataTime = t;
    return {
      history: {
        flight,
        smoothed: result.smoothed ? smoothedValues(result.smoothed) : null,
        sessionId: result.smoothed?.session_id ?? session?.id ?? null,
      },
      events,
      sessions,
      flushed: false,
    };
  }

  async #warmUp(
    state: PartitionState,
    requests: readonly TrackRequest[],
    newest?: Map<string, number>,
  ): Promise<{ aircraft: number; rows: number }> {
    if (requests.length === 0) return { aircraft: 0, rows: 0 };
    const tracks = await this.#options.history.tracks(requests, {
      staleAfterS: this.#staleAfterS,
      maxS: this.#warmupMaxS,
      newest,
    });
    let aircraft = 0;
    let rows = 0;
    for (const request of requests) {
      const flights = tracks.get(request.icao24);
      if (!flights || flights.length === 0) continue;
      aircraft++;
      rows += flights.length;
      // Their events and sessions were stored with the rows that produced them.
      for (const flight of flights) state.engine.ingest(flight);
    }
    return { aircraft, rows };
  }

  /**
   * Rebuilds the silent aircraft of this partition that only the database
   * knows about, so that the flush that follows ends them as the engine
   * that lost them would have. Returns the sessions to close directly: those
   * the rebuilt engine will not close itself (no rows left to rebuild from,
   * or a track longer than `warmupMaxS` that got a session id of its own).
   */
  async #sweep(
    state: PartitionState,
    partition: number,
  ): Promise<{ aircraft: number; rows: number; orphans: FlightSession[] }> {
    const partitions = this.#partitions;
    if (partitions === null) return { aircraft: 0, rows: 0, orphans: [] };
    // Only sessions that were open when this state was created can be orphans: a session this
    // engine opened is closed by it, in the transaction of the batch whose flush ended it
    // (committed before the next batch is processed). So the open sessions are read once per
    // state, and a sweep asks the database only about those inherited ones still open.
    if (state.inherited === null) {
      const open = await this.#options.history.openSessions(Infinity);
      state.inherited = new Map(
        open.filter((s) => partitionForKey(s.icao24, partitions) === partition).map((
          s,
        ) => [s.id, s]),
      );
    }
    const inherited = state.inherited;
    const cutoff = state.dataTime - this.#staleAfterS;
    const due: string[] = [];
    for (const [id, s] of inherited) {
      const session = state.engine.session(s.icao24);
      // Continued by the engine (rebuilt from its track): the engine ends it.
      if (session?.id === id) inherited.delete(id);
      // last_seen only grows, and only while the engine continues the session.
      else if (session === null && Date.parse(s.last_seen) / 1000 < cutoff) due.push(id);
    }
    if (due.length === 0) return { aircraft: 0, rows: 0, orphans: [] };
    const open = await this.#options.history.stillOpen(due);
    const stillOpen = new Set(open.map((s) => s.id));
    for (const id of due) if (!stillOpen.has(id)) inherited.delete(id);
    const orphans = open.filter((s) =>
      Date.parse(s.last_seen) / 1000 < cutoff && state.engine.session(s.icao24) === null
    );
    const latest = new Map<string, number>();
    for (const s of orphans) {
      const lastSeen = Date.parse(s.last_seen) / 1000;
      latest.set(s.icao24, Math.max(latest.get(s.icao24) ?? -Infinity, lastSeen));
    }
    const requests = [...latest].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([icao24, lastSeen]) => ({ icao24, beforeUnix: lastSeen + 1, trailingGap: false }));
    const warm = await this.#warmUp(state, requests);
    return { ...warm, orphans };
  }

  #checkPartitioning(
    state: PartitionState,
    partition: number,
    items: readonly ProcessItem[],
  ): void {
    const partitions = this.#partitions;
    if (partitions === null) return;
    for (const { flight } of items) {
      // Hashing every message cost more than the detectors of some; once per aircraft will do.
      if (state.checked.has(flight.icao24)) continue;
      if (state.checked.size >= MAX_CHECKED) state.checked.clear();
      state.checked.add(flight.icao24);
      const expected = partitionForKey(flight.icao24, partitions);
      if (expected !== partition) {
        this.#partitions = null;
        this.#options.onSweepDisabled?.(
          `key ${flight.icao24} arrived on partition ${partition}, not ${expected} as with ` +
            `${partitions} partitions: the topic has another partition count or partitioner`,
        );
        return;
      }
    }
  }
}

function smoothedValues(s: SmoothedUpdate): SmoothedValues {
  return {
    lat: s.lat,
    lon: s.lon,
    altitude_m: s.altitude_m,
    velocity_mps: s.ground_speed_mps,
    heading_deg: s.track_deg,
    vertical_rate_mps: s.vertical_rate_mps,
  };
}
