/**
 * The flight object: one aircraft's latest state. It is the payload of the
 * `flight_state` / `flight_update` envelopes and the object that the
 * WebSocket and `GET /api/flights` send.
 *
 * @module
 */
import { z } from "zod";
import { Icao24, IsoTime, Position } from "./common.ts";

const finiteOrNull = z.number().finite().nullable();

/** The pattern of a flight's `squawk`, shared with the hand-written check (flight_check.ts). */
export const SQUAWK_PATTERN = /^[0-7]{4}$/;

/** Where a flight's position came from (the flight's `source`). */
export const FlightSourceKind = z.enum([
  "opensky",
  "replay",
  "sbs",
  "beast",
  "aircraft_json",
  "adsbx_v2",
]);
export type FlightSourceKind = z.infer<typeof FlightSourceKind>;

/** Emergency states a transponder can declare (DO-260B emergency/priority status). */
export const EmergencyKind = z.enum([
  "general",
  "lifeguard",
  "minfuel",
  "nordo",
  "unlawful",
  "downed",
]);
export type EmergencyKind = z.infer<typeof EmergencyKind>;

export const Flight = z.object({
  /** 24-bit ICAO address, 6 lower-case hex digits; the Kafka key. */
  icao24: Icao24,
  /** Callsign with padding trimmed, or null when not broadcast. At most 8 characters. */
  callsign: z.string().max(8).nullable(),
  /** Country of registration, or null when unknown. */
  origin_country: z.string().max(64).nullable(),
  /** Last known position, degrees. */
  position: Position,
  /** Barometric altitude, metres; null when not reported (often on the ground). */
  altitude_m: finiteOrNull,
  /** Geometric (GNSS) altitude, metres. */
  geo_altitude_m: finiteOrNull,
  /** Ground speed, m/s. */
  velocity_mps: z.number().finite().min(0).nullable(),
  /** True track over ground, degrees clockwise from north, 0..360. */
  heading_deg: z.number().min(0).max(360).nullable(),
  /** Vertical rate, m/s, positive when climbing. */
  vertical_rate_mps: finiteOrNull,
  /** True when the aircraft reports being on the ground. */
  on_ground: z.boolean(),
  /** Transponder code, 4 octal digits, or null. */
  squawk: z.string().regex(SQUAWK_PATTERN, "squawk must be 4 octal digits").nullable(),
  /** Special position indicator ("ident" pressed). */
  spi: z.boolean(),
  /** 0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM. */
  position_source: z.number().int().min(0).max(3),
  /** Emitter category 0-20 (0 unknown, 6 heavy, 8 rotorcraft, 14 UAV). */
  category: z.number().int().min(0).max(20),
  /** Unix seconds of the position. */
  time_position_unix: z.number().finite(),
  /** Unix seconds of the last message of any kind. */
  last_contact_unix: z.number().finite(),
  /**
   * Where the position came from: `opensky`, `replay`, `sbs` (BaseStation
   * CSV), `beast` (Mode S decoded here), `aircraft_json` (readsb /
   * dump1090-fa), `adsbx_v2` (ADS-B Exchange v2 API). Absent in older messages.
   */
  source: FlightSourceKind.optional(),
  /**
   * Emergency state the transponder declares (readsb's `emergency`): `general`,
   * `lifeguard`, `minfuel`, `nordo`, `unlawful`, `downed`. Absent when none.
   */
  emergency: EmergencyKind.optional(),
});
export type Flight = z.infer<typeof Flight>;

/** Where a message came from. */
export const Source = z.object({
  /** Data provider, e.g. `opensky`. */
  provider: z.string().max(64),
  /** `live`, `replay` or `record`. */
  mode: z.enum(["live", "replay", "record"]),
  /** The polled box, `[lamin, lomin, lamax, lomax]`, or null for the whole world. */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable(),
  /** Seconds between polls (replay: between snapshots of the recording). */
  poll_interval_s: z.number().nonnegative(),
});
export type Source = z.infer<typeof Source>;

const envelope = <T extends "flight_state" | "flight_update">(type: T) =>
  z.object({
    /** Envelope version; bump on a breaking change. */
    schema_version: z.literal(1),
    type: z.literal(type),
    /** When the producer published it, ISO 8601 UTC. */
    produced_at: IsoTime,
    source: Source,
    payload: Flight,
  });

/** On `flights.state` (compacted): the latest state of one aircraft. */
export const FlightStateEnvelope = envelope("flight_state");
export type FlightStateEnvelope = z.infer<typeof FlightStateEnvelope>;
/** On `flights.updates` (append): every observation, for the worker. */
export const FlightUpdateEnvelope = envelope("flight_update");
export type FlightUpdateEnvelope = z.infer<typeof FlightUpdateEnvelope>;
export const FlightEnvelope = z.discriminatedUnion("type", [
  FlightStateEnvelope,
  FlightUpdateEnvelope,
]);
export type FlightEnvelope = z.infer<typeof FlightEnvelope>;
