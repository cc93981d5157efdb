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

export class FlightStore {
  readonly flights = new Map<string, TrackedFlight>();
  /** The same by 24-bit address: integer keys, no string to hash and compare per update. */
  readonly #byAddress = new Map<number, TrackedFlight>();
  /** An array, not a Set: iterating a Set per aircraft update makes an iterator each time. */
  #listeners: StoreListener[] = [];
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
    if (!this.#listeners.includes(listener)) this.#listeners = [...this.#listeners, listener];
    for (const t of this.flights.values()) listener.added(t);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
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

  /** The aircraft with this 24-bit address (icao24 `4d2271` is 0x4d2271), if held. */
  byAddress(icao: number): TrackedFlight | undefined {
    return this.#byAddress.get(icao);
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
      this.#byAddress.set(parseInt(own.icao24, 16), t);
      for (const l of this.#listeners) l.added(t);
      return true;
    }
    this.#source = flight;
    return this.rewrite(old, {
      timePositionUnix: flight.time_position_unix,
      lastContactUnix: flight.last_contact_unix,
      nowS,
      write: this.#assign,
      ...(options.blend === false ? { blend: false } : {}),
    });
  }

  /** {@link upsert}'s writer: the update being taken into the store's own objects. */
  #source: Flight | null = null;
  readonly #assign = (dst: Flight) => assignFlight(dst, this.#source!);

  /**
   * Takes a new state of held aircraft `t` by letting `options.write`
   * overwrite the fields of its own flight object in place (the v2.bin
   * batch path writes them straight from the decoded columns: no flight
   * object, no copy per aircraft), with {@link upsert}'s rules: the new
   * state's times are checked before anything is written (an older
   * position is dropped: false), and a newer position is blended in from
   * where the marker is drawn at `nowS`.
   */
  rewrite(t: TrackedFlight, options: {
    /** The new state's `time_position_unix`. */
    timePositionUnix: number;
    /** The new state's `last_contact_unix`. */
    lastContactUnix: number;
    nowS: number;
    /** Writes every field of the new state into `f` (`t.flight`; it keeps `icao24`). */
    write: (f: Flight) => void;
    /** False: snap instead of gliding. Default true. */
    blend?: boolean;
  }): boolean {
    const f = t.flight;
    const gap = options.timePositionUnix - f.time_position_unix;
    if (gap < 0 || (gap === 0 && options.lastContactUnix < f.last_contact_unix)) {
      this.outOfOrder++;
      return false;
    }
    if (gap === 0) {
      // Same position, newer contact: keep the motion, refresh the rest.
      options.write(f);
      this.#updated(t);
      return true;
    }
    // Everything below writes into the aircraft's own objects (or the
    // scratch and the pool of corrections): an update of 20,000 aircraft
    // allocates nothing per aircraft.
    // TODO(#10): still ~1-2 µs per aircraft on the page's main thread
    // (bench:globe: the store's cost of a 20,000-aircraft batch); the
    // Worker, which holds the previous state in typed arrays, could compute
    // the blend and post it with the batch.
    const blend = options.blend !== false;
    const nowS = options.nowS;
    if (blend) this.#displayInto(t, nowS, shown);
    options.write(f);
    kinematicsOf(f, t.kinematics);
    const done = t.correction;
    let correction: Correction | null = null;
    if (blend) {
      this.#into.out = predicted;
      extrapolateInto(t.kinematics, nowS, this.#into);
      const o = this.#blend;
      o.nowS = nowS;
      o.speedMps = t.kinematics.speedMps;
      o.trackDeg = t.kinematics.trackDeg;
      // The correction being replaced is done with (the blend restarts from `shown`): reused.
      o.out = done ?? this.#pool.pop() ?? null;
      correction = makeCorrectionInto(shown, predicted, o);
      if (correction === null && o.out !== null) this.#pool.push(o.out);
    } else if (done !== null) this.#pool.push(done);
    t.intervalS = nextInterval(t.intervalS, gap);
    t.correction = correction;
    this.#updated(t);
    return true;
  }

  /** Corrections done with, for the next blends (at most one per aircraft). */
  readonly #pool: Correction[] = [];

  /** The options of every blend and extrapolation, reused. */
  readonly #blend: Parameters<typeof makeCorrectionInto>[2];
  readonly #into: { capS: number; out: GeoPoint } = { capS: DEFAULT_CAP_S, out: shown };

  #updated(t: TrackedFlight): void {
    const ls = this.#listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!.updated?.(t);
  }

  remove(icao24: string): boolean {
    if (!this.flights.delete(icao24)) return false;
    this.#byAddress.delete(parseInt(icao24, 16));
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
      if (this.#pool.length < this.flights.size) this.#pool.push(t.correction);
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
