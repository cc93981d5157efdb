/**
 * The aircraft the globe shows, keyed by icao24: the latest measured state
 * of each, its estimated update interval, and the blend that glides its
 * marker onto a new measurement. {@link FlightStore.displayAt} gives the
 * dead-reckoned position of one aircraft at any time; listeners hear about
 * arrivals and departures so a renderer can keep its instance slots.
 * Pure: no DOM, no three.js.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import {
  applyCorrection,
  type BlendOptions,
  type Correction,
  DEFAULT_CAP_S,
  extrapolate,
  type GeoPoint,
  ghostLevel,
  type Kinematics,
  makeCorrection,
  nextInterval,
} from "./dead_reckoning.ts";

/** One aircraft in the store. */
export interface TrackedFlight {
  flight: Flight;
  kinematics: Kinematics;
  /** Smoothed seconds between position updates; null until two were seen. */
  intervalS: number | null;
  correction: Correction | null;
}

/** Interval assumed before one was measured, seconds (OpenSky's anonymous cadence). */
export const DEFAULT_INTERVAL_S = 10;

export interface StoreListener {
  added(t: TrackedFlight): void;
  /** `t` took a new state (measurement, blend or any field): a renderer rewrites its slot. */
  updated?(t: TrackedFlight): void;
  removed(icao24: string): void;
}

export interface StoreOptions extends BlendOptions {
  /** Extrapolation cap, seconds. Default {@link DEFAULT_CAP_S}. */
  capS?: number;
}

/** The measured state of a flight, for dead reckoning. */
export function kinematicsOf(f: Flight): Kinematics {
  return {
    lat: f.position.lat,
    lon: f.position.lon,
    altM: f.altitude_m ?? f.geo_altitude_m,
    speedMps: f.velocity_mps,
    trackDeg: f.heading_deg,
    vrateMps: f.vertical_rate_mps,
    t: f.time_position_unix,
    onGround: f.on_ground,
  };
}

export class FlightStore {
  readonly flights = new Map<string, TrackedFlight>();
  readonly #listeners = new Set<StoreListener>();
  readonly #options: StoreOptions;
  /** Updates dropped because they were older than what the store holds. */
  outOfOrder = 0;

  constructor(options: StoreOptions = {}) {
    this.#options = options;
  }

  get capS(): number {
    return this.#options.capS ?? DEFAULT_CAP_S;
  }

  get size(): number {
    return this.flights.size;
  }

  listen(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    for (const t of this.flights.values()) listener.added(t);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Replaces the content with `flights`: aircraft not in it leave, the
   * others are upserted (with blending when `blend`, else snapping: a jump
   * in time travel must not glide).
   */
  replace(flights: readonly Flight[], nowS: number, options: { blend?: boolean } = {}): void {
    const keep = new Set<string>();
    for (const f of flights) keep.add(f.icao24);
    for (const id of [...this.flights.keys()]) if (!keep.has(id)) this.remove(id);
    for (const f of flights) this.upsert(f, nowS, options);
  }

  /**
   * Takes a new state of one aircraft. An update whose position is older
   * than the one held is dropped (returns false); a newer position is
   * blended in from where the marker is drawn at `nowS`.
   */
  upsert(flight: Flight, nowS: number, options: { blend?: boolean } = {}): boolean {
    const old = this.flights.get(flight.icao24);
    if (!old) {
      const t: TrackedFlight = {
        flight,
        kinematics: kinematicsOf(flight),
        intervalS: null,
        correction: null,
      };
      this.flights.set(flight.icao24, t);
      for (const l of this.#listeners) l.added(t);
      return true;
    }
    const gap = flight.time_position_unix - old.flight.time_position_unix;
    if (gap < 0 || (gap === 0 && flight.last_contact_unix < old.flight.last_contact_unix)) {
      this.outOfOrder++;
      return false;
    }
    if (gap === 0) {
      // Same position, newer contact: keep the motion, refresh the rest.
      old.flight = flight;
      this.#updated(old);
      return true;
    }
    const next = kinematicsOf(flight);
    let correction: Correction | null = null;
    if (options.blend !== false) {
      const shown = this.displayAt(old, nowS);
      const predicted = extrapolate(next, nowS, this.capS);
      correction = makeCorrection(shown, predicted, {
        ...this.#options,
        nowS,
        speedMps: next.speedMps,
        trackDeg: next.trackDeg,
      });
    }
    old.flight = flight;
    old.kinematics = next;
    old.intervalS = nextInterval(old.intervalS, gap);
    old.correction = correction;
    this.#updated(old);
    return true;
  }

  #updated(t: TrackedFlight): void {
    for (const l of this.#listeners) l.updated?.(t);
  }

  remove(icao24: string): boolean {
    if (!this.flights.delete(icao24)) return false;
    for (const l of this.#listeners) l.removed(icao24);
    return true;
  }

  clear(): void {
    for (const id of [...this.flights.keys()]) this.remove(id);
  }

  /** Where the marker of `t` is at `nowS`: dead reckoning plus what is left of the blend. */
  displayAt(t: TrackedFlight, nowS: number): GeoPoint {
    const p = extrapolate(t.kinematics, nowS, this.capS);
    if (t.correction !== null && nowS >= t.correction.t0 + t.correction.durS) {
      t.correction = null;
    }
    return applyCorrection(p, t.correction, nowS);
  }

  /** 0 (fresh) .. 1 (ghost) for `t` at `nowS`. */
  ghost(t: TrackedFlight, nowS: number): number {
    return ghostLevel(
      nowS - t.kinematics.t,
      t.intervalS ?? DEFAULT_INTERVAL_S,
      this.capS,
    );
  }

  /** Newest `last_contact_unix` of all aircraft, or null when empty. */
  newestContact(): number | null {
    let newest: number | null = null;
    for (const t of this.flights.values()) {
      if (newest === null || t.flight.last_contact_unix > newest) {
        newest = t.flight.last_contact_unix;
      }
    }
    return newest;
  }
}
