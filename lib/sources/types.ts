/**
 * What every receiver and aggregator parser produces: partial updates of
 * one aircraft, in SI units, each stamped with the time it was true. The
 * merger (merge.ts) turns them into flight objects.
 *
 * @module
 */

import { EmergencyKind, FlightSourceKind } from "../../contracts/flight.ts";

/** Where a flight's position came from: the `source` field of flight objects. */
export const SOURCE_KINDS: readonly SourceKind[] = FlightSourceKind.options;
export type SourceKind = FlightSourceKind;

/** readsb / ADS-B emergency states (DO-260B emergency/priority status), `none` excluded. */
export const EMERGENCY_KINDS: readonly EmergencyKind[] = EmergencyKind.options;
export type { EmergencyKind };

/**
 * One observation of one aircraft. A field that is absent says nothing (the
 * merger keeps what another message or source said); a field set to null
 * says "not available".
 */
export interface AircraftUpdate {
  /** 6 lower-case hex digits. */
  icao24: string;
  source: SourceKind;
  /** Unix ms when the non-position fields were current. */
  atMs: number;
  /** Position, degrees, with the unix ms it was current. */
  position?: { lat: number; lon: number; atMs: number };
  callsign?: string | null;
  /** Country of registration (OpenSky's; receivers do not know it). */
  origin_country?: string | null;
  /** Barometric altitude, metres. */
  altitude_m?: number | null;
  /** Geometric altitude, metres. */
  geo_altitude_m?: number | null;
  /** Ground speed, m/s. */
  velocity_mps?: number | null;
  /** Track over ground, degrees 0..360. */
  heading_deg?: number | null;
  /** m/s, positive up. */
  vertical_rate_mps?: number | null;
  on_ground?: boolean;
  /** 4 octal digits. */
  squawk?: string | null;
  spi?: boolean;
  /** OpenSky-style category 0-20 (see category.ts). */
  category?: number;
  /** 0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM. */
  position_source?: number;
  /** Emergency state, null for none. */
  emergency?: EmergencyKind | null;
}
