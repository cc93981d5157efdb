/**
 * Small schemas shared by several contracts.
 *
 * @module
 */
import { z } from "zod";

/** The pattern of {@link Icao24}, shared with the hand-written check (contracts/flight_check.ts). */
export const ICAO24_PATTERN = /^[0-9a-f]{6}$/;
/** 24-bit ICAO address as six lower-case hex digits. */
export const Icao24 = z.string().regex(ICAO24_PATTERN, "icao24 must be 6 lower-case hex digits");

/** An ISO 8601 UTC timestamp such as `2018-08-01T11:30:00.000Z`. */
export const IsoTime = z.iso.datetime({ offset: false });

/** WGS-84 position in degrees. */
export const Position = z.object({
  /** Latitude, degrees north, -90..90. */
  lat: z.number().min(-90).max(90),
  /** Longitude, degrees east, -180..180. */
  lon: z.number().min(-180).max(180),
});
export type Position = z.infer<typeof Position>;

/**
 * A bounding box in degrees: `[lamin, lomin, lamax, lomax]`, the order
 * OpenSky's query parameters use.
 */
export const BBox = z.tuple([
  z.number().min(-90).max(90),
  z.number().min(-180).max(180),
  z.number().min(-90).max(90),
  z.number().min(-180).max(180),
]).refine(([lamin, , lamax]) => lamin <= lamax, "bbox lamin must not exceed lamax");
export type BBox = z.infer<typeof BBox>;
