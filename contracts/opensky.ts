/**
 * The OpenSky `GET /api/states/all` reply, exactly as the REST API sends it.
 *
 * A state vector is a positional tuple of 17 fields, or 18 with `extended=1`
 * (the last one being the aircraft category). Longitude (index 5) comes
 * before latitude (index 6), as in the real API.
 *
 * @module
 */
import { z } from "zod";
import { EmergencyKind } from "./flight.ts";

const nullableNumber = z.number().finite().nullable();

/** Index of each field in a state vector tuple. */
export const STATE_INDEX = Object.freeze({
  icao24: 0,
  callsign: 1,
  origin_country: 2,
  time_position: 3,
  last_contact: 4,
  longitude: 5,
  latitude: 6,
  baro_altitude: 7,
  on_ground: 8,
  velocity: 9,
  true_track: 10,
  vertical_rate: 11,
  sensors: 12,
  geo_altitude: 13,
  squawk: 14,
  spi: 15,
  position_source: 16,
  category: 17,
});

const baseTuple = [
  /** 0 icao24: 24-bit ICAO address, hex. */
  z.string(),
  /** 1 callsign: 8 characters, space padded, or null. */
  z.string().nullable(),
  /** 2 origin_country, derived by OpenSky from the address block. */
  z.string().nullable(),
  /** 3 time_position: unix s of the last position, null if none in the last 15 s. */
  nullableNumber,
  /** 4 last_contact: unix s of the last message of any kind. */
  z.number().finite(),
  /** 5 longitude, WGS-84 degrees. */
  nullableNumber,
  /** 6 latitude, WGS-84 degrees. */
  nullableNumber,
  /** 7 baro_altitude, metres. */
  nullableNumber,
  /** 8 on_ground. */
  z.boolean(),
  /** 9 velocity over ground, m/s. */
  nullableNumber,
  /** 10 true_track, degrees clockwise from north. */
  nullableNumber,
  /** 11 vertical_rate, m/s, positive when climbing. */
  nullableNumber,
  /** 12 sensors: receiver ids, or null. */
  z.array(z.number()).nullable(),
  /** 13 geo_altitude, metres. */
  nullableNumber,
  /** 14 squawk: transponder code, 4 octal digits as a string. */
  z.string().nullable(),
  /** 15 spi: special position indicator. */
  z.boolean(),
  /** 16 position_source: 0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM. */
  z.number().int(),
] as const;

/** A state vector without `extended=1` (17 fields). */
export const StateVector17 = z.tuple([...baseTuple]);
/** A state vector with `extended=1` (18 fields; the last is the category 0-20). */
export const StateVector18 = z.tuple([...baseTuple, z.number().int().nullable()]);
/** Either shape of state vector; a row of another length says so (not zod's "Invalid input"). */
export const StateVector = z.union([StateVector18, StateVector17], {
  error: (issue) =>
    Array.isArray(issue.input) && issue.input.length !== 17 && issue.input.length !== 18
      ? `expected a state vector of 17 or 18 fields, got ${issue.input.length}`
      : undefined,
});
export type StateVector = z.infer<typeof StateVector>;

/**
 * The reply envelope. Rows are kept as `unknown` here so that one bad row
 * does not reject the whole reply: each row is validated on its own with
 * {@link StateVector} and bad ones go to the dead-letter topic.
 */
export const OpenSkyReply = z.object({
  /** Unix seconds of the snapshot. */
  time: z.number().int().nonnegative(),
  /** Rows, or null when nothing is in the box. */
  states: z.array(z.unknown()).nullable(),
  /**
   * Not an OpenSky field: record mode's one addition, so that a recording of receivers keeps
   * what a state vector has no column for. The declared emergency state (readsb's
   * `emergency`) of the rows' aircraft, by lower-case icao24; absent when none declares one.
   */
  emergency: z.record(z.string(), EmergencyKind).optional(),
});
export type OpenSkyReply = z.infer<typeof OpenSkyReply>;
