/**
 * Turns one OpenSky state vector row into a {@link Flight}, or says why it
 * cannot. Pure: no I/O. Used by the producer (live and replay) and by
 * `deno task detect`.
 *
 * @module
 */
import { Flight, STATE_INDEX as I, StateVector17, StateVector18 } from "../../contracts/mod.ts";
import { formatZodError } from "../zod_error.ts";

export type RowResult =
  | { ok: true; flight: Flight }
  | { ok: false; reason: string };

/** Options for {@link stateVectorToFlight}. */
export interface RowOptions {
  /** Seconds added to time_position and last_contact (replay time shifting). Default 0. */
  shiftSeconds?: number;
}

/**
 * Validates one row (17 or 18 fields) and maps it to the flight object.
 * Rows without a position are rejected: the map and the detectors cannot use them.
 */
export function stateVectorToFlight(row: unknown, options: RowOptions = {}): RowResult {
  // Pick the tuple by length so that a bad field gets a path, not "Invalid input" from the union.
  const schema = Array.isArray(row) && row.length === 17 ? StateVector17 : StateVector18;
  const parsed = schema.safeParse(row);
  if (!parsed.success) {
    // Name tuple positions ("icao24", not "0") so the dead-letter reason is readable.
    const reason = formatZodError(parsed.error, {
      name: (segment, depth) =>
        (depth === 0 && typeof segment === "number" && FIELD_NAMES[segment]) || String(segment),
    });
    return { ok: false, reason: `state vector: ${reason}` };
  }
  const v = parsed.data;
  const lon = v[I.longitude];
  const lat = v[I.latitude];
  if (lat === null || lon === null) return { ok: false, reason: "state vector: no position" };
  const shift = options.shiftSeconds ?? 0;
  const lastContact = v[I.last_contact] + shift;
  const timePosition = (v[I.time_position] ?? v[I.last_contact]) + shift;
  const callsign = v[I.callsign]?.trim() || null;
  const squawk = v[I.squawk]?.trim() || null;
  const track = v[I.true_track];
  const candidate = {
    icao24: v[I.icao24].trim().toLowerCase(),
    callsign,
    origin_country: v[I.origin_country] || null,
    position: { lat, lon },
    altitude_m: v[I.baro_altitude],
    geo_altitude_m: v[I.geo_altitude],
    velocity_mps: v[I.velocity],
    heading_deg: track === null ? null : normaliseHeading(track),
    vertical_rate_mps: v[I.vertical_rate],
    on_ground: v[I.on_ground],
    squawk,
    spi: v[I.spi],
    position_source: v[I.position_source],
    category: (v.length === 18 ? v[17] : null) ?? 0,
    time_position_unix: timePosition,
    last_contact_unix: lastContact,
  };
  const flight = Flight.safeParse(candidate);
  if (!flight.success) return { ok: false, reason: formatZodError(flight.error) };
  return { ok: true, flight: flight.data };
}

const FIELD_NAMES: readonly string[] = Object.keys(I);

function normaliseHeading(deg: number): number {
  const h = deg % 360;
  return h < 0 ? h + 360 : h;
}

/**
 * The inverse of {@link stateVectorToFlight}: a flight as an OpenSky state vector (extended, 18
 * fields, times in whole seconds), the format record mode writes and the derived replay publishes.
 */
export function flightToStateVector(f: Flight): unknown[] {
  return [
    f.icao24,
    f.callsign === null ? null : f.callsign.padEnd(8, " "),
    f.origin_country ?? "",
    Math.floor(f.time_position_unix),
    Math.floor(f.last_contact_unix),
    f.position.lon,
    f.position.lat,
    f.altitude_m,
    f.on_ground,
    f.velocity_mps,
    f.heading_deg,
    f.vertical_rate_mps,
    null, // sensors: not kept
    f.geo_altitude_m,
    f.squawk,
    f.spi,
    f.position_source,
    f.category,
  ];
}
