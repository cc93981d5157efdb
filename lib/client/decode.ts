/**
 * Server frames to messages: JSON text or MessagePack bytes (the
 * `skysentinel.v1.msgpack` subprotocol). The server validated them against
 * the contracts already; here only the shape the client relies on is
 * checked, cheaply (a snapshot of 10,000 aircraft must decode in a few
 * milliseconds): flights without a usable position are dropped, anything
 * else malformed makes the frame null. No DOM, usable in a Worker.
 *
 * @module
 */
import { decode as msgpackDecode } from "@msgpack/msgpack";
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { HelloMessage, ServerMessage } from "../../contracts/ws.ts";

/** Result of decoding one frame. */
export type Decoded =
  | { ok: true; message: ServerMessage; bytes: number }
  | { ok: false; reason: string; bytes: number };

/** Decodes one WebSocket frame's data (string: JSON; bytes: MessagePack). */
export function decodeServerFrame(data: string | ArrayBuffer | Uint8Array): Decoded {
  const bytes = typeof data === "string" ? data.length : data.byteLength;
  let raw: unknown;
  try {
    raw = typeof data === "string" ? JSON.parse(data) : msgpackDecode(data);
  } catch (error) {
    return { ok: false, reason: `undecodable frame: ${(error as Error).message}`, bytes };
  }
  const message = toServerMessage(raw);
  return message === null
    ? { ok: false, reason: "not a server message", bytes }
    : { ok: true, message, bytes };
}

/** Checks the shape of a decoded value; null when it is not a usable server message. */
export function toServerMessage(raw: unknown): ServerMessage | null {
  if (!isObject(raw) || typeof raw.type !== "string") return null;
  switch (raw.type) {
    case "hello":
      return typeof raw.protocol === "number" && typeof raw.server_time_ms === "number"
        ? raw as unknown as HelloMessage
        : null;
    case "snapshot":
      if (!isSeq(raw.seq) || !Array.isArray(raw.flights)) return null;
      return {
        type: "snapshot",
        seq: raw.seq,
        server_time_ms: num(raw.server_time_ms),
        flights: raw.flights.filter(isFlight),
        ...total(raw.total),
      };
    case "delta":
      if (!isSeq(raw.seq) || !Array.isArray(raw.upserts) || !Array.isArray(raw.removes)) {
        return null;
      }
      return {
        type: "delta",
        seq: raw.seq,
        server_time_ms: num(raw.server_time_ms),
        upserts: raw.upserts.filter(isFlight),
        removes: raw.removes.filter((r): r is string => typeof r === "string"),
        ...total(raw.total),
      };
    case "anomaly":
      return isAnomaly(raw.event) ? { type: "anomaly", event: raw.event } : null;
    case "alert":
      return isAlert(raw.event) ? { type: "alert", event: raw.event } : null;
    case "pong":
      return { type: "pong", server_time_ms: num(raw.server_time_ms), id: pongId(raw.id) };
    case "error":
      return typeof raw.code === "string" ? raw as unknown as ServerMessage : null;
    default:
      return null;
  }
}

/** True when `f` has what the globe needs: an icao24 and a finite position. */
export function isFlight(f: unknown): f is Flight {
  if (!isObject(f) || typeof f.icao24 !== "string" || !isObject(f.position)) return false;
  const { lat, lon } = f.position;
  return typeof lat === "number" && typeof lon === "number" && Number.isFinite(lat) &&
    Number.isFinite(lon) && typeof f.time_position_unix === "number";
}

/** True when `e` looks like an anomaly event the feed can show. */
export function isAnomaly(e: unknown): e is AnomalyEvent {
  return isObject(e) && typeof e.id === "string" && typeof e.kind === "string" &&
    typeof e.icao24 === "string" && typeof e.started_at === "string" && isObject(e.position);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : Date.now();
}

/** The optional world count as a spreadable field. */
function total(v: unknown): { total?: number } {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? { total: v } : {};
}

function pongId(v: unknown): string | number | undefined {
  return typeof v === "string" || typeof v === "number" ? v : undefined;
}

/** True when `e` has what a toast needs: ids, the aircraft and a finite position. */
export function isAlert(e: unknown): e is AlertEvent {
  if (!isObject(e) || typeof e.id !== "string" || typeof e.rule_name !== "string") return false;
  if (typeof e.icao24 !== "string" || !isObject(e.position)) return false;
  const { lat, lon } = e.position;
  return typeof lat === "number" && typeof lon === "number" && Number.isFinite(lat) &&
    Number.isFinite(lon) && typeof e.at === "string";
}
