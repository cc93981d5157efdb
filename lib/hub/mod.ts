/**
 * The WebSocket hub's pure core: flight cache, filters, tiles, segments and
 * buckets, tick, snapshots, anomaly log and frame codecs (v2.bin in
 * `./v2/`). No sockets, no bus, no Deno I/O.
 *
 * @module
 */
export * from "./cache.ts";
export * from "./filter.ts";
export * from "./tiles.ts";
export * from "./segments.ts";
export * from "./buckets.ts";
export * from "./anomalies.ts";
export * from "./codec.ts";
export * from "./core.ts";
export * from "./metrics.ts";
export * from "./view.ts";
