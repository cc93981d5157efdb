/**
 * Emergency descents: a sustained descent steeper than 3,000 ft/min that is
 * not an approach. Severity critical.
 *
 * Rule (after the published abnormal-descent rule: more than 3,000 ft/min
 * averaged over 2 min):
 * - rate: the change of the Kalman-smoothed altitude over the last
 *   {@link WINDOW_S} s (the newest sample at least 60 s old, and not older
 *   than 120 s), divided by the time between them. The reported vertical
 *   rate is never used directly: a single bad reading (HFY312P's -83.88 m/s
 *   at a steady 10,058 m over Switzerland) is gated out by the filter and
 *   cannot move the smoothed altitude. A step of the smoothed altitude
 *   faster than 12,000 ft/min (a jump the filter accepted after several
 *   readings, such as VLG64MN's 12,009 → 9,472 m in one 10 s step) or a gap
 *   over 60 s starts the window again, so a jump is never read as a descent.
 * - onset: rate < -{@link RATE_MPS} (15.24 m/s), airborne, and not on
 *   approach: not below a runway end's elevation + {@link APPROACH_HEIGHT_M}
 *   (3,000 m) within {@link APPROACH_RADIUS_M} (40 km) of it, counting only
 *   runways of at least {@link APPROACH_MIN_RUNWAY_M} (1,500 m) so that the
 *   many small strips of Europe do not mask everything below 3,000 m.
 *   `started_at` is where, within the window, the altitude left its level
 *   (30 m), `ended_at` null.
 * - end: the windowed rate is shallower than {@link END_RATE_MPS}
 *   (1,000 ft/min, 5.08 m/s); `ended_at` is where it reached (within 30 m)
 *   the level it then kept. Or the aircraft lands or is no longer tracked.
 *   The same event is re-emitted with `ended_at`.
 *
 * Evidence: `start_altitude_m`, `end_altitude_m` (lowest so far),
 * `altitude_lost_m`, `max_rate_fpm`, `max_rate_mps` (steepest windowed rate,
 * positive down), `window_s`, `duration_s`, `closed_by`.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { FPM } from "../geo/units.ts";
import { makeEvent, round } from "./event.ts";
import { thinPush } from "./_samples.ts";
import type { AircraftDetector, CloseReason, Observation } from "./types.ts";

export const RATE_MPS = 3_000 * FPM;
export const END_RATE_MPS = 1_000 * FPM;
export const WINDOW_S = 60;
export const MAX_WINDOW_S = 120;
export const APPROACH_RADIUS_M = 40_000;
export const APPROACH_HEIGHT_M = 3_000;
export const APPROACH_MIN_RUNWAY_M = 1_500;
const MAX_GAP_S = 60;
/**
 * Faster than this between two smoothed altitudes (plus a restart's catch-up)
 * is a jump, not flight (12,000 ft/min is far beyond any emergency descent):
 * the window restarts.
 */
const JUMP_RATE_MPS = 12_000 * FPM;
/** A filter restart may catch up this much at once without being a jump, m. */
const RESTART_CATCH_UP_M = 150;
/** Within this of the window-start altitude the aircraft is taken as still level, m. */
const LEVEL_M = 30;
/** Samples kept at least this far apart (s). */
const SAMPLE_SPACING_S = 5;

interface Sample {
  t: number;
  alt: number;
  lat: number;
  lon: number;
}

interface Descent {
  startedAt: number;
  start: Sample;
  lowest: number;
  maxRate: number;
  callsign: string | null;
}

/** Per-aircraft emergency-descent state machine. */
export class EmergencyDescentDetector implements AircraftDetector {
  readonly #icao24: string;
  #samples: Sample[] = [];
  #open: Descent | null = null;
  #lastT = Number.NaN;

  constructor(icao24: string) {
    this.#icao24 = icao24;
  }

  update(obs: Observation, out: AnomalyEvent[]): void {
    const alt = obs.est.altitude_m;
    if (obs.phase !== "air" || obs.landed) {
      this.#end(obs.t, "landed", out);
      this.#samples = [];
      return;
    }
    if (alt === null) return;
    const prev = this.#samples.at(-1);
    if (
      prev === undefined || obs.t - prev.t > MAX_GAP_S ||
      Math.abs(alt - prev.alt) > JUMP_RATE_MPS * (obs.t - prev.t) + RESTART_CATCH_UP_M
    ) {
      this.#samples = [];
    }
    this.#lastT = obs.t;
    const samples = this.#samples;
    thinPush(samples, { t: obs.t, alt, lat: obs.est.lat, lon: obs.est.lon }, SAMPLE_SPACING_S);
    while (samples.length > 1 && samples[0]!.t < obs.t - MAX_WINDOW_S) samples.shift();
    // The newest sample at least WINDOW_S old (binary search: samples are in time order).
    let lo = 0;
    let hi = samples.length - 1;
    if (samples[0]!.t > obs.t - WINDOW_S) return;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (samples[mid]!.t <= obs.t - WINDOW_S) lo = mid;
      else hi = mid - 1;
    }
    const from = samples[lo]!;
    if (obs.t - from.t > MAX_WINDOW_S) return;
    const rate = (alt - from.alt) / (obs.t - from.t);
    const open = this.#open;
    if (open !== null) {
      open.lowest = Math.min(open.lowest, alt);
      open.maxRate = Math.max(open.maxRate, -rate);
      if (obs.flight.callsign !== null) open.callsign = obs.flight.callsign;
      if (rate > -END_RATE_MPS) {
        // It ended where it reached (within 30 m) the level it then kept.
        const reached = samples.find((x) => x.alt <= open.lowest + LEVEL_M) ?? samples.at(-1)!;
        this.#end(reached.t, "levelled_off", out);
      }
      return;
    }
    if (rate >= -RATE_MPS || this.#onApproach(obs, alt)) return;
    // Start where the altitude left the level it had at the window start.
    let k = lo;
    while (k + 1 < samples.length && samples[k + 1]!.alt > from.alt - LEVEL_M) k++;
    const start = samples[k]!;
    this.#open = {
      startedAt: start.t,
      start,
      lowest: alt,
      maxRate: -rate,
      callsign: obs.flight.callsign,
    };
    out.push(this.#event(this.#open, null, null));
  }

  close(reason: CloseReason, lastSeenUnix: number, out: AnomalyEvent[]): void {
    this.#end(lastSeenUnix, reason, out);
  }

  #onApproach(obs: Observation, alt: number): boolean {
    for (const { end } of obs.runways.near(obs.est.lat, obs.est.lon, APPROACH_RADIUS_M)) {
      if (end.elevation_m === null || (end.length_m ?? 0) < APPROACH_MIN_RUNWAY_M) continue;
      if (alt < end.elevation_m + APPROACH_HEIGHT_M) return true;
    }
    return false;
  }

  #end(t: number, closedBy: string, out: AnomalyEvent[]): void {
    const open = this.#open;
    if (open === null) return;
    this.#open = null;
    out.push(this.#event(open, t, closedBy));
  }

  #event(d: Descent, endedAt: number | null, closedBy: string | null): AnomalyEvent {
    return makeEvent({
      kind: "emergency_descent",
      severity: "critical",
      icao24: this.#icao24,
      callsign: d.callsign,
      startedAtUnix: d.startedAt,
      endedAtUnix: endedAt,
      position: { lat: d.start.lat, lon: d.start.lon, altitude_m: d.start.alt },
      evidence: {
        start_altitude_m: round(d.start.alt, 1),
        end_altitude_m: round(d.lowest, 1),
        altitude_lost_m: round(d.start.alt - d.lowest, 1),
        max_rate_mps: round(d.maxRate, 2),
        max_rate_fpm: round(d.maxRate / FPM, 0),
        window_s: WINDOW_S,
        duration_s: (endedAt ?? this.#lastT) - d.startedAt,
        closed_by: closedBy,
      },
    });
  }
}
