/**
 * Reading only the head of a server frame: kind, seq and server_time_ms of
 * a snapshot or delta, in each encoding, from its first bytes. The
 * header-only load clients use it so that they cost the load process little
 * more than the kernel's copies (docs/protocol.md for v2.bin; JSON and
 * MessagePack put `type`, `seq`, `server_time_ms` first).
 *
 * @module
 */
import { FRAME_DELTA, FRAME_SNAPSHOT } from "../../lib/hub/v2/frame.ts";

/** Encodings the harness asks for, by the subprotocol it offers. */
export type LoadEncoding = "bin" | "json" | "msgpack";

export const SUBPROTOCOLS: Record<LoadEncoding, string> = {
  bin: "skysentinel.v2.bin",
  json: "skysentinel.v1.json",
  msgpack: "skysentinel.v1.msgpack",
};

/** The encoding a server's answered subprotocol means (none: JSON). */
export function encodingOf(protocol: string | null | undefined): LoadEncoding {
  if (!protocol) return "json";
  if (protocol.includes("v2.bin")) return "bin";
  if (protocol.includes("msgpack")) return "msgpack";
  return "json";
}

export interface FrameHead {
  kind: "snapshot" | "delta";
  seq: number;
  serverTimeMs: number;
}

const latin1 = new TextDecoder("latin1");
const JSON_HEAD = /^\{"type":"(delta|snapshot)","seq":(\d+),"server_time_ms":(\d+(?:\.\d+)?)/;
const SEQ = [0xa3, 0x73, 0x65, 0x71]; // fixstr "seq"
const TIME = [0xae, ...new TextEncoder().encode("server_time_ms")];
const TYPE_DELTA = [0xa5, ...new TextEncoder().encode("delta")];
const TYPE_SNAPSHOT = [0xa8, ...new TextEncoder().encode("snapshot")];

/** The head of a snapshot or delta frame, or null for other messages (and unreadable heads). */
export function readHead(head: Uint8Array, encoding: LoadEncoding): FrameHead | null {
  if (encoding === "json") {
    const m = JSON_HEAD.exec(latin1.decode(head));
    return m
      ? { kind: m[1] as FrameHead["kind"], seq: Number(m[2]), serverTimeMs: Number(m[3]) }
      : null;
  }
  if (encoding === "bin") {
    // Snapshot and delta kinds carry the layout revision in their high nibble (docs/protocol.md).
    const kind = head[0];
    if (kind !== FRAME_SNAPSHOT && kind !== FRAME_DELTA) return null;
    let at = 1;
    const uvarint = () => {
      let value = 0;
      let scale = 1;
      for (let k = 0; k < 8 && at < head.length; k++) {
        const b = head[at++]!;
        value += (b & 0x7f) * scale;
        if (b < 0x80) return value;
        scale *= 128;
      }
      return NaN;
    };
    const seq = uvarint();
    const serverTimeMs = uvarint();
    if (!Number.isFinite(seq) || !Number.isFinite(serverTimeMs)) return null;
    return { kind: kind === FRAME_SNAPSHOT ? "snapshot" : "delta", seq, serverTimeMs };
  }
  const kind = find(head, TYPE_DELTA) >= 0
    ? "delta"
    : find(head, TYPE_SNAPSHOT) >= 0
    ? "snapshot"
    : null;
  if (!kind) return null;
  const seqAt = find(head, SEQ);
  const timeAt = find(head, TIME);
  if (seqAt < 0 || timeAt < 0) return null;
  const seq = msgpackNumber(head, seqAt + SEQ.length);
  const serverTimeMs = msgpackNumber(head, timeAt + TIME.length);
  if (seq === null || serverTimeMs === null) return null;
  return { kind, seq, serverTimeMs };
}

function find(bytes: Uint8Array, pattern: number[]): number {
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

function msgpackNumber(bytes: Uint8Array, at: number): number | null {
  if (at >= bytes.length) return null;
  const tag = bytes[at]!;
  const v = new DataView(bytes.buffer, bytes.byteOffset + at + 1);
  const room = bytes.length - at - 1;
  if (tag < 0x80) return tag;
  if (tag === 0xcc && room >= 1) return v.getUint8(0);
  if (tag === 0xcd && room >= 2) return v.getUint16(0);
  if (tag === 0xce && room >= 4) return v.getUint32(0);
  if (tag === 0xcf && room >= 8) return Number(v.getBigUint64(0));
  if (tag === 0xcb && room >= 8) return v.getFloat64(0);
  return null;
}
