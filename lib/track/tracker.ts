/**
 * Per-aircraft track state keyed by icao24: one {@link KalmanTrack} each, plus
 * a slot for the caller's own per-aircraft state (the detectors').
 *
 * Updates must come in time order per aircraft. One whose `time_position` is
 * not newer than the last accepted one (a duplicate row repeated by later
 * snapshots, or a late message) is ignored, not re-applied, and the result
 * says so. Memory is bounded twice: {@link Tracker.expire} drops aircraft not
 * heard from for `staleAfterS` of data time (default 20 min), and adding an
 * aircraft beyond `maxAircraft` evicts the least recently updated one.
 *
 * Pure: no I/O, no clocks; "now" is always data time passed in.
 *
 * @module
 */
import type { Flight } from "../../contracts/mod.ts";
import { type KalmanEstimate, type KalmanOptions, KalmanTrack } from "./kalman.ts";

/** One tracked aircraft. */
export interface TrackEntry<S> {
  readonly icao24: string;
  readonly filter: KalmanTrack;
  /** `time_position_unix` of the last accepted update. */
  lastTime: number;
  /** Largest `last_contact_unix` seen, accepted or not: what staleness is measured from. */
  lastContactUnix: number;
  /** The last accepted flight object. */
  lastFlight: Flight;
  /** The last filter output. */
  lastEstimate: KalmanEstimate;
  /** Caller-owned state, made by `createState`. */
  state: S;
}

export type TrackResult<S> =
  | { status: "accepted"; entry: TrackEntry<S>; estimate: KalmanEstimate; isNew: boolean }
  | {
    status: "ignored";
    reason: "duplicate" | "out_of_order";
    /** Set when the aircraft is tracked. */
    entry: TrackEntry<S>;
  };

/** Options for {@link createTracker}. */
export interface TrackerOptions<S> {
  /** Makes the caller's state for a new aircraft. */
  createState: (flight: Flight) => S;
  /** Seconds of data time without contact before {@link Tracker.expire} drops an aircraft. Default 1200. */
  staleAfterS?: number;
  /** Most aircraft kept; the least recently updated one goes first. Default 50,000. */
  maxAircraft?: number;
  kalman?: KalmanOptions;
}

/** Why an entry left the tracker. */
export type EvictionReason = "stale" | "capacity";

export interface Tracker<S> {
  /** Feeds one flight object. */
  update(flight: Flight): TrackResult<S>;
  /**
   * Removes and returns (sorted by icao24) the aircraft whose last contact is
   * older than `nowUnix - staleAfterS`.
   */
  expire(nowUnix: number): TrackEntry<S>[];
  /** Removes and returns every entry, sorted by icao24. */
  drain(): TrackEntry<S>[];
  /** Entries evicted for capacity since the last call (oldest first); clears the list. */
  takeEvicted(): TrackEntry<S>[];
  get(icao24: string): TrackEntry<S> | undefined;
  readonly size: number;
  readonly staleAfterS: number;
}

/** A tracker with empty state. */
export function createTracker<S>(options: TrackerOptions<S>): Tracker<S> {
  const staleAfterS = options.staleAfterS ?? 1200;
  const maxAircraft = Math.max(1, options.maxAircraft ?? 50_000);
  // Map iteration order is insertion order; re-inserting on every update makes it LRU order.
  const entries = new Map<string, TrackEntry<S>>();
  let evicted: TrackEntry<S>[] = [];

  return {
    update(flight) {
      const existing = entries.get(flight.icao24);
      if (existing !== undefined) {
        existing.lastContactUnix = Math.max(existing.lastContactUnix, flight.last_contact_unix);
        if (flight.time_position_unix <= existing.lastTime) {
          return {
            status: "ignored",
            reason: flight.time_position_unix === existing.lastTime ? "duplicate" : "out_of_order",
            entry: existing,
          };
        }
        const estimate = existing.filter.update(measurementOf(flight));
        existing.lastTime = flight.time_position_unix;
        existing.lastFlight = flight;
        existing.lastEstimate = estimate;
        entries.delete(flight.icao24);
        entries.set(flight.icao24, existing);
        return { status: "accepted", entry: existing, estimate, isNew: false };
      }
      const filter = new KalmanTrack(options.kalman);
      const estimate = filter.update(measurementOf(flight));
      const entry: TrackEntry<S> = {
        icao24: flight.icao24,
        filter,
        lastTime: flight.time_position_unix,
        lastContactUnix: Math.max(flight.last_contact_unix, flight.time_position_unix),
        lastFlight: flight,
        lastEstimate: estimate,
        state: options.createState(flight),
      };
      entries.set(flight.icao24, entry);
      while (entries.size > maxAircraft) {
        const oldest = entries.keys().next().value as string;
        evicted.push(entries.get(oldest)!);
        entries.delete(oldest);
      }
      return { status: "accepted", entry, estimate, isNew: true };
    },
    expire(nowUnix) {
      const out: TrackEntry<S>[] = [];
      for (const entry of entries.values()) {
        if (entry.lastContactUnix < nowUnix - staleAfterS) out.push(entry);
      }
      for (const entry of out) entries.delete(entry.icao24);
      return out.sort(byIcao);
    },
    drain() {
      const out = [...entries.values()].sort(byIcao);
      entries.clear();
      return out;
    },
    takeEvicted() {
      const out = evicted;
      evicted = [];
      return out;
    },
    get(icao24) {
      return entries.get(icao24);
    },
    get size() {
      return entries.size;
    },
    staleAfterS,
  };
}

function byIcao(a: { icao24: string }, b: { icao24: string }): number {
  return a.icao24 < b.icao24 ? -1 : a.icao24 > b.icao24 ? 1 : 0;
}

function measurementOf(flight: Flight) {
  return {
    t: flight.time_position_unix,
    lat: flight.position.lat,
    lon: flight.position.lon,
    velocityMps: flight.velocity_mps,
    trackDeg: flight.heading_deg,
    altitudeM: flight.altitude_m,
    verticalRateMps: flight.vertical_rate_mps,
  };
}
