/**
 * The WebSocket protocol at `/ws`. Every message is an object with a `type`.
 * Encodings: JSON text frames, MessagePack binary frames when the client
 * asks for a subprotocol containing `msgpack` ({@link MSGPACK_SUBPROTOCOL}),
 * or compact binary frames with {@link BINARY_SUBPROTOCOL} (docs/protocol.md).
 *
 * Seq: one counter per server, shared by all filters. Every tick
 * (`delta_interval_ms`) sends every client a `delta` with the next seq, empty
 * when nothing changed for its filter (so it doubles as a heartbeat). A
 * `snapshot` carries the seq of the tick whose state it is; the next delta
 * has seq + 1. The server may send a snapshot at any time (after `subscribe`
 * or `resync`, and instead of the deltas a slow client missed): clients
 * replace their state with it and continue from its seq.
 *
 * @module
 */
import { z } from "zod";
import { BBox } from "./common.ts";
import { Flight } from "./flight.ts";
import { AlertEvent } from "./alerts.ts";
import { AnomalyEvent } from "./anomaly.ts";

/** Protocol version sent in `hello` on the v1 encodings (JSON, MessagePack). */
export const PROTOCOL_VERSION = 1;
/** Sec-WebSocket-Protocol value that selects MessagePack. */
export const MSGPACK_SUBPROTOCOL = "skysentinel.v1.msgpack";
/** Sec-WebSocket-Protocol value that selects the compact binary encoding (docs/protocol.md, lib/hub/v2/). */
export const BINARY_SUBPROTOCOL = "skysentinel.v2.bin";
/** `hello.protocol` on a connection that negotiated {@link BINARY_SUBPROTOCOL}. */
export const BINARY_PROTOCOL_VERSION = 2;
/** Sec-WebSocket-Protocol value that selects JSON (also the default without a subprotocol). */
export const JSON_SUBPROTOCOL = "skysentinel.v1.json";
/** Largest client frame the server accepts, bytes. */
export const MAX_CLIENT_FRAME_BYTES = 4096;

/** Server-side filter. Every field is optional; absent means no constraint. */
export const Subscription = z.strictObject({
  /** `[lamin, lomin, lamax, lomax]`, degrees. */
  bbox: BBox.optional(),
  /** Lowest barometric altitude, metres (aircraft without altitude pass only when on ground is allowed). */
  min_altitude_m: z.number().finite().optional(),
  /** Highest barometric altitude, metres. */
  max_altitude_m: z.number().finite().optional(),
  /** true: only on-ground; false: only airborne; absent: both. */
  on_ground: z.boolean().optional(),
  /** Case-insensitive callsign prefix, at most 8 characters. */
  callsign_prefix: z.string().max(8).regex(/^[A-Za-z0-9]*$/, "callsign_prefix: letters and digits")
    .optional(),
});
export type Subscription = z.infer<typeof Subscription>;

// --- server to client -------------------------------------------------------

export const HelloMessage = z.object({
  type: z.literal("hello"),
  /** {@link PROTOCOL_VERSION}. */
  protocol: z.number().int(),
  /** Server clock, unix milliseconds. */
  server_time_ms: z.number(),
  /** `json`, `msgpack` or `bin` (skysentinel.v2.bin). */
  encoding: z.enum(["json", "msgpack", "bin"]),
  /** Milliseconds between deltas. */
  delta_interval_ms: z.number().int().positive(),
  /** Seconds without contact after which an aircraft is removed. */
  stale_threshold_s: z.number().positive(),
  /** Where the hub's data comes from: `kafka`, `memory` or `relay`. */
  source: z.string(),
});
export const SnapshotMessage = z.object({
  type: z.literal("snapshot"),
  /** Sequence number of this state; the next delta carries seq + 1. */
  seq: z.number().int().nonnegative(),
  /** Server clock, unix milliseconds. */
  server_time_ms: z.number(),
  /** Every aircraft matching the subscription. */
  flights: z.array(Flight),
  /** Aircraft the hub tracks in the whole world, whatever the subscription (count). */
  total: z.number().int().nonnegative().optional(),
});
export const DeltaMessage = z.object({
  type: z.literal("delta"),
  /** Strictly increasing by one per tick; a gap means the client should `resync`. */
  seq: z.number().int().positive(),
  /** Server clock, unix milliseconds. */
  server_time_ms: z.number(),
  /** New or changed aircraft. */
  upserts: z.array(Flight),
  /** icao24 of aircraft gone stale or out of the subscription. */
  removes: z.array(z.string()),
  /** Aircraft the hub tracks in the whole world, whatever the subscription (count). */
  total: z.number().int().nonnegative().optional(),
});
export const AnomalyMessage = z.object({
  type: z.literal("anomaly"),
  event: AnomalyEvent,
});
/** An alert fired (issue #13); sent to every client, not kept for clients that join later. */
export const AlertMessage = z.object({
  type: z.literal("alert"),
  event: AlertEvent,
});
export const PongMessage = z.object({
  type: z.literal("pong"),
  /** Echo of the ping's `id`, if any. */
  id: z.union([z.string().max(64), z.number()]).optional(),
  server_time_ms: z.number(),
});
export const ErrorCode = z.enum([
  "bad_frame",
  "bad_message",
  "frame_too_large",
  "rate_limited",
  "slow_consumer",
  "server_shutdown",
  "too_many_clients",
]);
export const ErrorMessage = z.object({
  type: z.literal("error"),
  code: ErrorCode,
  message: z.string(),
});
export const ServerMessage = z.discriminatedUnion("type", [
  HelloMessage,
  SnapshotMessage,
  DeltaMessage,
  AnomalyMessage,
  AlertMessage,
  PongMessage,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type HelloMessage = z.infer<typeof HelloMessage>;
export type SnapshotMessage = z.infer<typeof SnapshotMessage>;
export type DeltaMessage = z.infer<typeof DeltaMessage>;

// --- client to server -------------------------------------------------------

export const SubscribeMessage = z.strictObject({
  type: z.literal("subscribe"),
  filter: Subscription,
});
export const ResyncMessage = z.strictObject({ type: z.literal("resync") });
export const PingMessage = z.strictObject({
  type: z.literal("ping"),
  id: z.union([z.string().max(64), z.number()]).optional(),
});
export const ClientMessage = z.discriminatedUnion("type", [
  SubscribeMessage,
  ResyncMessage,
  PingMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
