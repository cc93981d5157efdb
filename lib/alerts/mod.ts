/**
 * Alerts, the pure core: rule evaluation with hysteresis, cooldowns and a
 * spatial index; geofence geometry. I/O (rules from PostgreSQL, events to
 * Kafka, webhooks) lives in services/.
 *
 * @module
 */
export * from "./evaluator.ts";
export * from "./geofence.ts";
export * from "./spatial_index.ts";
export * from "./signature.ts";
export * from "./ntfy.ts";
export * from "./targets.ts";
