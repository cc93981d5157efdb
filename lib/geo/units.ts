/**
 * Unit constants for aviation data. Multiply a value in the named unit by
 * the constant to get SI (metres, metres per second); divide to go back.
 *
 * @module
 */

/** One international foot in metres. */
export const FT = 0.3048;
/** One nautical mile in metres. */
export const NM = 1852;
/** One knot in metres per second. */
export const KT = NM / 3600;
/** One foot per minute in metres per second. */
export const FPM = FT / 60;
/** Degrees to radians. */
export const DEG = Math.PI / 180;
/** Mean Earth radius (IUGG), metres: the sphere all of `lib/geo` works on. */
export const EARTH_RADIUS_M = 6_371_008.8;
