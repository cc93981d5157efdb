/**
 * Every wire type of SkySentinel, as zod schemas. The JSON Schema files in
 * `contracts/schemas/` are generated from these by `deno task contracts`.
 *
 * @module
 */
export * from "./common.ts";
export * from "./opensky.ts";
export * from "./flight.ts";
export * from "./anomaly.ts";
export * from "./alerts.ts";
export * from "./deadletter.ts";
export * from "./topics.ts";
export * from "./ws.ts";
export * from "./api.ts";
