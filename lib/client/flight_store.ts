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
  applyCorrectionInto,
  type BlendOptions,
  type Correction,
  DEFAULT_CAP_S,
  extrapolateInto,
  type GeoPoint,
  ghostLevel,
  type Kinematics,
  makeCorrectionInto,
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

/** The measured state of a flight, for dead reckoning (into `out` when given). */
export function kinematicsOf(f: Flight, out?: Kinematics): Kinematics {
  const k = out ?? {} as Kinematics;
  k.lat = f.position.lat;
  k.lon = f.position.lon;
  k.altM = f.altitude_m ?? f.geo_altitude_m;
  k.speedMps = f.velocity_mps;
  k.trackDeg = f.heading_deg;
  k.vrateMps = f.vertical_rate_mps;
  k.t = f.time_position_unix;
  k.onGround = f.on_ground;
  return k;
}

/** A flight the store owns (callers may reuse theirs: v2_feed's reader does). */
function ownCopy(f: Flight): Flight {
  return { ...f, position: { lat: f.position.lat, lon: f.position.lon } };
}

/** Optional fields of a flight: gone from the copy when gone from the update. */
const OPTIONAL: readonly (keyof Flight)[] = ["source", "emergency"];

/** `src`'s fields into the store's own `dst`, in place (its position object too). */
function assignFlight(dst: Flight, src: Flight): void {
  const pos = dst.position;
  Object.assign(dst, src);
  pos.lat = src.position.lat;
  pos.lon = src.position.lon;
  dst.position = pos;
  for (const k of OPTIONAL) if (k in dst && src[k] === undefined) delete dst[k];
}

// Scratch of the hot path (one update at a time; no allocation per aircraft).
const shown: GeoPoint = { lat: 0, lon: 0, altM: 0 };
const predicted: GeoPoint = { lat: 0, lon: 0, altM: 0 };
const next = {} as Kinematics;

export class FlightStore {
  readonly flights = new Map<string, TrackedFlight>();
  readonly #listeners = new Set<StoreListener>();
  readonly #options: StoreOptions;
  /** Updates dropped because they were older than what the store holds. */
  outOfOrder = 0;

  constructor(options: StoreOptions = {}) {
    this.#options = options;
    this.#blend = { ...options, nowS: 0, speedMps: null, trackDeg: null, out: null };
    this.#into.capS = this.capS;
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
  replace(flights: Iterable<Flight>, nowS: number, options: { blend?: boolean } = {}): void {
    const list = [...flights];
    this.removeExcept(new Set(list.map((f) => f.icao24)));
    for (const f of list) this.upsert(f, nowS, options);
  }

  /** Every aircraft not in `keep` leaves. */
  removeExcept(keep: ReadonlySet<string>): void {
    for (const id of [...this.flights.keys()]) if (!keep.has(id)) this.remove(id);
  }

  /**
   * Takes a new state of one aircraft. An update whose position is older
   * than the one held is dropped (returns false); a newer position is
   * blended in from where the marker is drawn at `nowS`.
   */
  upsert(flight: Flight, nowS: number, options: { blend?: boolean } = {}): boolean {
    const old = this.flights.get(flight.icao24);
    if (!old) {
      const own = ownCopy(flight);
      const t: TrackedFlight = {
        flight: own,
        kinematics: kinematicsOf(own),
        intervalS: null,
        correction: null,
      };
      this.flights.set(own.icao24, t);
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
      assignFlight(old.flight, flight);
      this.#updated(old);
      return true;
    }
    // Everything below writes into the aircraft's own objects (or the
    // scratch): a delta of 20,000 aircraft allocates nothing per aircraft.
    // TODO(#10): at 20,000 reports a second this blend is the page's largest
    // main-thread cost left (bench:globe: ~60 ms of CPU per update of every
    // aircraft on the shared machine); the shader could blend from the
    // previous state kept in the instance, or the Worker could do it.
    let correction: Correction | null = null;
    if (options.blend !== false) {
      this.#displayInto(old, nowS, shown);
      kinematicsOf(flight, next);
      this.#into.out = predicted;
      extrapolateInto(next, nowS, this.#into);
      const o = this.#blend;
      o.nowS = nowS;
      o.speedMps = next.speedMps;
      o.trackDeg = next.trackDeg;
      // The correction being replaced is reused (it is done with: the blend restarts from `shown`).
      o.out = old.correction;
      correction = makeCorrectionInto(shown, predicted, o);
    }
    assignFlight(old.flight, flight);
    kinematicsOf(old.flight, old.kinematics);
    old.intervalS = nextInterval(old.intervalS, gap);
    old.correction = correction;
    this.#updated(old);
    return true;
  }

  /** The options of every blend and extrapolation, reused. */
  readonly #blend: Parameters<typeof makeCorrectionInto>[2];
  readonly #into: { capS: number; out: GeoPoint } = { capS: DEFAULT_CAP_S, out: shown };

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
    return this.#displayInto(t, nowS, { lat: 0, lon: 0, altM: 0 });
  }

  #displayInto(t: TrackedFlight, nowS: number, out: GeoPoint): GeoPoint {
    this.#into.out = out;
    extrapolateInto(t.kinematics, nowS, this.#into);
    if (t.correction !== null && nowS >= t.correction.t0 + t.correction.durS) {
      t.correction = null;
    }
    return applyCorrectionInto(out, t.correction, nowS);
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
