/**
 * Derived fleets for load: many aircraft made at replay time from a few real
 * 1 s recordings, so that a 20,000-aircraft scenario ships as a few lines of
 * JSON instead of gigabytes. Pure: templates and places come in, flights or
 * OpenSky state vectors come out; the caller reads the files.
 *
 * Copy `i` of the fleet:
 * - follows real track `i mod tracks` (every recorded row with a position,
 *   in time order), starting at a phase spread over the track's length
 *   (golden-ratio sequence) and advancing one recorded row per second of
 *   data time, wrapping to the track's start at its end;
 * - is moved rigidly onto a real airport (weighted by airport size, so the
 *   copies sit where traffic is): the track's centroid goes to the airport,
 *   the track is rotated about it by a per-copy angle, headings rotate with it;
 *   altitudes, speeds, vertical rates, squawks and callsigns stay as recorded;
 * - flies under a new icao24 address `icao24_first + i` (a block outside the
 *   copied aircraft's own), so every copy is a distinct aircraft;
 * - reports every `interval_s` seconds (1 s: receiver-fed; 10 s: OpenSky's
 *   cadence), copies staggered over the interval, with the recorded gap
 *   between time_position and last_contact kept.
 *
 * Nothing here is a recorded aircraft: every flight it makes is a derived copy
 * for load, and the scenario and fixtures/README.md say so.
 *
 * @module
 */
import { z } from "zod";
import type { Flight } from "../../contracts/flight.ts";
import { normalizeDeg, wrapLon } from "../geo/mod.ts";

/** The `derived` block of a scenario file. */
export const DerivedFleetSpec = z.object({
  /** Name in logs and `source.provider` notes; should say it is derived. */
  label: z.string().min(1).max(64).default("copies_for_load"),
  /** Number of distinct aircraft. */
  aircraft: z.number().int().positive().max(1_000_000),
  /** Seconds between two reports of one aircraft (1 = every second). */
  interval_s: z.number().int().positive().max(60).default(1),
  /** First icao24 of the derived block, 6 lower-case hex digits. */
  icao24_first: z.string().regex(/^[0-9a-f]{6}$/).default("f00000"),
  /** Seconds of data time in one pass (loops with REPLAY_LOOP). */
  duration_s: z.number().int().positive().default(3600),
  /** Real 1 s recordings whose tracks are copied, paths relative to the scenario file. */
  tracks: z.array(z.object({ file: z.string().min(1), label: z.string().max(64).optional() }))
    .min(1),
  /** Where copies are placed: an airports GeoJSON (OurAirports), relative to the scenario file. */
  places: z.object({
    file: z.string().min(1),
    /** Relative weight per OurAirports `type`; types not listed are not used. */
    weights: z.record(z.string(), z.number().nonnegative()).default({
      large_airport: 8,
      medium_airport: 2,
      small_airport: 0.5,
    }),
    /** Only airports with `scheduled_service: "yes"`. */
    scheduled_only: z.boolean().default(true),
  }),
});
export type DerivedFleetSpec = z.infer<typeof DerivedFleetSpec>;

/** A real track to copy: its flights in time order (each with a position). */
export interface TrackTemplate {
  label: string;
  flights: Flight[];
}

/** A place copies are put on, with its weight. */
export interface Place {
  lat: number;
  lon: number;
  weight: number;
}

const KM_PER_DEG_LAT = 110.574;
const KM_PER_DEG_LON_EQUATOR = 111.32;
const GOLDEN = 0.6180339887498949;
const DEG = Math.PI / 180;

interface PreparedTrack {
  label: string;
  flights: Flight[];
  /** East and north offsets of each row from the track's centroid, km. */
  east: Float64Array;
  north: Float64Array;
  /** last_contact - time_position of each row, s (>= 0). */
  positionAge: Float64Array;
}

interface Copy {
  track: number;
  phase: number;
  cos: number;
  sin: number;
  rotationDeg: number;
  lat: number;
  lon: number;
  kmPerDegLon: number;
  icao24: string;
}

/** Options for {@link DerivedFleet.flightsAt}. */
export interface FlightsAtOptions {
  /** Only copies with `index mod slices === slice` (feeding a second in parts). */
  slice?: number;
  slices?: number;
}

/** The fleet: deterministic, the same spec and inputs always give the same flights. */
export class DerivedFleet {
  readonly size: number;
  readonly intervalS: number;
  readonly #tracks: PreparedTrack[];
  readonly #copies: Copy[];
  readonly #first: number;

  constructor(
    tracks: readonly TrackTemplate[],
    places: readonly Place[],
    options: { aircraft: number; intervalS?: number; icao24First?: string },
  ) {
    const usable = tracks.filter((t) => t.flights.length > 0);
    if (usable.length === 0) throw new RangeError("a derived fleet needs a track with positions");
    const weighted = places.filter((p) => p.weight > 0);
    if (weighted.length === 0) throw new RangeError("a derived fleet needs a place with weight");
    this.size = options.aircraft;
    this.intervalS = options.intervalS ?? 1;
    this.#first = parseInt(options.icao24First ?? "f00000", 16);
    if (this.#first + this.size > 0xffffff) throw new RangeError("icao24 block overflows");
    this.#tracks = usable.map(prepareTrack);
    const cumulative = new Float64Array(weighted.length);
    let total = 0;
    weighted.forEach((p, i) => cumulative[i] = total += p.weight);
    this.#copies = Array.from({ length: this.size }, (_, i): Copy => {
      const track = i % this.#tracks.length;
      const length = this.#tracks[track]!.flights.length;
      const place = weighted[pick(cumulative, frac((i + 0.5) * GOLDEN * 7.0) * total)]!;
      // Spread within a few tens of km of the airport so copies at one airport do not overlap.
      const spread = frac(i * 0.7548776662466927);
      const bearing = frac(i * 0.5698402909980532) * 2 * Math.PI;
      const lat = clampLat(place.lat + Math.cos(bearing) * spread * 0.4);
      const kmPerDegLon = Math.max(1, KM_PER_DEG_LON_EQUATOR * Math.cos(lat * DEG));
      const lon = wrapLon(
        place.lon + Math.sin(bearing) * spread * 0.4 * KM_PER_DEG_LAT / kmPerDegLon,
      );
      const rotationDeg = frac(i * GOLDEN * 3) * 360;
      return {
        track,
        phase: Math.floor(frac(i * GOLDEN) * length),
        cos: Math.cos(rotationDeg * DEG),
        sin: Math.sin(rotationDeg * DEG),
        rotationDeg,
        lat,
        lon,
        kmPerDegLon,
        icao24: (this.#first + i).toString(16).padStart(6, "0"),
      };
    });
  }

  /** Copy index of a derived icao24, or -1 when it is not one of this fleet's. */
  indexOf(icao24: string): number {
    const i = parseInt(icao24, 16) - this.#first;
    return Number.isInteger(i) && i >= 0 && i < this.size ? i : -1;
  }

  /** Label of the real track that copy `index` follows. */
  trackOf(index: number): string {
    return this.#tracks[this.#copies[index]!.track]!.label;
  }

  /**
   * The reports due at data second `second` (unix s): every copy with
   * `index mod interval_s === second mod interval_s`, last_contact at
   * `second`.
   */
  flightsAt(second: number, options: FlightsAtOptions = {}): Flight[] {
    const slices = options.slices ?? 1;
    const slice = options.slice ?? 0;
    const interval = this.intervalS;
    const phase = ((second % interval) + interval) % interval;
    const out: Flight[] = [];
    for (let i = phase; i < this.size; i += interval) {
      if (slices > 1 && i % slices !== slice) continue;
      out.push(this.#flight(i, second));
    }
    return out;
  }

  #flight(index: number, second: number): Flight {
    const c = this.#copies[index]!;
    const t = this.#tracks[c.track]!;
    const n = t.flights.length;
    const row = (((c.phase + second) % n) + n) % n;
    const f = t.flights[row]!;
    const east = t.east[row]!;
    const north = t.north[row]!;
    // Rotate the offset about the centroid (clockwise by rotationDeg, like a heading).
    const e = east * c.cos + north * c.sin;
    const nn = -east * c.sin + north * c.cos;
    // A literal in the contract's field order (not a spread): one hidden class for every copy.
    return {
      icao24: c.icao24,
      callsign: f.callsign,
      origin_country: f.origin_country,
      position: {
        lat: clampLat(c.lat + nn / KM_PER_DEG_LAT),
        lon: wrapLon(c.lon + e / c.kmPerDegLon),
      },
      altitude_m: f.altitude_m,
      geo_altitude_m: f.geo_altitude_m,
      velocity_mps: f.velocity_mps,
      heading_deg: f.heading_deg === null ? null : normalizeDeg(f.heading_deg + c.rotationDeg),
      vertical_rate_mps: f.vertical_rate_mps,
      on_ground: f.on_ground,
      squawk: f.squawk,
      spi: f.spi,
      position_source: f.position_source,
      category: f.category,
      time_position_unix: second - t.positionAge[row]!,
      last_contact_unix: second,
    };
  }
}

/**
 * Places from an OurAirports GeoJSON FeatureCollection (points with
 * `properties.type` and `scheduled_service`), weighted by type.
 */
export function placesFromAirports(
  geojson: unknown,
  options: Pick<DerivedFleetSpec["places"], "weights" | "scheduled_only">,
): Place[] {
  const features = (geojson as { features?: unknown[] })?.features;
  if (!Array.isArray(features)) throw new TypeError("places: not a GeoJSON FeatureCollection");
  const out: Place[] = [];
  for (const feature of features) {
    const f = feature as {
      geometry?: { coordinates?: unknown[] };
      properties?: { type?: string; scheduled_service?: string };
    };
    const [lon, lat] = f.geometry?.coordinates ?? [];
    if (typeof lat !== "number" || typeof lon !== "number") continue;
    if (options.scheduled_only && f.properties?.scheduled_service !== "yes") continue;
    const weight = options.weights[f.properties?.type ?? ""] ?? 0;
    if (weight > 0) out.push({ lat, lon, weight });
  }
  return out;
}

function prepareTrack(template: TrackTemplate): PreparedTrack {
  const n = template.flights.length;
  let lat0 = 0;
  let x = 0;
  let y = 0;
  for (const f of template.flights) {
    lat0 += f.position.lat;
    x += Math.cos(f.position.lon * DEG);
    y += Math.sin(f.position.lon * DEG);
  }
  lat0 /= n;
  const lon0 = Math.atan2(y, x) / DEG;
  const kmPerDegLon = KM_PER_DEG_LON_EQUATOR * Math.cos(lat0 * DEG);
  const east = new Float64Array(n);
  const north = new Float64Array(n);
  const positionAge = new Float64Array(n);
  template.flights.forEach((f, i) => {
    east[i] = wrapLon(f.position.lon - lon0) * kmPerDegLon;
    north[i] = (f.position.lat - lat0) * KM_PER_DEG_LAT;
    positionAge[i] = Math.max(0, f.last_contact_unix - f.time_position_unix);
  });
  return { label: template.label, flights: template.flights, east, north, positionAge };
}

/** Index of the first cumulative weight above `u`. */
function pick(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function frac(x: number): number {
  return x - Math.floor(x);
}

function clampLat(lat: number): number {
  return Math.max(-85, Math.min(85, lat));
}
