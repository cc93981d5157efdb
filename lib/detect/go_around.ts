/**
 * Go-arounds: an approach aligned with a runway that gets low near the
 * threshold, does not land, and climbs away. Severity warning.
 *
 * Rule (alignment as in xoolive/traffic's landing detection):
 * - aligned: within 10 NM of a runway end, distance (NM) × |bearing from the
 *   aircraft to the threshold − runway heading| (rad) < 0.1 (about 185 m off
 *   the extended centreline), smoothed track within 20° of the runway heading,
 *   and below the threshold elevation + 5,000 ft (1,524 m). The best-aligned
 *   end wins; parallel runways of one airport count as one approach.
 * - an attempt is one aligned segment per airport; alignment gaps up to 20 s
 *   do not split it (traffic's gap). It must be aligned for at least 60 s.
 * - low: its lowest smoothed altitude, taken within 10 km of the threshold
 *   while aligned or up to 2 min after, is below threshold elevation +
 *   300 m (~1,000 ft; baro altitude is not QNH-corrected, so this is not
 *   exact AGL). This is what keeps TRA051's level runs at ~600 m over the
 *   Lelystad approach (field at -4 m) out.
 * - go-around: after the lowest point the smoothed altitude climbs 300 m
 *   above it within 5 min, with no confirmed landing in between (the session
 *   detector's landing: on the ground for 20 s or below 30 m/s; EZY158T's 4 s
 *   touch at 73 m/s during its second attempt is not one). One event per
 *   attempt: `started_at` = the lowest point, `ended_at` = when the climb of
 *   300 m was reached.
 *
 * Unlike traffic (two aligned attempts with a climb between), no second
 * approach is needed: EZY158T diverts after its second go-around.
 *
 * Data: EZY158T at Toulouse (threshold elevation 151.5 m) bottoms out at
 * 190.5 m raw / 193.7 m smoothed at 16:08:20Z, 294 m past the 32L threshold
 * (fixtures/README.md says 32R; the track runs down the 32L centreline), and
 * at 182.9 m raw / 187.8 m smoothed at 16:25:59Z past 32R, each after about
 * 4 min aligned, and climbs 300 m within 20 s. TRA051's six aligned runs at
 * Lelystad (EHLE 05/23, field at -4 m) bottom out at 601-608 m: not low.
 *
 * Evidence: `airport`, `runway`, `min_altitude_m` (smoothed), `raw_min_altitude_m`,
 * `min_altitude_at`, `threshold_elevation_m`, `min_height_m`,
 * `threshold_distance_m`, `aligned_s`, `approach_started_at`, `climb_m`.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { angleDistDeg } from "../geo/angles.ts";
import { haversineM, initialBearingDeg } from "../geo/sphere.ts";
import { DEG, FT, NM } from "../geo/units.ts";
import { isoTime, makeEvent, round } from "./event.ts";
import type { RunwayEnd } from "./runways.ts";
import type { AircraftDetector, CloseReason, Observation } from "./types.ts";

export const ALIGN_NM_RAD = 0.1;
export const ALIGN_TRACK_DEG = 20;
export const ALIGN_MAX_DISTANCE_M = 10 * NM;
export const ALIGN_MAX_HEIGHT_M = 5_000 * FT;
export const ALIGN_GAP_S = 20;
export const MIN_ALIGNED_S = 60;
export const LOW_HEIGHT_M = 300;
export const LOW_MAX_DISTANCE_M = 10_000;
export const LOW_AFTER_ALIGNED_S = 120;
export const CLIMB_M = 300;
export const CLIMB_WITHIN_S = 300;
/** No runway lies higher than this (m); above it no lookup is made. */
const HIGHEST_RUNWAY_M = 4_500;

interface Attempt {
  airport: string;
  /** The end aligned with most recently. */
  end: RunwayEnd;
  startedAt: number;
  lastAlignedAt: number;
  alignedS: number;
  min: {
    t: number;
    altitude: number;
    lat: number;
    lon: number;
    distance: number;
    end: RunwayEnd;
  } | null;
  rawMin: number | null;
  emitted: boolean;
}

/** Per-aircraft go-around state machine. */
export class GoAroundDetector implements AircraftDetector {
  readonly #icao24: string;
  #attempt: Attempt | null = null;

  constructor(icao24: string) {
    this.#icao24 = icao24;
  }

  update(obs: Observation, out: AnomalyEvent[]): void {
    const alt = obs.est.altitude_m;
    if (obs.phase === "ground" || obs.landed || alt === null) {
      if (obs.phase === "ground" || obs.landed) this.#attempt = null;
      return;
    }
    const aligned = alt <= HIGHEST_RUNWAY_M + ALIGN_MAX_HEIGHT_M ? bestAligned(obs, alt) : null;
    let attempt = this.#attempt;
    if (aligned !== null) {
      if (
        attempt !== null && attempt.airport === aligned.airport &&
        obs.t - attempt.lastAlignedAt <= ALIGN_GAP_S
      ) {
        attempt.alignedS += obs.t - attempt.lastAlignedAt;
        attempt.lastAlignedAt = obs.t;
        attempt.end = aligned;
      } else {
        attempt = this.#attempt = {
          airport: aligned.airport,
          end: aligned,
          startedAt: obs.t,
          lastAlignedAt: obs.t,
          alignedS: 0,
          min: null,
          rawMin: null,
          emitted: false,
        };
      }
    }
    if (attempt === null || attempt.emitted) return;
    const sinceAligned = obs.t - attempt.lastAlignedAt;
    const distance = haversineM(obs.est, attempt.end);
    if (sinceAligned <= LOW_AFTER_ALIGNED_S && distance <= LOW_MAX_DISTANCE_M) {
      if (attempt.min === null || alt < attempt.min.altitude) {
        attempt.min = {
          t: obs.t,
          altitude: alt,
          lat: obs.est.lat,
          lon: obs.est.lon,
          distance,
          end: attempt.end,
        };
      }
      const raw = obs.flight.altitude_m;
      if (raw !== null && !obs.est.rejected.altitude) {
        attempt.rawMin = attempt.rawMin === null ? raw : Math.min(attempt.rawMin, raw);
      }
    }
    const min = attempt.min;
    if (min === null) {
      if (sinceAligned > LOW_AFTER_ALIGNED_S) this.#attempt = null;
      return;
    }
    const elevation = min.end.elevation_m ?? 0;
    const qualified = attempt.alignedS >= MIN_ALIGNED_S && min.altitude - elevation <= LOW_HEIGHT_M;
    if (qualified && alt >= min.altitude + CLIMB_M && obs.t - min.t <= CLIMB_WITHIN_S) {
      attempt.emitted = true;
      out.push(this.#event(attempt, min, obs, alt));
      return;
    }
    if (obs.t - min.t > CLIMB_WITHIN_S && sinceAligned > LOW_AFTER_ALIGNED_S) this.#attempt = null;
  }

  close(_reason: CloseReason, _lastSeenUnix: number, _out: AnomalyEvent[]): void {
    // An attempt that has not climbed away yet is not a go-around.
    this.#attempt = null;
  }

  #event(
    attempt: Attempt,
    min: NonNullable<Attempt["min"]>,
    obs: Observation,
    alt: number,
  ): AnomalyEvent {
    const elevation = min.end.elevation_m;
    return makeEvent({
      kind: "go_around",
      severity: "warning",
      icao24: this.#icao24,
      callsign: obs.flight.callsign,
      startedAtUnix: min.t,
      endedAtUnix: obs.t,
      position: { lat: min.lat, lon: min.lon, altitude_m: min.altitude },
      evidence: {
        airport: attempt.airport,
        runway: min.end.runway,
        min_altitude_m: round(min.altitude, 1),
        raw_min_altitude_m: attempt.rawMin,
        min_altitude_at: isoTime(min.t),
        threshold_elevation_m: elevation === null ? null : round(elevation, 1),
        min_height_m: elevation === null ? null : round(min.altitude - elevation, 1),
        threshold_distance_m: round(min.distance, 0),
        aligned_s: attempt.alignedS,
        approach_started_at: isoTime(attempt.startedAt),
        climb_m: round(alt - min.altitude, 1),
      },
    });
  }
}

/** The runway end the aircraft is best aligned with, or null. */
function bestAligned(obs: Observation, alt: number): RunwayEnd | null {
  const { lat, lon, track_deg: track } = obs.est;
  let best: RunwayEnd | null = null;
  let bestScore = ALIGN_NM_RAD;
  for (const { end, distance_m } of obs.runways.near(lat, lon, ALIGN_MAX_DISTANCE_M)) {
    if (end.elevation_m === null || alt > end.elevation_m + ALIGN_MAX_HEIGHT_M) continue;
    if (angleDistDeg(track, end.heading_deg) > ALIGN_TRACK_DEG) continue;
    const bearing = initialBearingDeg({ lat, lon }, end);
    const score = (distance_m / NM) * angleDistDeg(bearing, end.heading_deg) * DEG;
    if (score < bestScore) {
      bestScore = score;
      best = end;
    }
  }
  return best;
}
