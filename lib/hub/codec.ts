/**
 * WebSocket frame codec: server messages to JSON text, MessagePack bytes or
 * `skysentinel.v2.bin` frames (lib/hub/v2/), client frames back to
 * validated {@link ClientMessage}s. Pure: no sockets.
 *
 * Clients send text frames as JSON and binary frames as MessagePack, whatever
 * encoding they negotiated for the server's frames.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { ClientMessage, MAX_CLIENT_FRAME_BYTES, type ServerMessage } from "../../contracts/ws.ts";
import { formatZodError } from "../zod_error.ts";
import { FastMsgpack } from "./msgpack_fast.ts";
import { encodeGeneric } from "./v2/frame.ts";

/** Encoding of the server's frames, chosen at the handshake (`bin`: skysentinel.v2.bin). */
export type Encoding = "json" | "msgpack" | "bin";
/** Every encoding, for per-encoding loops and metric labels. */
export const ENCODINGS: readonly Encoding[] = ["json", "msgpack", "bin"];
/** A ready-to-send frame: text for JSON, bytes for MessagePack and v2.bin. */
export type Frame = string | Uint8Array<ArrayBuffer>;
/** Turns one server message into a frame (injectable so tests can count calls). */
export type EncodeFn = (message: ServerMessage, encoding: Encoding) => Frame;

const msgpackEncoder = new Encoder();
const msgpackDecoder = new Decoder({ maxStrLength: MAX_CLIENT_FRAME_BYTES, maxArrayLength: 64 });

/**
 * Encodes a server message as a JSON string or MessagePack bytes (a fresh
 * copy). For `bin`, messages other than snapshot and delta become generic
 * frames; snapshots and deltas need their segments (see {@link EncodedMessage}).
 */
export const encode: EncodeFn = (message, encoding) => {
  if (encoding === "json") return JSON.stringify(message);
  if (encoding === "msgpack") return msgpackEncoder.encode(message);
  if (message.type === "snapshot" || message.type === "delta") {
    throw new TypeError(`a ${message.type} in skysentinel.v2.bin is built from its segments`);
  }
  return encodeGeneric(message);
};

/** Size of a frame on the wire, bytes (UTF-8 for text). */
export function frameBytes(frame: Frame): number {
  return typeof frame === "string" ? utf8Length(frame) : frame.byteLength;
}

/**
 * Builders that make a message's frame from parts encoded elsewhere (the
 * segments of a tick) instead of encoding the whole message.
 */
export interface FrameBuilders {
  json?: () => string;
  msgpack?: () => Uint8Array<ArrayBuffer>;
  binary?: () => Uint8Array<ArrayBuffer>;
}

/** Parts of a delta whose upserts were encoded per segment: one fragment per segment. */
export interface DeltaParts {
  seq: number;
  serverTimeMs: number;
  /** Each segment's upserts as JSON objects joined by commas (empty string for none). */
  json: () => string[];
  /** Each segment's upserts as concatenated MessagePack maps, with their count. */
  msgpack: () => { count: number; bytes: Uint8Array }[];
  removes: string[];
  /** Aircraft in the whole world (for "in view / in total"); omitted when undefined. */
  total?: number;
}

/**
 * A delta's JSON text from per-segment fragments: the same text as
 * `JSON.stringify` of the message (same key order), without encoding a
 * flight more than once per tick.
 */
export function composeJsonDelta(p: DeltaParts): string {
  const upserts = p.json().filter((s) => s.length > 0).join(",");
  return `{"type":"delta","seq":${p.seq},"server_time_ms":${
    JSON.stringify(p.serverTimeMs)
  },"upserts":[${upserts}],"removes":${JSON.stringify(p.removes)}${
    p.total === undefined ? "" : `,"total":${p.total}`
  }}`;
}

/** A delta's MessagePack bytes from per-segment element bytes (a map of the same keys). */
export function composeMsgpackDelta(p: DeltaParts): Uint8Array<ArrayBuffer> {
  const parts = p.msgpack();
  let count = 0;
  for (const x of parts) count += x.count;
  const pieces: Uint8Array[] = [
    Uint8Array.of(p.total === undefined ? 0x85 : 0x86),
    msgpackEncoder.encode("type"),
    msgpackEncoder.encode("delta"),
    msgpackEncoder.encode("seq"),
    msgpackEncoder.encode(p.seq),
    msgpackEncoder.encode("server_time_ms"),
    msgpackEncoder.encode(p.serverTimeMs),
    msgpackEncoder.encode("upserts"),
    count < 16
      ? Uint8Array.of(0x90 | count)
      : count < 0x10000
      ? Uint8Array.of(0xdc, count >> 8, count & 0xff)
      : Uint8Array.of(0xdd, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff),
    ...parts.map((x) => x.bytes),
    msgpackEncoder.encode("removes"),
    msgpackEncoder.encode(p.removes),
    ...(p.total === undefined
      ? []
      : [msgpackEncoder.encode("total"), msgpackEncoder.encode(p.total)]),
  ];
  return concatBytes(pieces);
}

const fastMsgpack = new FastMsgpack();

/**
 * Flights as concatenated MessagePack maps (array elements without the array
 * header): the library's bytes, written by the hub's faster writer (every
 * tick encodes each tile's upserts for the MessagePack clients).
 */
export function msgpackElements(flights: readonly unknown[]): Uint8Array<ArrayBuffer> {
  return fastMsgpack.elements(flights);
}

/** The byte arrays one after the other, in one new array. */
function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const x of parts) size += x.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/**
 * One server message and its frames, encoded lazily and at most once per
 * encoding: the tick builds one per bucket and every client of the bucket
 * gets the same string or byte array. Snapshots and deltas carry a `binary`
 * builder that composes their v2.bin frame from the segments' bytes.
 */
export class EncodedMessage {
  readonly message: ServerMessage;
  readonly #encode: EncodeFn;
  readonly #builders: FrameBuilders;
  #json: string | undefined;
  #msgpack: Uint8Array<ArrayBuffer> | undefined;
  #bin: Uint8Array<ArrayBuffer> | undefined;
  #bytes: Record<Encoding, number> = { json: -1, msgpack: -1, bin: -1 };

  constructor(
    message: ServerMessage,
    encodeFn: EncodeFn = encode,
    options: FrameBuilders = {},
  ) {
    this.message = message;
    this.#encode = encodeFn;
    this.#builders = options;
  }

  /** The frame for `encoding`, encoding it on first use. */
  frame(encoding: Encoding): Frame {
    const b = this.#builders;
    if (encoding === "json") {
      this.#json ??= b.json ? b.json() : this.#encode(this.message, "json") as string;
      return this.#json;
    }
    if (encoding === "bin") {
      this.#bin ??= b.binary
        ? b.binary()
        : this.#encode(this.message, "bin") as Uint8Array<ArrayBuffer>;
      return this.#bin;
    }
    this.#msgpack ??= b.msgpack
      ? b.msgpack()
      : this.#encode(this.message, "msgpack") as Uint8Array<ArrayBuffer>;
    return this.#msgpack;
  }

  /** Wire size of the frame for `encoding`, bytes (computed once). */
  bytes(encoding: Encoding): number {
    if (this.#bytes[encoding] < 0) this.#bytes[encoding] = frameBytes(this.frame(encoding));
    return this.#bytes[encoding];
  }
}

/** Outcome of {@link decodeClientFrame}. */
export type DecodeResult =
  | { ok: true; message: ClientMessage }
  | {
    ok: false;
    /** `bad_frame` (not JSON / MessagePack / an object), `bad_message` (schema), `frame_too_large`. */
    code: "bad_frame" | "bad_message" | "frame_too_large";
    /** Readable reason, safe to send back to the client. */
    message: string;
  };

/**
 * Decodes and validates one client frame: a string is JSON, bytes are
 * MessagePack. Frames over {@link MAX_CLIENT_FRAME_BYTES} are refused before
 * parsing.
 */
export function decodeClientFrame(data: string | ArrayBuffer | Uint8Array): DecodeResult {
  const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
  if (size > MAX_CLIENT_FRAME_BYTES) {
    return {
      ok: false,
      code: "frame_too_large",
      message: `frame of ${size} bytes exceeds the limit of ${MAX_CLIENT_FRAME_BYTES} bytes`,
    };
  }
  let value: unknown;
  try {
    value = typeof data === "string" ? JSON.parse(data) : msgpackDecoder.decode(data);
  } catch (error) {
    const what = typeof data === "string" ? "JSON" : "MessagePack";
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, code: "bad_frame", message: `not valid ${what}: ${reason}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "bad_frame", message: "a message must be an object with a type" };
  }
  const parsed = ClientMessage.safeParse(value);
  if (!parsed.success) {
    return { ok: false, code: "bad_message", message: formatZodError(parsed.error, { max: 3 }) };
  }
  return { ok: true, message: parsed.data };
}

const NON_ASCII = /[\u0080-\uffff]+/g;

/**
 * UTF-8 byte length without allocating: the string's length plus what its
 * non-ASCII runs add. Frames are nearly all ASCII, and the regular
 * expression skips the ASCII natively (a loop over every character of every
 * JSON frame was a tenth of the load server's CPU).
 */
export function utf8Length(s: string): number {
  let bytes = s.length;
  NON_ASCII.lastIndex = 0;
  for (let m = NON_ASCII.exec(s); m !== null; m = NON_ASCII.exec(s)) {
    bytes += utf8LengthSlow(m[0]) - m[0].length;
  }
  return bytes;
}

/** UTF-8 byte length, character by character (lone surrogates count 3, as TextEncoder writes U+FFFD). */
function utf8LengthSlow(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
