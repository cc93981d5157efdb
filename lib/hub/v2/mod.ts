/**
 * `skysentinel.v2.bin`, the compact binary WebSocket encoding
 * (docs/protocol.md): byte primitives, quantisation, frames, the server's
 * per-segment tracker and a stateful decoder. Pure and platform-free, for
 * the server and the browser's Web Worker alike.
 *
 * @module
 */
export * from "./wire.ts";
export * from "./record.ts";
export * from "./frame.ts";
export * from "./scan.ts";
export * from "./tracker.ts";
export * from "./decoder.ts";
export * from "./predict.ts";
export * from "./bits.ts";
