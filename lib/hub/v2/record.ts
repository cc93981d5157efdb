/**
 * Quantisation of flights for `skysentinel.v2.bin` (docs/protocol.md): one
 * aircraft's state as the small integers the frames carry, and back. Both
 * sides of a connection hold these integers: field deltas are exact
 * differences between them, so the client's state never drifts.
 *
 * @module
 */
import type { Flight } from "../../../contracts/flight.ts";

/** Degrees per position unit (1e-5°: about 1.1 m of latitude). */
export const POSITION_UNIT_DEG = 1e-5;
/** Metres per altitude unit: 25 ft, the resolution of Mode S / ADS-B barometric altitude. */
export const ALTITUDE_UNIT_M = 7.62;
/** Metres per second per speed unit. */
export const SPEED_UNIT_MPS = 0.1;
/** Degrees per track unit. */
export const TRACK_UNIT_DEG = 0.1;
/** Metres per second per vertical rate unit: 64 ft/min, the ADS-B resolution. */
export const VERTICAL_RATE_UNIT_MPS = 0.32512;
/** Seconds per time unit. */
export const TIME_UNIT_S = 0.1;

/** Position units in 360° of longitude; longitudes are kept in [-180°, 180°). */
export const LON_UNITS = 36_000_000;
/** Track units in a full turn. */
export const TRACK_UNITS = 3_600;

/** Flag bits of {@link QFlight.flags}. */
export const FLAG_ON_GROUND = 1;
export const FLAG_SPI = 2;

/** One aircraft in frame units. Nullable fields are null when the flight has none. */
export interface QFlight {
  /** icao24 as a 24-bit integer. */
  icao: number;
  /** Latitude, 1e-5°. */
  lat: number;
  /** Longitude, 1e-5°, in [-18,000,000, 18,000,000). */
  lon: number;
  /** Barometric altitude, 25 ft. */
  alt: number | null;
  /** Geometric altitude, 25 ft. */
  geo: number | null;
  /** Ground speed, 0.1 m/s. */
  vel: number | null;
  /** Track, 0.1°, in [0, 3600). */
  hdg: number | null;
  /** Vertical rate, 64 ft/min. */
  vr: number | null;
  /** time_position, unix tenths of a second. */
  tpos: number;
  /** last_contact, unix tenths of a second. */
  lc: number;
  callsign: string | null;
  country: string | null;
  /** Squawk as its octal value, 0..4095. */
  squawk: number | null;
  category: number;
  /** `source`, or null when the flight has none. */
  source: string | null;
  /** position_source 0..3. */
  psrc: number;
  /** {@link FLAG_ON_GROUND} | {@link FLAG_SPI}. */
  flags: number;
}

const nullable = (v: number | null, unit: number) => v === null ? null : Math.round(v / unit);

/** Normalises a longitude in position units to [-18e6, 18e6). */
export function wrapLon(q: number): number {
  if (q >= LON_UNITS / 2) return q - LON_UNITS;
  if (q < -LON_UNITS / 2) return q + LON_UNITS;
  return q;
}

/** icao24 (6 hex digits) as an integer. */
export function icaoToInt(icao24: string): number {
  return parseInt(icao24, 16);
}

/** An integer as icao24: 6 lower-case hex digits. */
export function intToIcao(icao: number): string {
  return icao.toString(16).padStart(6, "0");
}

/** A flight in frame units. */
export function quantise(f: Flight): QFlight {
  const hdg = f.heading_deg === null
    ? null
    : Math.round(f.heading_deg / TRACK_UNIT_DEG) % TRACK_UNITS;
  return {
    icao: icaoToInt(f.icao24),
    lat: Math.round(f.position.lat / POSITION_UNIT_DEG),
    lon: wrapLon(Math.round(f.position.lon / POSITION_UNIT_DEG)),
    alt: nullable(f.altitude_m, ALTITUDE_UNIT_M),
    geo: nullable(f.geo_altitude_m, ALTITUDE_UNIT_M),
    vel: nullable(f.velocity_mps, SPEED_UNIT_MPS),
    hdg,
    vr: nullable(f.vertical_rate_mps, VERTICAL_RATE_UNIT_MPS),
    tpos: Math.round(f.time_position_unix / TIME_UNIT_S),
    lc: Math.round(f.last_contact_unix / TIME_UNIT_S),
    callsign: f.callsign,
    country: f.origin_country,
    squawk: f.squawk === null ? null : parseInt(f.squawk, 8),
    category: f.category,
    source: f.source ?? null,
    psrc: f.position_source,
    flags: (f.on_ground ? FLAG_ON_GROUND : 0) | (f.spi ? FLAG_SPI : 0),
  };
}

/** Rounds to 2 decimals: the precision of the v1 encodings, so 37,000 ft reads 11277.6 m. */
const round2 = (v: number) => Math.round(v * 100) / 100;
/** Rounds to 1 decimal (values in tenths). */
const round1 = (v: number) => Math.round(v * 10) / 10;

/** A flight from frame units (the values a v2.bin client sees). */
export function dequantise(q: QFlight): Flight {
  const flight: Flight = {
    icao24: intToIcao(q.icao),
    callsign: q.callsign,
    origin_country: q.country,
    position: { lat: round5(q.lat * POSITION_UNIT_DEG), lon: round5(q.lon * POSITION_UNIT_DEG) },
    altitude_m: q.alt === null ? null : round2(q.alt * ALTITUDE_UNIT_M),
    geo_altitude_m: q.geo === null ? null : round2(q.geo * ALTITUDE_UNIT_M),
    velocity_mps: q.vel === null ? null : round1(q.vel * SPEED_UNIT_MPS),
    heading_deg: q.hdg === null ? null : round1(q.hdg * TRACK_UNIT_DEG),
    vertical_rate_mps: q.vr === null ? null : round2(q.vr * VERTICAL_RATE_UNIT_MPS),
    on_ground: (q.flags & FLAG_ON_GROUND) !== 0,
    squawk: q.squawk === null ? null : q.squawk.toString(8).padStart(4, "0"),
    spi: (q.flags & FLAG_SPI) !== 0,
    position_source: q.psrc,
    category: q.category,
    time_position_unix: round1(q.tpos * TIME_UNIT_S),
    last_contact_unix: round1(q.lc * TIME_UNIT_S),
  };
  // The wire carries any string; the contract names the known sources.
  if (q.source !== null) flight.source = q.source as Flight["source"];
  return flight;
}

const round5 = (v: number) => Math.round(v * 1e5) / 1e5;

/** A copy (the tracker keeps its own). */
export function copyQ(q: QFlight): QFlight {
  return { ...q };
}
