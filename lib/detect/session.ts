/**
 * Flight sessions and the session events `takeoff`, `landing`, `flight_end`
 * (severity info). Also decides the confirmed air/ground phase that the other
 * detectors use, so it runs first.
 *
 * Rules and thresholds:
 * - take-off: `on_ground` goes true → false and is confirmed once the ground
 *   speed reaches {@link TAKEOFF_SPEED_MPS} (40 m/s, ~78 kt: no aircraft that
 *   reports a ground state taxis that fast) while still airborne; a return to
 *   `on_ground` before that cancels it. The event time is the first airborne
 *   update. EDW24 at Zurich: on_ground false at 11:04:28Z at 51 m/s.
 * - landing: `on_ground` goes false → true and stays so for
 *   {@link LANDING_CONFIRM_S} (20 s) or the ground speed drops below
 *   {@link LANDING_SPEED_MPS} (30 m/s). A shorter touch at speed is not a
 *   landing: EZY158T reports on_ground for 4 s at 73 m/s at the bottom of its
 *   second go-around at Toulouse. Without a ground flag (TRA051 never sets
 *   it), a landing is also taken when the aircraft is within
 *   {@link RUNWAY_NEAR_M} (5 km) of a runway end, below its elevation +
 *   {@link RUNWAY_LOW_M} (150 m, generous because baro altitude is not
 *   corrected for QNH), and slower than 30 m/s; its time is the first update
 *   of that low, near-runway stretch. Such a "ground" needs a climb of
 *   {@link TAKEOFF_CLIMB_M} (100 m) as well as the speed to count as a take-off.
 * - flight_end: the aircraft is no longer tracked (no contact for 20 min of
 *   data time, or end of input): one event at its last contact.
 * - sessions: one opens at the first update of an aircraft (id `icao24-<unix
 *   first_seen>`). It closes when a take-off follows a landing (the take-off
 *   opens the next one), or when the aircraft stops being tracked; the end
 *   reason is then `landing` (ended at the landing) if it landed, else
 *   `timeout`, `end_of_input` or `evicted` (capacity; no flight_end then).
 *
 * Evidence: `airport`, `runway` and `runway_distance_m` of the best-matching
 * runway end (track within 30° of its heading, within 5 km) when there is one,
 * `ground_speed_mps`, `track_deg`, `session_id`, and for flight_end `reason`.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import { angleDistDeg } from "../geo/angles.ts";
import { isoTime, makeEvent, round } from "./event.ts";
import type { RunwayIndex } from "./runways.ts";
import type { CloseReason, GroundPhase, Observation } from "./types.ts";

export const TAKEOFF_SPEED_MPS = 40;
export const TAKEOFF_CLIMB_M = 100;
export const LANDING_CONFIRM_S = 20;
export const LANDING_SPEED_MPS = 30;
export const RUNWAY_NEAR_M = 5_000;
export const RUNWAY_LOW_M = 150;
const RUNWAY_MATCH_DEG = 30;

/** A flight session, as the `flights` table stores it. Times are ISO 8601 UTC. */
export interface FlightSession {
  id: string;
  icao24: string;
  callsign: string | null;
  first_seen: string;
  last_seen: string;
  ended_at: string | null;
  /** `landing`, `timeout`, `end_of_input` or `evicted`; null while open. */
  end_reason: string | null;
}

/** A session opened or closed by this update; the worker writes these. */
export type SessionChange =
  | { type: "open"; session: FlightSession }
  | { type: "close"; session: FlightSession };

/** Observation without the fields this detector computes. */
export type SessionInput = Omit<Observation, "phase" | "landed">;

interface Pending {
  t: number;
  lat: number;
  lon: number;
  altitude_m: number | null;
  /** Smoothed; a frozen speed field (TRA051 after touchdown) is gated out there. */
  ground_speed_mps: number;
  track_deg: number;
}

/** Per-aircraft session and phase state machine. */
export class SessionDetector {
  readonly #icao24: string;
  #phase: GroundPhase;
  /** True when the current ground phase was inferred without a ground flag. */
  #flaglessGround = false;
  #groundAltitude: number | null = null;
  #pendingTakeoff: Pending | null = null;
  #pendingLanding: Pending | null = null;
  #lowNearRunwaySince: Pending | null = null;
  #session: FlightSession;
  /** Unix seconds of the last update; `last_seen` is formatted from it on demand. */
  #lastSeen: number;
  #landedAt: number | null = null;
  #last: { lat: number; lon: number; altitude_m: number | null } | null = null;

  /** Opens the first session at `first` (pushed to `changes`). */
  constructor(icao24: string, first: Flight, changes: SessionChange[]) {
    this.#icao24 = icao24;
    this.#phase = first.on_ground ? "ground" : "air";
    this.#session = this.#newSession(first.time_position_unix, first.callsign);
    this.#lastSeen = first.time_position_unix;
    changes.push({ type: "open", session: { ...this.#session } });
  }

  /** The open session (a copy). */
  get session(): FlightSession {
    return this.#snapshot();
  }

  /** Data time of the last update taken, unix s (cheaper than {@link session}). */
  get lastSeenUnix(): number {
    return this.#lastSeen;
  }

  /** Id of the open session (cheaper than {@link session}). */
  get sessionId(): string {
    return this.#session.id;
  }

  #snapshot(): FlightSession {
    return { ...this.#session, last_seen: isoTime(this.#lastSeen) };
  }

  /** Consumes one update; returns the confirmed phase and whether it landed now. */
  update(
    obs: SessionInput,
    out: AnomalyEvent[],
    changes: SessionChange[],
  ): { phase: GroundPhase; landed: boolean } {
    const { flight, est, t } = obs;
    this.#lastSeen = t;
    if (flight.callsign !== null) this.#session.callsign = flight.callsign;
    this.#last = { lat: est.lat, lon: est.lon, altitude_m: est.altitude_m };
    const speed = flight.velocity_mps ?? est.ground_speed_mps;
    const here: Pending = {
      t,
      lat: est.lat,
      lon: est.lon,
      altitude_m: est.altitude_m,
      ground_speed_mps: est.ground_speed_mps,
      track_deg: est.track_deg,
    };
    let landed = false;
    if (this.#phase === "ground") {
      if (flight.on_ground) {
        this.#pendingTakeoff = null;
        if (flight.altitude_m !== null) this.#groundAltitude = flight.altitude_m;
      } else {
        const pending = this.#pendingTakeoff ??= here;
        const climbed = est.altitude_m !== null && this.#groundAltitude !== null &&
          est.altitude_m >= this.#groundAltitude + TAKEOFF_CLIMB_M;
        if (speed >= TAKEOFF_SPEED_MPS && (!this.#flaglessGround || climbed)) {
          this.#takeoff(pending, obs, out, changes);
        }
      }
    } else if (flight.on_ground) {
      const pending = this.#pendingLanding ??= here;
      if (t - pending.t >= LANDING_CONFIRM_S || speed < LANDING_SPEED_MPS) {
        this.#landing(pending, obs, false, out);
        landed = true;
      }
    } else {
      this.#pendingLanding = null;
      const low = this.#lowNearRunway(obs.runways, est.lat, est.lon, est.altitude_m);
      if (!low) this.#lowNearRunwaySince = null;
      else {
        const since = this.#lowNearRunwaySince ??= here;
        if (est.ground_speed_mps < LANDING_SPEED_MPS) {
          this.#landing(since, obs, true, out);
          landed = true;
        }
      }
    }
    return { phase: this.#phase, landed };
  }

  /** Ends the session (the aircraft is no longer tracked); emits flight_end unless evicted. */
  close(
    reason: CloseReason,
    lastSeenUnix: number,
    out: AnomalyEvent[],
    changes: SessionChange[],
  ): void {
    const landed = this.#landedAt !== null && reason !== "evicted";
    const session = this.#session;
    session.ended_at = isoTime(landed ? this.#landedAt! : lastSeenUnix);
    session.end_reason = landed ? "landing" : reason;
    changes.push({ type: "close", session: this.#snapshot() });
    if (reason === "evicted" || this.#last === null) return;
    out.push(makeEvent({
      kind: "flight_end",
      severity: "info",
      icao24: this.#icao24,
      callsign: session.callsign,
      startedAtUnix: lastSeenUnix,
      endedAtUnix: lastSeenUnix,
      position: this.#last,
      evidence: {
        reason,
        last_contact_at: isoTime(lastSeenUnix),
        session_id: session.id,
        landed: this.#landedAt !== null,
      },
    }));
  }

  #takeoff(pending: Pending, obs: SessionInput, out: AnomalyEvent[], changes: SessionChange[]) {
    this.#phase = "air";
    this.#pendingTakeoff = null;
    this.#flaglessGround = false;
    this.#lowNearRunwaySince = null;
    if (this.#landedAt !== null) {
      const old = this.#session;
      old.ended_at = isoTime(this.#landedAt);
      old.end_reason = "landing";
      // The old session was last seen as the take-off roll began; the new one starts there.
      this.#lastSeen = pending.t;
      changes.push({ type: "close", session: this.#snapshot() });
      this.#session = this.#newSession(pending.t, obs.flight.callsign);
      this.#lastSeen = obs.t;
      changes.push({ type: "open", session: this.#snapshot() });
      this.#landedAt = null;
    }
    out.push(this.#pointEvent("takeoff", pending, obs));
  }

  #landing(pending: Pending, obs: SessionInput, flagless: boolean, out: AnomalyEvent[]) {
    this.#phase = "ground";
    this.#flaglessGround = flagless;
    this.#pendingLanding = null;
    this.#lowNearRunwaySince = null;
    this.#landedAt = pending.t;
    this.#groundAltitude = obs.flight.altitude_m ?? obs.est.altitude_m;
    out.push(this.#pointEvent("landing", pending, obs, { ground_flag: !flagless }));
  }

  #lowNearRunway(runways: RunwayIndex, lat: number, lon: number, alt: number | null): boolean {
    // No runway lies above 4,500 m: skip the index lookup for everything en route.
    if (alt === null || alt > 4_500 + RUNWAY_LOW_M) return false;
    for (const { end } of runways.near(lat, lon, RUNWAY_NEAR_M)) {
      if (end.elevation_m !== null && alt <= end.elevation_m + RUNWAY_LOW_M) return true;
    }
    return false;
  }

  #pointEvent(
    kind: "takeoff" | "landing",
    at: Pending,
    obs: SessionInput,
    extra: Record<string, unknown> = {},
  ): AnomalyEvent {
    const match = obs.runways.near(at.lat, at.lon, RUNWAY_NEAR_M)
      .find((r) => angleDistDeg(r.end.heading_deg, at.track_deg) <= RUNWAY_MATCH_DEG);
    return makeEvent({
      kind,
      severity: "info",
      icao24: this.#icao24,
      callsign: this.#session.callsign,
      startedAtUnix: at.t,
      endedAtUnix: at.t,
      position: { lat: at.lat, lon: at.lon, altitude_m: at.altitude_m },
      evidence: {
        airport: match?.end.airport ?? null,
        runway: match?.end.runway ?? null,
        runway_distance_m: match ? round(match.distance_m, 0) : null,
        ground_speed_mps: round(at.ground_speed_mps, 1),
        track_deg: round(at.track_deg, 1),
        session_id: this.#session.id,
        ...extra,
      },
    });
  }

  #newSession(firstSeen: number, callsign: string | null): FlightSession {
    return {
      id: `${this.#icao24}-${Math.floor(firstSeen)}`,
      icao24: this.#icao24,
      callsign,
      first_seen: isoTime(firstSeen),
      last_seen: isoTime(firstSeen),
      ended_at: null,
      end_reason: null,
    };
  }
}
