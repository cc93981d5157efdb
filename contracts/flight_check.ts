/**
 * A hand-written check of the `flight_update` envelope for the worker's hot path: zod's
 * `safeParse` was a fifth of the worker's time per update (issue #11). The zod schema in
 * contracts/flight.ts stays the schema of record: this check only says "valid, here is the
 * value" or "not sure"; on "not sure" the caller runs zod, whose error is the one reported.
 * So a message this check rejects by mistake is still accepted (slower), and the one way to
 * go wrong, accepting what zod rejects, is what tests/contracts_flight_check_test.ts tries
 * to find (the real recordings, bad inputs and mutations of them).
 *
 * The patterns, enums and bounds are read from the zod schemas, so each rule has one copy.
 * Like zod, the value returned carries only the schema's keys (unknown keys are dropped).
 *
 * @module
 */
import type { z } from "zod";
import { ICAO24_PATTERN, IsoTime, Position } from "./common.ts";
import {
  EmergencyKind,
  Flight,
  FlightSourceKind,
  FlightUpdateEnvelope,
  Source,
  SQUAWK_PATTERN,
} from "./flight.ts";

type Bounds = { min: number; max: number };
/** `minValue`/`maxValue` of a zod number schema (nullable unwrapped); ±Infinity when unset. */
function bounds(schema: z.ZodType): Bounds {
  const inner = "unwrap" in schema && typeof schema.unwrap === "function"
    ? schema.unwrap() as z.ZodNumber
    : schema as z.ZodNumber;
  return { min: inner.minValue ?? -Infinity, max: inner.maxValue ?? Infinity };
}

/** zod's own ISO 8601 pattern of {@link IsoTime}. */
const ISO_PATTERN: RegExp = (IsoTime as unknown as { _zod: { pattern: RegExp } })._zod.pattern;
const LAT = bounds(Position.shape.lat);
const LON = bounds(Position.shape.lon);
const VELOCITY = bounds(Flight.shape.velocity_mps);
const HEADING = bounds(Flight.shape.heading_deg);
const POSITION_SOURCE = bounds(Flight.shape.position_source);
const CATEGORY = bounds(Flight.shape.category);
const POLL = bounds(Source.shape.poll_interval_s);
const maxLength = (schema: z.ZodType): number =>
  ((schema as z.ZodNullable<z.ZodString>).unwrap()).maxLength ?? Infinity;
const CALLSIGN_MAX = maxLength(Flight.shape.callsign);
const COUNTRY_MAX = maxLength(Flight.shape.origin_country);
const PROVIDER_MAX = Source.shape.provider.maxLength ?? Infinity;
const SOURCE_KINDS: ReadonlySet<unknown> = new Set(FlightSourceKind.options);
const EMERGENCIES: ReadonlySet<unknown> = new Set(EmergencyKind.options);
const MODES: ReadonlySet<unknown> = new Set(Source.shape.mode.options);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
// JSON numbers are finite; the check stays right for values that did not come from JSON.
const num = (v: unknown, b?: Bounds): v is number =>
  typeof v === "number" && Number.isFinite(v) && (!b || (v >= b.min && v <= b.max));
const int = (v: unknown, b: Bounds): v is number => Number.isSafeInteger(v) && num(v, b);
const numOrNull = (v: unknown, b?: Bounds) => v === null || num(v, b);
const strOrNull = (v: unknown, max: number) =>
  v === null || (typeof v === "string" && v.length <= max);

// The last accepted `produced_at` and source: every update of one poll shares them.
let lastProducedAt = "";

function checkSource(v: unknown): Obj | undefined {
  if (!isObject(v)) return undefined;
  const { provider, mode, bbox, poll_interval_s } = v;
  if (typeof provider !== "string" || provider.length > PROVIDER_MAX) return undefined;
  if (!MODES.has(mode) || !num(poll_interval_s, POLL)) return undefined;
  if (bbox !== null) {
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((n) => num(n))) return undefined;
  }
  return { provider, mode, bbox: bbox === null ? null : [...bbox], poll_interval_s };
}

/**
 * The flight object as zod's `Flight` would return it when `v` is a valid one, else
 * undefined (then ask zod). Pure.
 */
export function checkFlight(v: unknown): Flight | undefined {
  if (!isObject(v)) return undefined;
  const p = v.position;
  if (!isObject(p) || !num(p.lat, LAT) || !num(p.lon, LON)) return undefined;
  const { icao24, callsign, origin_country, squawk, source, emergency } = v;
  if (typeof icao24 !== "string" || !ICAO24_PATTERN.test(icao24)) return undefined;
  if (!strOrNull(callsign, CALLSIGN_MAX) || !strOrNull(origin_country, COUNTRY_MAX)) {
    return undefined;
  }
  if (
    !numOrNull(v.altitude_m) || !numOrNull(v.geo_altitude_m) ||
    !numOrNull(v.velocity_mps, VELOCITY) || !numOrNull(v.heading_deg, HEADING) ||
    !numOrNull(v.vertical_rate_mps) || typeof v.on_ground !== "boolean" ||
    typeof v.spi !== "boolean" || !int(v.position_source, POSITION_SOURCE) ||
    !int(v.category, CATEGORY) || !num(v.time_position_unix) || !num(v.last_contact_unix)
  ) return undefined;
  if (squawk !== null && (typeof squawk !== "string" || !SQUAWK_PATTERN.test(squawk))) {
    return undefined;
  }
  if (source !== undefined && !SOURCE_KINDS.has(source)) return undefined;
  if (emergency !== undefined && !EMERGENCIES.has(emergency)) return undefined;
  const flight: Flight = {
    icao24,
    callsign: callsign as string | null,
    origin_country: origin_country as string | null,
    position: { lat: p.lat, lon: p.lon },
    altitude_m: v.altitude_m as number | null,
    geo_altitude_m: v.geo_altitude_m as number | null,
    velocity_mps: v.velocity_mps as number | null,
    heading_deg: v.heading_deg as number | null,
    vertical_rate_mps: v.vertical_rate_mps as number | null,
    on_ground: v.on_ground,
    squawk: squawk as string | null,
    spi: v.spi,
    position_source: v.position_source as number,
    category: v.category as number,
    time_position_unix: v.time_position_unix,
    last_contact_unix: v.last_contact_unix,
  };
  // Absent stays absent, as in zod's output.
  if (source !== undefined) flight.source = source as Flight["source"];
  if (emergency !== undefined) flight.emergency = emergency as Flight["emergency"];
  return flight;
}

/**
 * The envelope as zod would return it when `json` is a valid `flight_update`, else
 * undefined (then ask zod: it decides, and says why). Pure.
 */
export function checkFlightUpdateEnvelope(json: unknown): FlightUpdateEnvelope | undefined {
  if (!isObject(json) || json.schema_version !== 1 || json.type !== "flight_update") {
    return undefined;
  }
  const producedAt = json.produced_at;
  if (typeof producedAt !== "string") return undefined;
  if (producedAt !== lastProducedAt) {
    if (!ISO_PATTERN.test(producedAt)) return undefined;
    lastProducedAt = producedAt;
  }
  const source = checkSource(json.source);
  if (!source) return undefined;
  const payload = checkFlight(json.payload);
  if (!payload) return undefined;
  return {
    schema_version: 1,
    type: "flight_update",
    produced_at: producedAt,
    source: source as FlightUpdateEnvelope["source"],
    payload,
  };
}
