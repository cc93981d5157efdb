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
import type { BinaryCopyBuffer } from "./copy_binary.ts";

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

/**
 * `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` of a unix time in seconds (COPY text for
 * timestamptz), with microseconds when the time has a fraction. Computed
 * with integer arithmetic (days to civil date, H. Hinnant's algorithm):
 * `Date#toISOString` costs several times more, and the writer formats two
 * times per row.
 */
export function unixToTimestamp(unix: number): string {
  const totalMicros = Math.round(unix * 1e6);
  const micros = ((totalMicros % 1e6) + 1e6) % 1e6;
  const secs = (totalMicros - micros) / 1e6;
  const sod = ((secs % 86400) + 86400) % 86400;
  const days = (secs - sod) / 86400;
  // civil_from_days
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  const text = `${y}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}`;
  return micros === 0 ? `${text}Z` : `${text}.${String(micros).padStart(6, "0")}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
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

/**
 * One row in binary COPY format (lib/db/copy_binary.ts), in
 * {@link HISTORY_COLUMNS} order with the columns' exact types; the same
 * values as {@link copyLine}.
 */
export function encodeHistoryRow(
  out: BinaryCopyBuffer,
  f: Flight,
  smoothed: SmoothedValues | null,
  sessionId: string | null,
): void {
  out.row(HISTORY_COLUMNS.length);
  out.text(f.icao24);
  out.timestamptz(f.time_position_unix);
  out.text(f.callsign);
  out.text(sessionId);
  out.bool(f.on_ground);
  out.text(f.squawk);
  out.float8(f.position.lat);
  out.float8(f.position.lon);
  out.float8(f.altitude_m);
  out.float8(f.velocity_mps);
  out.float8(f.heading_deg);
  out.float8(f.vertical_rate_mps);
  // Without a filter state the smoothed columns repeat the raw values (as copyLine does);
  // per-field choices rather than a fallback object keep this hot path allocation-free.
  const s = smoothed;
  out.float8(s ? s.lat : f.position.lat);
  out.float8(s ? s.lon : f.position.lon);
  out.float8(s ? s.altitude_m : f.altitude_m);
  out.float8(s ? s.velocity_mps : f.velocity_mps);
  out.float8(s ? s.heading_deg : f.heading_deg);
  out.float8(s ? s.vertical_rate_mps : f.vertical_rate_mps);
  out.float8(f.geo_altitude_m);
  out.timestamptz(f.last_contact_unix);
  out.int2(f.position_source);
  out.int2(f.category);
  out.bool(f.spi);
  out.text(f.origin_country);
  out.text(flightSource(f));
}
