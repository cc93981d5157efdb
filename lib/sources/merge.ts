/**
 * Merges updates from any number of sources into one flight object per
 * aircraft:
 *
 * - the freshest position wins, and a position older than the one held is
 *   ignored, so nothing moves back in time when a slower source (an
 *   aggregator a few seconds behind) reports the same aircraft; the flight's
 *   `source` names where its position came from;
 * - every other field is kept with the time it was current, replaced only
 *   by a newer value (from any source), and given out only while it is
 *   fresh: {@link KINEMATIC_WINDOW_MS} for altitude, speed, track, vertical
 *   rate, {@link IDENTITY_WINDOW_MS} for callsign, squawk, category,
 *   emergency. A field one source lacks is so filled from another;
 * - an aircraft is published once it has a position, at most
 *   {@link POSITION_VALID_MS} old (as tar1090 treats positions), and
 *   forgotten after {@link FORGET_AFTER_MS} without contact.
 *
 * Pure: time comes in as arguments.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { AircraftUpdate, EmergencyKind, SourceKind } from "./types.ts";

export const KINEMATIC_WINDOW_MS = 15_000;
export const IDENTITY_WINDOW_MS = 120_000;
export const POSITION_VALID_MS = 60_000;
export const FORGET_AFTER_MS = 300_000;

type FieldName =
  | "callsign"
  | "origin_country"
  | "altitude_m"
  | "geo_altitude_m"
  | "velocity_mps"
  | "heading_deg"
  | "vertical_rate_mps"
  | "on_ground"
  | "squawk"
  | "spi"
  | "category"
  | "emergency";

const FIELDS: readonly FieldName[] = [
  "callsign",
  "origin_country",
  "altitude_m",
  "geo_altitude_m",
  "velocity_mps",
  "heading_deg",
  "vertical_rate_mps",
  "on_ground",
  "squawk",
  "spi",
  "category",
  "emergency",
];

const IDENTITY = new Set<FieldName>([
  "callsign",
  "origin_country",
  "squawk",
  "category",
  "emergency",
]);

interface Held {
  value: unknown;
  atMs: number;
}

interface Aircraft {
  icao24: string;
  position:
    | { lat: number; lon: number; atMs: number; source: SourceKind; positionSource: number }
    | null;
  lastContactMs: number;
  fields: Map<FieldName, Held>;
  dirty: boolean;
}

/** Counters of what the merger did (metrics, tests). */
export interface MergeStats {
  updates: number;
  /** Positions ignored because a newer one was held. */
  stalePositions: number;
  /** Field values ignored because a newer one was held. */
  staleFields: number;
}

export class FlightMerger {
  #aircraft = new Map<string, Aircraft>();
  readonly stats: MergeStats = { updates: 0, stalePositions: 0, staleFields: 0 };

  /** Aircraft held. */
  get size(): number {
    return this.#aircraft.size;
  }

  /** Applies one update; true when it changed something. */
  apply(u: AircraftUpdate): boolean {
    this.stats.updates++;
    let a = this.#aircraft.get(u.icao24);
    if (!a) {
      a = { icao24: u.icao24, position: null, lastContactMs: 0, fields: new Map(), dirty: false };
      this.#aircraft.set(u.icao24, a);
    }
    let changed = false;
    if (u.position) {
      if (a.position === null || u.position.atMs > a.position.atMs) {
        a.position = {
          lat: u.position.lat,
          lon: u.position.lon,
          atMs: u.position.atMs,
          source: u.source,
          positionSource: u.position_source ?? a.position?.positionSource ?? 0,
        };
        changed = true;
      } else {
        this.stats.stalePositions++;
      }
    }
    for (const name of FIELDS) {
      const value = u[name];
      if (value === undefined) continue;
      const held = a.fields.get(name);
      if (held && held.atMs > u.atMs) {
        this.stats.staleFields++;
        continue;
      }
      if (!held || held.value !== value) changed = true;
      a.fields.set(name, { value, atMs: u.atMs });
    }
    const contact = Math.max(u.atMs, u.position?.atMs ?? 0);
    if (contact > a.lastContactMs) a.lastContactMs = contact;
    if (changed) a.dirty = true;
    return changed;
  }

  /**
   * Flight objects of the aircraft that changed since the last call and have
   * a valid position; forgets aircraft silent for too long.
   */
  flush(nowMs: number): Flight[] {
    const out: Flight[] = [];
    for (const [icao, a] of this.#aircraft) {
      if (nowMs - a.lastContactMs > FORGET_AFTER_MS) {
        this.#aircraft.delete(icao);
        continue;
      }
      if (!a.dirty) continue;
      a.dirty = false;
      const flight = this.#flight(a, nowMs);
      if (flight) out.push(flight);
    }
    return out;
  }

  /** The current flight object of one aircraft, or null without a valid position. */
  get(icao24: string, nowMs: number): Flight | null {
    const a = this.#aircraft.get(icao24);
    return a ? this.#flight(a, nowMs) : null;
  }

  #flight(a: Aircraft, nowMs: number): Flight | null {
    const pos = a.position;
    if (!pos || nowMs - pos.atMs > POSITION_VALID_MS) return null;
    const get = <T>(name: FieldName, fallback: T): T => {
      const held = a.fields.get(name);
      if (!held) return fallback;
      const window = IDENTITY.has(name) ? IDENTITY_WINDOW_MS : KINEMATIC_WINDOW_MS;
      return nowMs - held.atMs > window ? fallback : held.value as T;
    };
    const emergency = get<EmergencyKind | null>("emergency", null);
    const flight: Flight = {
      icao24: a.icao24,
      callsign: get<string | null>("callsign", null),
      origin_country: get<string | null>("origin_country", null),
      position: { lat: pos.lat, lon: pos.lon },
      altitude_m: get<number | null>("altitude_m", null),
      geo_altitude_m: get<number | null>("geo_altitude_m", null),
      velocity_mps: get<number | null>("velocity_mps", null),
      heading_deg: get<number | null>("heading_deg", null),
      vertical_rate_mps: get<number | null>("vertical_rate_mps", null),
      on_ground: get<boolean>("on_ground", false),
      squawk: get<string | null>("squawk", null),
      spi: get<boolean>("spi", false),
      position_source: pos.positionSource,
      category: get<number>("category", 0),
      time_position_unix: pos.atMs / 1000,
      last_contact_unix: a.lastContactMs / 1000,
      source: pos.source,
    };
    if (emergency !== null) flight.emergency = emergency;
    return flight;
  }
}

/**
 * A whole flight object (an OpenSky poll's) as a merger update: every field current at its
 * last contact, the position at its time. So a live OpenSky poll and the receivers make one
 * flight per aircraft: OpenSky's older positions never replace a receiver's fresher one, and
 * what receivers lack (country of registration, category) is filled from OpenSky.
 */
export function flightToUpdate(flight: Flight): AircraftUpdate {
  const u: AircraftUpdate = {
    icao24: flight.icao24,
    source: flight.source ?? "opensky",
    atMs: flight.last_contact_unix * 1000,
    position: {
      lat: flight.position.lat,
      lon: flight.position.lon,
      atMs: flight.time_position_unix * 1000,
    },
    on_ground: flight.on_ground,
    spi: flight.spi,
    position_source: flight.position_source,
  };
  // A null (or category 0, "no information") says nothing: it must not blank what a receiver said.
  for (const name of NULLABLE) {
    const value = flight[name];
    if (value !== null) (u as unknown as Record<string, unknown>)[name] = value;
  }
  if (flight.category > 0) u.category = flight.category;
  if (flight.emergency !== undefined) u.emergency = flight.emergency;
  return u;
}

const NULLABLE = [
  "callsign",
  "origin_country",
  "altitude_m",
  "geo_altitude_m",
  "velocity_mps",
  "heading_deg",
  "vertical_rate_mps",
  "squawk",
] as const;
