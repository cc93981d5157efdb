/**
 * Turns decoded Mode S replies into aircraft updates: pairs even/odd CPR
 * frames, keeps each aircraft's last position for local decoding, and
 * applies the checks receivers use before trusting a position.
 *
 * Position rules (the usual practice of dump1090-class decoders):
 * - global decoding needs an even and an odd frame of the same kind
 *   (airborne/surface) at most {@link AIRBORNE_PAIR_S} (10 s) apart
 *   ({@link SURFACE_PAIR_S}, 50 s, on the surface, where frames are rarer);
 * - after that, each new frame is decoded locally against the aircraft's
 *   own last position, if that is at most {@link LOCAL_MAX_AGE_S} old;
 * - surface frames need a reference for their 90-degree ambiguity: the
 *   aircraft's last position or the receiver (RECEIVER_LAT/RECEIVER_LON);
 *   with neither they wait;
 * - every new position must be reachable from the previous one at a
 *   plausible speed ({@link MAX_SPEED_MPS} airborne, {@link MAX_SURFACE_SPEED_MPS}
 *   on the surface, plus {@link POSITION_SLACK_M} for CPR resolution) and,
 *   with a receiver position set, lie within `maxRangeM` of it. A failed check
 *   drops the position and forgets the aircraft's reference, so the next
 *   fix must come from a fresh global pair.
 *
 * Addresses of DF4/5/20/21 replies come out of the parity and are only
 * trusted for aircraft heard in DF11/17/18 within {@link ADDRESS_TTL_S}.
 *
 * @module
 */
import { FPM, FT, KT } from "../geo/units.ts";
import { haversineM } from "../geo/sphere.ts";
import { type CprFrame, decodeCprGlobal, decodeCprLocal, type LatLon } from "../modes/cpr.ts";
import type { ModeSMessage } from "../modes/message.ts";
import { emitterCategoryToNumber } from "./category.ts";
import type { AircraftUpdate, EmergencyKind, SourceKind } from "./types.ts";

export const AIRBORNE_PAIR_S = 10;
export const SURFACE_PAIR_S = 50;
export const LOCAL_MAX_AGE_S = 60;
export const MAX_SPEED_MPS = 700;
export const MAX_SURFACE_SPEED_MPS = 100;
export const POSITION_SLACK_M = 2_000;
export const ADDRESS_TTL_S = 60;
/** Default receiver range; farther positions are rejected, metres (about 300 NM). */
export const DEFAULT_MAX_RANGE_M = 556_000;

interface StoredFrame {
  frame: CprFrame;
  surface: boolean;
  atMs: number;
}

interface AircraftState {
  even: StoredFrame | null;
  odd: StoredFrame | null;
  last: { lat: number; lon: number; atMs: number; surface: boolean } | null;
  confirmedAtMs: number;
}

/** Why a position message gave no position (counted by the caller). */
export type PositionOutcome =
  | "global"
  | "local"
  | "waiting_for_pair"
  | "zone_mismatch"
  | "needs_reference"
  | "out_of_range"
  | "implausible_speed";

/** Options for {@link ModeSTracker}. */
export interface ModeSTrackerOptions {
  /** Receiver position (RECEIVER_LAT/RECEIVER_LON), or null. */
  receiver?: LatLon | null;
  /** Farthest plausible position from the receiver, metres. */
  maxRangeM?: number;
  /** `source` stamped on the updates. Default `beast`. */
  source?: SourceKind;
}

export class ModeSTracker {
  #aircraft = new Map<string, AircraftState>();
  #receiver: LatLon | null;
  #maxRangeM: number;
  #source: SourceKind;
  /** Outcomes of position messages, for metrics and tests. */
  readonly positionOutcomes: Record<PositionOutcome, number> = {
    global: 0,
    local: 0,
    waiting_for_pair: 0,
    zone_mismatch: 0,
    needs_reference: 0,
    out_of_range: 0,
    implausible_speed: 0,
  };
  /** DF4/5/20/21 replies dropped because their address was not confirmed. */
  unconfirmedAddresses = 0;

  constructor(options: ModeSTrackerOptions = {}) {
    this.#receiver = options.receiver ?? null;
    this.#maxRangeM = options.maxRangeM ?? DEFAULT_MAX_RANGE_M;
    this.#source = options.source ?? "beast";
  }

  /** Aircraft with state. */
  get size(): number {
    return this.#aircraft.size;
  }

  /**
   * One decoded reply received at `atMs` (unix ms). Returns the update it
   * makes, or null when it says nothing usable.
   */
  ingest(message: ModeSMessage, atMs: number): AircraftUpdate | null {
    let state = this.#aircraft.get(message.icao24);
    if (message.addressFromParity) {
      if (!state || atMs - state.confirmedAtMs > ADDRESS_TTL_S * 1000) {
        this.unconfirmedAddresses++;
        return null;
      }
    } else {
      if (!state) {
        state = { even: null, odd: null, last: null, confirmedAtMs: atMs };
        this.#aircraft.set(message.icao24, state);
      }
      state.confirmedAtMs = atMs;
    }
    const u: AircraftUpdate = { icao24: message.icao24, source: this.#source, atMs };
    if (message.df === 17 || message.df === 18) u.position_source = 0;
    if (message.callsign !== undefined) u.callsign = message.callsign || null;
    if (message.emitterCategory !== undefined) {
      u.category = emitterCategoryToNumber(message.emitterCategory);
    }
    if (message.altitudeFt !== undefined) {
      u.altitude_m = message.altitudeFt === null ? null : message.altitudeFt * FT;
    }
    if (message.gnssAltitudeFt !== undefined) {
      u.geo_altitude_m = message.gnssAltitudeFt === null ? null : message.gnssAltitudeFt * FT;
    }
    if (message.groundSpeedKt !== undefined) {
      u.velocity_mps = message.groundSpeedKt === null ? null : message.groundSpeedKt * KT;
    }
    if (message.trackDeg !== undefined) u.heading_deg = message.trackDeg;
    if (message.verticalRateFpm !== undefined) {
      u.vertical_rate_mps = message.verticalRateFpm === null ? null : message.verticalRateFpm * FPM;
    }
    if (typeof message.onGround === "boolean") u.on_ground = message.onGround;
    if (message.squawk !== undefined) u.squawk = message.squawk;
    if (message.emergencyState !== undefined) {
      // 0 is "no emergency" (clears a declared state); 7 is reserved (says nothing).
      const kind = EMERGENCY_STATES[message.emergencyState];
      if (kind !== undefined) u.emergency = kind;
    }
    if (message.spi !== undefined) u.spi = message.spi;
    if (message.surveillanceStatus !== undefined) u.spi = message.surveillanceStatus === 3;
    if (message.cpr && message.surface !== undefined) {
      const pos = this.#position(state!, message.cpr, message.surface, atMs);
      if (pos) u.position = { lat: pos.lat, lon: pos.lon, atMs };
    }
    return u;
  }

  /** Forgets aircraft not heard for `maxAgeMs` (call now and then). */
  prune(nowMs: number, maxAgeMs = 300_000): void {
    for (const [icao, s] of this.#aircraft) {
      if (nowMs - s.confirmedAtMs > maxAgeMs) this.#aircraft.delete(icao);
    }
  }

  #position(
    state: AircraftState,
    frame: CprFrame,
    surface: boolean,
    atMs: number,
  ): LatLon | null {
    const stored: StoredFrame = { frame, surface, atMs };
    if (frame.odd) state.odd = stored;
    else state.even = stored;
    const last = state.last;
    let candidate: LatLon | null = null;
    let how: "global" | "local" = "global";
    // 1. Local against the aircraft's own recent position.
    if (last && last.surface === surface && atMs - last.atMs <= LOCAL_MAX_AGE_S * 1000) {
      candidate = decodeCprLocal(frame, last, surface);
      how = "local";
    } else {
      // 2. Global from a fresh pair of the same kind.
      const other = frame.odd ? state.even : state.odd;
      const window = (surface ? SURFACE_PAIR_S : AIRBORNE_PAIR_S) * 1000;
      if (!other || other.surface !== surface || atMs - other.atMs > window) {
        this.positionOutcomes.waiting_for_pair++;
        return null;
      }
      const even = frame.odd ? other.frame : frame;
      const odd = frame.odd ? frame : other.frame;
      const ref = surface ? (last ?? this.#receiver) : null;
      const result = decodeCprGlobal(even, odd, { latestOdd: frame.odd, surface, ref });
      if (typeof result === "string") {
        this.positionOutcomes[result === "needs_reference" ? "needs_reference" : "zone_mismatch"]++;
        return null;
      }
      candidate = result;
    }
    if (this.#receiver && haversineM(this.#receiver, candidate) > this.#maxRangeM) {
      this.positionOutcomes.out_of_range++;
      state.last = null;
      return null;
    }
    if (last) {
      const dt = Math.max(0, atMs - last.atMs) / 1000;
      const limit = (surface ? MAX_SURFACE_SPEED_MPS : MAX_SPEED_MPS) * dt + POSITION_SLACK_M;
      if (haversineM(last, candidate) > limit) {
        this.positionOutcomes.implausible_speed++;
        state.last = null;
        return null;
      }
    }
    this.positionOutcomes[how]++;
    state.last = { lat: candidate.lat, lon: candidate.lon, atMs, surface };
    return candidate;
  }
}

/** TC 28 emergency/priority states by code, readsb's names (`emergency` in aircraft.json). */
const EMERGENCY_STATES: readonly (EmergencyKind | null)[] = [
  null,
  "general",
  "lifeguard",
  "minfuel",
  "nordo",
  "unlawful",
  "downed",
];
