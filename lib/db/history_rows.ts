/**
 * The columns of `flights_history` and `flights_history_sampled`
 * (migrations/0002_history_tiers.sql) and the two ways a flight goes in and
 * comes back: a line of COPY text for the writer, and the flight object
 * rebuilt from a row for the readers (time travel, the worker's warm-up).
 *
 * The rows hold every field of the flight object in a column of its own
 * (no jsonb copy), so the object read back equals the one written: floats
 * are float8, times are timestamptz (microseconds) read back as epoch
 * seconds in float8.
 *
 * Pure: no I/O.
 *
 * @module
 */
import { type Flight, FlightSourceKind } from "../../contracts/flight.ts";

/** Kalman-smoothed values of one position; SI units, degrees. */
export interface SmoothedValues {
  lat: number;
  lon: number;
  altitude_m: number | null;
  /** Ground speed, m/s. */
  velocity_mps: number | null;
  /** Track over ground, degrees. */
  heading_deg: number | null;
  /** m/s, positive up. */
  vertical_rate_mps: number | null;
}

/** Columns shared by both tiers, in COPY order. */
export const HISTORY_COLUMNS = [
  "icao24",
  "ts",
  "callsign",
  "session_id",
  "on_ground",
  "squawk",
  "raw_lat",
  "raw_lon",
  "raw_altitude_m",
  "raw_velocity_mps",
  "raw_heading_deg",
  "raw_vertical_rate_mps",
  "lat",
  "lon",
  "altitude_m",
  "velocity_mps",
  "heading_deg",
  "vertical_rate_mps",
  "geo_altitude_m",
  "last_contact",
  "position_source",
  "category",
  "spi",
  "origin_country",
  "source",
] as const;

/** `HISTORY_COLUMNS` joined, for SQL text. */
export const HISTORY_COLUMN_LIST: string = HISTORY_COLUMNS.join(", ");

/**
 * The select list that {@link flightFromRow} reads, for a table aliased
 * `alias`: times as epoch seconds (float8), everything else as stored.
 */
export function flightSelectList(alias: string): string {
  const a = alias ? `${alias}.` : "";
  return [
    `${a}icao24`,
    `extract(epoch FROM ${a}ts)::float8 AS ts_unix`,
    `${a}callsign`,
    `${a}on_ground`,
    `${a}squawk`,
    `${a}raw_lat`,
    `${a}raw_lon`,
    `${a}raw_altitude_m`,
    `${a}raw_velocity_mps`,
    `${a}raw_heading_deg`,
    `${a}raw_vertical_rate_mps`,
    `${a}geo_altitude_m`,
    `extract(epoch FROM ${a}last_contact)::float8 AS last_contact_unix`,
    `${a}position_source`,
    `${a}category`,
    `${a}spi`,
    `${a}origin_country`,
    `${a}source`,
  ].join(", ");
}

/** A row selected with {@link flightSelectList}. */
export interface FlightRow {
  icao24: string;
  ts_unix: number;
  callsign: string | null;
  on_ground: boolean;
  squawk: string | null;
  raw_lat: number;
  raw_lon: number;
  raw_altitude_m: number | null;
  raw_velocity_mps: number | null;
  raw_heading_deg: number | null;
  raw_vertical_rate_mps: number | null;
  geo_altitude_m: number | null;
  last_contact_unix: number;
  position_source: number;
  category: number;
  spi: boolean;
  origin_country: string | null;
  source: string | null;
}

/** The flight object as received, from its history row. */
export function flightFromRow(r: FlightRow): Flight {
  const flight: Flight & { source?: string } = {
    icao24: r.icao24,
    callsign: r.callsign,
    origin_country: r.origin_country,
    position: { lat: r.raw_lat, lon: r.raw_lon },
    altitude_m: r.raw_altitude_m,
    geo_altitude_m: r.geo_altitude_m,
    velocity_mps: r.raw_velocity_mps,
    heading_deg: r.raw_heading_deg,
    vertical_rate_mps: r.raw_vertical_rate_mps,
    on_ground: r.on_ground,
    squawk: r.squawk,
    spi: r.spi,
    position_source: r.position_source,
    category: r.category,
    time_position_unix: r.ts_unix,
    last_contact_unix: r.last_contact_unix,
  };
  // Only the contract's source names go back out; an unknown stored value is left off.
  const source = FlightSourceKind.safeParse(r.source);
  if (source.success) flight.source = source.data;
  return flight;
}

/** Where a flight came from, for the `source` column and the freshness metric. */
export function flightSource(f: Flight): string | null {
  const source = (f as Flight & { source?: unknown }).source;
  return typeof source === "string" ? source : null;
}

/** ISO 8601 with microseconds of a unix time in seconds (COPY text for timestamptz). */
export function unixToTimestamp(unix: number): string {
  const ms = Math.floor(unix * 1000);
  const iso = new Date(ms).toISOString();
  // Sub-millisecond digits, which Date drops; 0 for the usual whole seconds.
  const micros = Math.round((unix * 1000 - ms) * 1000);
  if (micros <= 0 || micros >= 1000) return iso;
  return `${iso.slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}

/** COPY text for one value: `\N` for null, backslash, tab and newlines escaped. */
function text(value: string | null): string {
  if (value === null) return "\\N";
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r");
}

function num(value: number | null): string {
  // String(number) round-trips a float8 exactly (shortest representation).
  return value === null ? "\\N" : String(value);
}

/**
 * One line of COPY text (tab separated, newline ended) in {@link HISTORY_COLUMNS}
 * order. Without smoothed values (a late update the filter did not take) the
 * raw values fill the smoothed columns, which are NOT NULL.
 */
export function copyLine(
  f: Flight,
  smoothed: SmoothedValues | null,
  sessionId: string | null,
): string {
  return [
    text(f.icao24),
    unixToTimestamp(f.time_position_unix),
    text(f.callsign),
    text(sessionId),
    f.on_ground ? "t" : "f",
    text(f.squawk),
    num(f.position.lat),
    num(f.position.lon),
    num(f.altitude_m),
    num(f.velocity_mps),
    num(f.heading_deg),
    num(f.vertical_rate_mps),
    num(smoothed?.lat ?? f.position.lat),
    num(smoothed?.lon ?? f.position.lon),
    num(smoothed ? smoothed.altitude_m : f.altitude_m),
    num(smoothed ? smoothed.velocity_mps : f.velocity_mps),
    num(smoothed ? smoothed.heading_deg : f.heading_deg),
    num(smoothed ? smoothed.vertical_rate_mps : f.vertical_rate_mps),
    num(f.geo_altitude_m),
    unixToTimestamp(f.last_contact_unix),
    String(f.position_source),
    String(f.category),
    f.spi ? "t" : "f",
    text(f.origin_country),
    text(flightSource(f)),
  ].join("\t") + "\n";
}
