/**
 * ADS-B emitter categories (`A0`..`D7`, DO-260B 2.2.3.2.5.2) to the 0-20
 * numbers of OpenSky's `category` field, which the flight contract uses:
 * 0 no information, 1 no ADS-B category information, 2 light, 3 small,
 * 4 large, 5 high vortex large, 6 heavy, 7 high performance, 8 rotorcraft,
 * 9 glider, 10 lighter than air, 11 parachutist, 12 ultralight,
 * 13 reserved, 14 UAV, 15 space vehicle, 16 surface emergency vehicle,
 * 17 surface service vehicle, 18 point obstacle, 19 cluster obstacle,
 * 20 line obstacle.
 *
 * @module
 */

const BY_SET: Record<string, readonly number[]> = {
  // index = the category number within the set (0..7)
  A: [1, 2, 3, 4, 5, 6, 7, 8],
  B: [1, 9, 10, 11, 12, 13, 14, 15],
  C: [1, 16, 17, 18, 19, 20, 0, 0],
  D: [1, 0, 0, 0, 0, 0, 0, 0],
};

/** `A3` to 4; unknown or malformed to 0. */
export function emitterCategoryToNumber(code: string | null | undefined): number {
  if (!code || code.length !== 2) return 0;
  const set = BY_SET[code[0]!.toUpperCase()];
  const n = Number(code[1]);
  if (!set || !Number.isInteger(n) || n < 0 || n > 7) return 0;
  return set[n]!;
}
