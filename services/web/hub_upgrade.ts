/**
 * The hub's upgrade policy: which encoding a client gets, which origins may
 * open `/ws`, and the plain HTTP answers when the upgrade is refused.
 *
 * @module
 */
import { BINARY_SUBPROTOCOL, JSON_SUBPROTOCOL } from "../../contracts/ws.ts";
import { errorResponse } from "../../lib/framework/http_error.ts";
import type { Encoding } from "../../lib/hub/codec.ts";

/**
 * Picks the frame encoding from the offered subprotocols:
 * {@link BINARY_SUBPROTOCOL} first, then the first one containing `msgpack`,
 * otherwise JSON, echoing {@link JSON_SUBPROTOCOL} (or another `json` one)
 * when offered.
 */
export function negotiateEncoding(offered: readonly string[]): {
  encoding: Encoding;
  /** The subprotocol to answer with, or undefined for none. */
  protocol: string | undefined;
} {
  if (offered.includes(BINARY_SUBPROTOCOL)) {
    return { encoding: "bin", protocol: BINARY_SUBPROTOCOL };
  }
  const msgpack = offered.find((p) => p.toLowerCase().includes("msgpack"));
  if (msgpack) return { encoding: "msgpack", protocol: msgpack };
  const json = offered.find((p) => p === JSON_SUBPROTOCOL) ??
    offered.find((p) => p.toLowerCase().includes("json"));
  return { encoding: "json", protocol: json };
}

/** The subprotocols a request offers, in its order. */
export function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((s) => s.trim()).filter(Boolean);
}

/**
 * Origin policy: requests without Origin (tools, other hubs) pass;
 * otherwise the Origin must be in `allowed` (`*` allows any) or, when
 * `allowed` is empty, be the request's own host.
 */
export function originAllowed(request: Request, allowed: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (allowed.length > 0) return allowed.some((a) => a === "*" || sameOrigin(a, parsed));
  const host = request.headers.get("host") ?? new URL(request.url).host;
  return parsed.host.toLowerCase() === host.toLowerCase();
}

function sameOrigin(allowed: string, origin: URL): boolean {
  try {
    return new URL(allowed).origin === origin.origin;
  } catch {
    return false;
  }
}

/** A refused upgrade, in the API's error body (`{"error": {"code", "message"}}`). */
export function plain(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): Response {
  return errorResponse(status, text, { headers });
}

let vectoredChecked = false;

/**
 * Makes Deno write WebSocket frames with writev (`DENO_USE_WRITEV=1`) unless
 * the environment says otherwise; call before the first upgrade (Deno reads
 * it once). Without it Deno copies every frame into a per-socket write buffer
 * (fastwebsockets' `write_buffer`) that grows to the largest frame the socket
 * ever sent and never shrinks: at 20,000 aircraft x 2,000 clients that was
 * most of the server's memory (docs/load.md). With it, frames over 1 KiB go
 * out as header + payload with no copy kept. Returns true when it is on.
 */
export function useVectoredWrites(log?: { warn(message: string): void }): boolean {
  const name = "DENO_USE_WRITEV";
  const granted = Deno.permissions.querySync?.({ name: "env", variable: name }).state === "granted";
  if (!granted) {
    if (!vectoredChecked) {
      log?.warn(`hub: no --allow-env=${name}: Deno keeps a write buffer per WebSocket`);
    }
    vectoredChecked = true;
    return false;
  }
  vectoredChecked = true;
  const value = Deno.env.get(name);
  if (value === undefined) Deno.env.set(name, "1");
  return value === undefined || value !== "";
}
