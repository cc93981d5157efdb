/**
 * The WebSocket hub's pure core: flight cache, filters and buckets, tick,
 * snapshots, anomaly log and frame codec. No sockets, no bus, no Deno I/O.
 *
 * @module
 */
export * from "./cache.ts";
export * from "./filter.ts";
export * from "./buckets.ts";
export * from "./anomalies.ts";
export * from "./codec.ts";
export * from "./core.ts";
export * from "./metrics.ts";
export * from "./view.ts";
