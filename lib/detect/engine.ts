/**
 * The worker's pure core: tracker + Kalman smoothing + every detector, fed
 * one flight object at a time in time order. Used by the worker and by
 * `deno task detect`, so both see the same events.
 *
 * Per accepted update the detectors run in a fixed order (session, then
 * emergency squawk, emergency descent, go-around, holding), and
 * {@link DetectionEngine.flush} walks aircraft in icao24 order, so the
 * events come out in the same order on every run. An event that changes
 * later (typically `ended_at` set at the end) is emitted again with the same
 * id; consumers keep the last version per id.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { KalmanEstimate, KalmanOptions } from "../track/kalman.ts";
import { createTracker, type TrackEntry } from "../track/tracker.ts";
import { EmergencyDescentDetector } from "./emergency_descent.ts";
import { EmergencySquawkDetector } from "./emergency_squawk.ts";
import { GoAroundDetector } from "./go_around.ts";
import { HoldingDetector } from "./holding.ts";
import { createRunwayIndex, type RunwayEnd, type RunwayIndex } from "./runways.ts";
import { type FlightSession, type SessionChange, SessionDetector } from "./session.ts";
import type { AircraftDetector, CloseReason, Observation } from "./types.ts";

/** Options for {@link createDetectionEngine}. */
export interface DetectionEngineOptions {
  /** Runway ends (or an index of them) for go-around, landing and approach logic. */
  runways: RunwayIndex | readonly RunwayEnd[];
  /** Data-time silence after which an aircraft's flight ends, s. Default 1200 (20 min). */
  staleAfterS?: number;
  /** Most aircraft tracked at once; the least recently updated is evicted. Default 50,000. */
  maxAircraft?: number;
  kalman?: KalmanOptions;
}

/** The smoothed state of one update, for the history writer. */
export interface SmoothedUpdate extends KalmanEstimate {
  icao24: string;
  on_ground: boolean;
  /** The session this update belongs to. */
  session_id: string;
}

/** What one {@link DetectionEngine.ingest} produced. */
export interface IngestResult {
  status: "accepted" | "ignored";
  /** Why an update was ignored: not newer than the last accepted one. */
  reason: "duplicate" | "out_of_order" | null;
  /** Null when ignored. */
  smoothed: SmoothedUpdate | null;
  /** New or updated events, in emission order. */
  events: AnomalyEvent[];
  /** Sessions opened or closed (including aircraft evicted for capacity). */
  sessionChanges: SessionChange[];
}

/** What a flush produced. */
export interface FlushResult {
  events: AnomalyEvent[];
  sessionChanges: SessionChange[];
  /** icao24 of the aircraft no longer tracked. */
  ended: string[];
}

/** Counters since creation. */
export interface EngineStats {
  accepted: number;
  duplicates: number;
  outOfOrder: number;
  aircraft: number;
}

export interface DetectionEngine {
  /** Feeds one flight object (validated, time order per aircraft). */
  ingest(flight: Flight): IngestResult;
  /**
   * With `nowUnix` (data time): ends the aircraft silent for `staleAfterS`
   * (flight_end, sessions closed, open events closed). Without: end of input,
   * every aircraft is ended.
   */
  flush(nowUnix?: number): FlushResult;
  /** The open session of an aircraft, if tracked. */
  session(icao24: string): FlightSession | null;
  /**
   * Data time of the open session's last update, unix s, or null when not
   * tracked: what `session(icao24)?.last_seen` says, without building a copy
   * of the session (the worker asks per update).
   */
  lastSeen(icao24: string): number | null;
  readonly stats: EngineStats;
}

interface AircraftState {
  session: SessionDetector;
  detectors: AircraftDetector[];
}

/** A detection engine with no aircraft yet. */
export function createDetectionEngine(options: DetectionEngineOptions): DetectionEngine {
  const runways: RunwayIndex = "near" in options.runways
    ? options.runways as RunwayIndex
    : createRunwayIndex(options.runways as readonly RunwayEnd[]);
  let changes: SessionChange[] = [];
  const tracker = createTracker<AircraftState>({
    staleAfterS: options.staleAfterS,
    maxAircraft: options.maxAircraft,
    kalman: options.kalman,
    createState: (flight) => ({
      session: new SessionDetector(flight.icao24, flight, changes),
      detectors: [
        new EmergencySquawkDetector(flight.icao24),
        new EmergencyDescentDetector(flight.icao24),
        new GoAroundDetector(flight.icao24),
        new HoldingDetector(flight.icao24),
      ],
    }),
  });
  const stats = { accepted: 0, duplicates: 0, outOfOrder: 0 };

  function closeEntry(
    entry: TrackEntry<AircraftState>,
    reason: CloseReason,
    events: AnomalyEvent[],
  ): void {
    for (const detector of entry.state.detectors) {
      detector.close(reason, entry.lastContactUnix, events);
    }
    entry.state.session.close(reason, entry.lastContactUnix, events, changes);
  }

  return {
    ingest(flight) {
      changes = [];
      const events: AnomalyEvent[] = [];
      const previous = tracker.get(flight.icao24)?.lastTime;
      const result = tracker.update(flight);
      for (const evicted of tracker.takeEvicted()) closeEntry(evicted, "evicted", events);
      if (result.status === "ignored") {
        if (result.reason === "duplicate") stats.duplicates++;
        else stats.outOfOrder++;
        return {
          status: "ignored",
          reason: result.reason,
          smoothed: null,
          events,
          sessionChanges: changes,
        };
      }
      stats.accepted++;
      const { entry, estimate } = result;
      const t = flight.time_position_unix;
      // One object for the session detector and then, with its phase, for the others (a copy
      // per update was measurable in the worker's CPU time, issue #11).
      const obs: Observation = {
        flight,
        est: estimate,
        t,
        dt: previous === undefined ? 0 : t - previous,
        runways,
        phase: "air",
        landed: false,
      };
      const { phase, landed } = entry.state.session.update(obs, events, changes);
      obs.phase = phase;
      obs.landed = landed;
      for (const detector of entry.state.detectors) detector.update(obs, events);
      return {
        status: "accepted",
        reason: null,
        smoothed: {
          ...estimate,
          icao24: flight.icao24,
          on_ground: flight.on_ground,
          session_id: entry.state.session.sessionId,
        },
        events,
        sessionChanges: changes,
      };
    },
    flush(nowUnix) {
      changes = [];
      const events: AnomalyEvent[] = [];
      const entries = nowUnix === undefined ? tracker.drain() : tracker.expire(nowUnix);
      const reason: CloseReason = nowUnix === undefined ? "end_of_input" : "timeout";
      for (const entry of entries) closeEntry(entry, reason, events);
      return { events, sessionChanges: changes, ended: entries.map((e) => e.icao24) };
    },
    session(icao24) {
      return tracker.get(icao24)?.state.session.session ?? null;
    },
    lastSeen(icao24) {
      return tracker.get(icao24)?.state.session.lastSeenUnix ?? null;
    },
    get stats() {
      return { ...stats, aircraft: tracker.size };
    },
  };
}
