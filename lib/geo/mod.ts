/**
 * Geodesy for the pure core: distances, bearings, local frames, units.
 *
 * @module
 */
export * from "./units.ts";
export * from "./angles.ts";
export * from "./sphere.ts";
export * from "./enu.ts";
export * from "./tangent.ts";
