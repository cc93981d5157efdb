/**
 * Holdings: sustained turning in one direction at a roughly constant
 * altitude, confined to a small area. Severity warning.
 *
 * Rule (the rule-based alternative to xoolive/traffic's holding model:
 * "circles of 0.5-10 km radius with at least 1.5 turns"):
 * - the signed change of the smoothed track is accumulated over airborne
 *   updates faster than 30 m/s (the step at a filter restart is not counted:
 *   a track jump there is not a turn; a gap over 60 s starts again);
 * - start of a candidate stretch: the earliest sample in the last
 *   {@link WINDOW_S} (10 min) from which the track keeps turning one way at
 *   20°/min or more on average, measured to every sample a minute or more
 *   later (a lead-in of occasional small turns averages less and is left
 *   out; a holding leg of a minute or two does not break it);
 * - onset: from that start the track has turned at least
 *   {@link MIN_TURN_DEG} (540°, 1.5 turns), the smoothed altitude stayed
 *   within a {@link BAND_M} (300 m) band, and the pattern's size, path
 *   length ÷ |turn| in radians (the radius of a circle flown with the same
 *   length and turn; a racetrack's is its turn radius plus leg/π), is
 *   {@link MIN_RADIUS_M}-{@link MAX_RADIUS_M} (0.5-10 km). Checked every 5 s
 *   of data time; the event is emitted with `ended_at` null;
 * - continuation: the event stays open while the aircraft stays within its
 *   onset band ± 150 m and does not fly straight (less than 5° of turn in
 *   10 s) for more than 3 min (longer than a holding leg); then it ends at
 *   the last turning update and is re-emitted. A new onset within 5 min and
 *   10 km of a closed one reopens it (one event per holding, same id); the
 *   turns of a closed holding never count towards the next.
 *
 * Data: TRA051's holding (15:43:08-15:53:32Z here; the README says about
 * 15:43:52-15:53:51Z and 645°) turns 647° at 2,735-2,750 m with an
 * equivalent radius of 7.2 km; EZY158T's circuits and circling at Toulouse
 * never turn more than 340° within 10 min (and the 16:31-16:39Z orbit is a
 * left then a right turn), so they are not holdings; none of the 842
 * aircraft of the Switzerland full day turns more than 164° within 10 min.
 *
 * Evidence: `turn_deg` (signed, right positive), `turns`, `direction`,
 * `duration_s`, `min_altitude_m`, `max_altitude_m`, `centre_lat`,
 * `centre_lon`, `radius_m` (equivalent), `extent_m` (farthest point from
 * the centre).
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { angleDiffDeg } from "../geo/angles.ts";
import { haversineM } from "../geo/sphere.ts";
import { DEG } from "../geo/units.ts";
import { thinPush } from "./_samples.ts";
import { makeEvent, round } from "./event.ts";
import type { AircraftDetector, CloseReason, Observation } from "./types.ts";

export const WINDOW_S = 600;
export const MIN_TURN_DEG = 540;
export const BAND_M = 300;
export const MIN_RADIUS_M = 500;
export const MAX_RADIUS_M = 10_000;
export const MIN_SPEED_MPS = 30;
const MAX_GAP_S = 60;
/** Turning means at least this many degrees in the last minute. */
const TURNING_DEG_PER_MIN = 20;
const STRAIGHT_END_S = 180;
/** A sample that turned this much (°) in the 10 s before it extends an open holding. */
const TURNING_DEG_PER_10S = 5;
const BAND_MARGIN_M = 150;
const REOPEN_S = 300;
const REOPEN_M = 10_000;
const ONSET_CHECK_S = 5;
/** Samples kept at least this far apart (s), so a 10 min window holds at most ~120. */
const SAMPLE_SPACING_S = 5;

interface Sample {
  t: number;
  /** Cumulative signed turn, degrees. */
  cum: number;
  alt: number;
  lat: number;
  lon: number;
  /** Path length flown since the first sample, m. */
  path: number;
}

interface Holding {
  startedAt: number;
  startCum: number;
  lastTurningAt: number;
  lastTurningCum: number;
  minAlt: number;
  maxAlt: number;
  /** The altitudes it may stay within, fixed at onset: its band ± 150 m. */
  bandLo: number;
  bandHi: number;
  /** Sums for the centre (mean position) and the path length. */
  sumLat: number;
  sumLon: number;
  count: number;
  pathStart: number;
  pathAtLastTurning: number;
  /** Farthest distance from the centre at onset, m. */
  extent: number;
  callsign: string | null;
  open: boolean;
  endedAt: number | null;
}

/** Per-aircraft holding state machine. */
export class HoldingDetector implements AircraftDetector {
  readonly #icao24: string;
  #samples: Sample[] = [];
  #prevTrack: number | null = null;
  #holding: Holding | null = null;
  #lastOnsetCheck = -Infinity;

  constructor(icao24: string) {
    this.#icao24 = icao24;
  }

  update(obs: Observation, out: AnomalyEvent[]): void {
    const { est } = obs;
    const alt = est.altitude_m;
    if (obs.phase !== "air" || alt === null || est.ground_speed_mps < MIN_SPEED_MPS) {
      this.#reset(obs.t, out);
      return;
    }
    const last = this.#samples.at(-1);
    if (last !== undefined && obs.t - last.t > MAX_GAP_S) this.#reset(obs.t, out);
    // After a filter restart the track may jump: that step is not a turn.
    if (est.reinitialised.horizontal) this.#prevTrack = null;
    const prev = this.#samples.at(-1);
    const turn = this.#prevTrack === null ? 0 : angleDiffDeg(this.#prevTrack, est.track_deg);
    const cum = prev === undefined ? 0 : prev.cum + turn;
    const path = prev === undefined ? 0 : prev.path + haversineM(prev, est);
    this.#prevTrack = est.track_deg;
    const samples = this.#samples;
    thinPush(samples, { t: obs.t, cum, alt, lat: est.lat, lon: est.lon, path }, SAMPLE_SPACING_S);
    while (samples.length > 0 && samples[0]!.t < obs.t - WINDOW_S) samples.shift();

    const holding = this.#holding;
    if (holding !== null && holding.open) {
      this.#continue(holding, obs, out);
      return;
    }
    // Onset is looked for every few seconds of data time, not on every 1 s update.
    if (obs.t - this.#lastOnsetCheck < ONSET_CHECK_S) return;
    this.#lastOnsetCheck = obs.t;
    const onset = this.#findOnset();
    if (onset === null) return;
    const seg = samples.slice(onset);
    const centre = centreOf(seg);
    if (
      holding !== null && holding.endedAt !== null && obs.t - holding.endedAt <= REOPEN_S &&
      haversineM(centre, this.#centre(holding)) <= REOPEN_M
    ) {
      holding.open = true;
      holding.endedAt = null;
      this.#extend(holding, seg);
      holding.bandLo = Math.min(holding.bandLo, holding.minAlt - BAND_MARGIN_M);
      holding.bandHi = Math.max(holding.bandHi, holding.maxAlt + BAND_MARGIN_M);
      out.push(this.#event(holding));
      return;
    }
    const h: Holding = {
      startedAt: seg[0]!.t,
      startCum: seg[0]!.cum,
      lastTurningAt: obs.t,
      lastTurningCum: cum,
      minAlt: Infinity,
      maxAlt: -Infinity,
      bandLo: -Infinity,
      bandHi: Infinity,
      sumLat: 0,
      sumLon: 0,
      count: 0,
      pathStart: seg[0]!.path,
      pathAtLastTurning: path,
      extent: Math.max(...seg.map((s) => haversineM(s, centre))),
      callsign: obs.flight.callsign,
      open: true,
      endedAt: null,
    };
    this.#extend(h, seg);
    h.bandLo = h.minAlt - BAND_MARGIN_M;
    h.bandHi = h.maxAlt + BAND_MARGIN_M;
    this.#holding = h;
    out.push(this.#event(h));
  }

  close(_reason: CloseReason, _lastSeenUnix: number, out: AnomalyEvent[]): void {
    this.#end(out);
  }

  /** Index of the first sample of the holding stretch ending now, or null. */
  #findOnset(): number | null {
    const s = this.#samples;
    const n = s.length;
    const now = s[n - 1]!;
    // Cheap test first: has the track turned MIN_TURN_DEG one way within the window at all?
    let minCum = now.cum;
    let maxCum = now.cum;
    for (const sample of s) {
      if (sample.cum < minCum) minCum = sample.cum;
      if (sample.cum > maxCum) maxCum = sample.cum;
    }
    const sign = now.cum - minCum >= MIN_TURN_DEG ? 1 : maxCum - now.cum >= MIN_TURN_DEG ? -1 : 0;
    if (sign === 0) return null;
    const start = this.#turningStart(sign);
    if (start === null || sign * (now.cum - s[start]!.cum) < MIN_TURN_DEG) return null;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = start; k < n; k++) {
      lo = Math.min(lo, s[k]!.alt);
      hi = Math.max(hi, s[k]!.alt);
    }
    if (hi - lo > BAND_M) return null;
    const radius = (now.path - s[start]!.path) / (Math.abs(now.cum - s[start]!.cum) * DEG);
    if (radius < MIN_RADIUS_M || radius > MAX_RADIUS_M) return null;
    return start;
  }

  /**
   * The earliest sample from which the track keeps turning `sign`-wise at least
   * 20°/min on average, measured to every later sample a minute or more on. A
   * lead-in of occasional small turns averages less and is left out.
   */
  #turningStart(sign: number): number | null {
    const s = this.#samples;
    const n = s.length;
    for (let j = 0; j < n; j++) {
      if (s[n - 1]!.t - s[j]!.t < 60) return null;
      let ok = true;
      for (let k = j + 1; k < n; k++) {
        const dt = s[k]!.t - s[j]!.t;
        if (dt < 60) continue;
        if (sign * (s[k]!.cum - s[j]!.cum) < (dt * TURNING_DEG_PER_MIN) / 60) {
          ok = false;
          break;
        }
      }
      if (ok) return j;
    }
    return null;
  }

  #indexAtOrBefore(t: number): number | null {
    const s = this.#samples;
    if (s.length === 0 || s[0]!.t > t) return null;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]!.t <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #continue(h: Holding, obs: Observation, out: AnomalyEvent[]): void {
    const now = this.#samples.at(-1)!;
    const inBand = now.alt >= h.bandLo && now.alt <= h.bandHi;
    if (!inBand) {
      this.#end(out);
      return;
    }
    const before = this.#indexAtOrBefore(now.t - 10) ?? 0;
    const turning = Math.abs(now.cum - this.#samples[before]!.cum) >= TURNING_DEG_PER_10S;
    if (turning) {
      h.lastTurningAt = now.t;
      h.lastTurningCum = now.cum;
      h.pathAtLastTurning = now.path;
      this.#extend(h, [now]);
    } else if (now.t - h.lastTurningAt > STRAIGHT_END_S) {
      this.#end(out);
      return;
    }
    if (obs.flight.callsign !== null) h.callsign = obs.flight.callsign;
  }

  #extend(h: Holding, seg: Sample[]): void {
    for (const s of seg) {
      h.minAlt = Math.min(h.minAlt, s.alt);
      h.maxAlt = Math.max(h.maxAlt, s.alt);
      h.sumLat += s.lat;
      h.sumLon += s.lon;
      h.count++;
    }
    const last = seg.at(-1);
    if (last !== undefined) {
      h.lastTurningAt = last.t;
      h.lastTurningCum = last.cum;
      h.pathAtLastTurning = last.path;
    }
  }

  #end(out: AnomalyEvent[]): void {
    const h = this.#holding;
    if (h === null || !h.open) return;
    h.open = false;
    h.endedAt = h.lastTurningAt;
    out.push(this.#event(h));
    // The turns of this holding must not count towards the next one.
    this.#samples = this.#samples.filter((sample) => sample.t > h.lastTurningAt);
  }

  #reset(t: number, out: AnomalyEvent[]): void {
    if (this.#samples.length === 0 && this.#holding === null) return;
    this.#end(out);
    this.#samples = [];
    this.#prevTrack = null;
    // Paths and turns of the old samples are gone; a reopen must be a new event.
    if (this.#holding !== null && t - (this.#holding.endedAt ?? t) > REOPEN_S) this.#holding = null;
  }

  #centre(h: Holding): { lat: number; lon: number } {
    return { lat: h.sumLat / h.count, lon: h.sumLon / h.count };
  }

  #event(h: Holding): AnomalyEvent {
    const centre = this.#centre(h);
    const turn = h.lastTurningCum - h.startCum;
    const path = h.pathAtLastTurning - h.pathStart;
    return makeEvent({
      kind: "holding",
      severity: "warning",
      icao24: this.#icao24,
      callsign: h.callsign,
      startedAtUnix: h.startedAt,
      endedAtUnix: h.endedAt,
      position: { lat: centre.lat, lon: centre.lon, altitude_m: (h.minAlt + h.maxAlt) / 2 },
      evidence: {
        turn_deg: round(turn, 0),
        turns: round(Math.abs(turn) / 360, 2),
        direction: turn >= 0 ? "right" : "left",
        duration_s: h.lastTurningAt - h.startedAt,
        min_altitude_m: round(h.minAlt, 1),
        max_altitude_m: round(h.maxAlt, 1),
        centre_lat: round(centre.lat, 5),
        centre_lon: round(centre.lon, 5),
        radius_m: round(path / Math.max(Math.abs(turn) * DEG, 1e-9), 0),
        extent_m: round(h.extent, 0),
      },
    });
  }
}

function centreOf(seg: Sample[]): { lat: number; lon: number } {
  let lat = 0;
  let lon = 0;
  for (const s of seg) {
    lat += s.lat;
    lon += s.lon;
  }
  return { lat: lat / seg.length, lon: lon / seg.length };
}
