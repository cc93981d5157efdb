/**
 * One WebSocket client of the hub: its socket and encoding, its slow-client
 * state and its rate limiter. Sending goes through here so that every frame
 * is counted in the metrics.
 *
 * @module
 */
import type { ServerMessage } from "../../contracts/ws.ts";
import { EncodedMessage, type Encoding } from "../../lib/hub/codec.ts";
import type { HubMetrics } from "../../lib/hub/metrics.ts";

/** Client messages allowed in a burst, and per second sustained. */
export const RATE_BURST = 20;
export const RATE_PER_SECOND = 10;

export class ClientSession {
  readonly socket: WebSocket;
  readonly encoding: Encoding;
  open = false;
  /** Missed deltas while slow: gets a snapshot when drained. */
  needsSnapshot = false;
  /** When it went over the buffer limit (monotonic ms, for the grace period), or null. */
  slowSince: number | null = null;
  /** The same moment on the hub's clock (unix ms): anomalies received since are re-sent. */
  missedSinceMs: number | null = null;
  /**
   * Opened, but its first snapshot is held back for a moment in case its first `subscribe`
   * comes (see Hub): ticks skip it meanwhile.
   */
  awaitingView = false;
  /** The timer that sends the held-back first snapshot. */
  firstSnapshotTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bad frames and rate-limit hits so far. */
  abuse = 0;
  #tokens = RATE_BURST;
  #tokensAt = performance.now();
  readonly #metrics: HubMetrics;

  constructor(socket: WebSocket, encoding: Encoding, metrics: HubMetrics) {
    this.socket = socket;
    this.encoding = encoding;
    this.#metrics = metrics;
  }

  /** Takes one token for an incoming message; false when over the rate limit. */
  takeToken(): boolean {
    const mono = performance.now();
    this.#tokens = Math.min(
      RATE_BURST,
      this.#tokens + (mono - this.#tokensAt) * RATE_PER_SECOND / 1000,
    );
    this.#tokensAt = mono;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when more than `limit` bytes wait in the socket's buffer. */
  overBuffer(limit: number): boolean {
    return this.socket.bufferedAmount > limit;
  }

  /**
   * Sends one message in this client's encoding (dropped quietly when the socket is not open).
   * Every client shares the same frame object, but Deno copies it per socket, and keeps a write
   * buffer per socket as large as the largest frame it has sent, for the socket's lifetime
   * (fastwebsockets' `write_buffer`, grown and never shrunk: docs/load.md). So a client's
   * largest frame, usually its snapshot, costs that much native memory for as long as it stays.
   */
  send(message: EncodedMessage): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    try {
      this.socket.send(message.frame(this.encoding));
    } catch {
      return; // closing under us: its close event drops it
    }
    this.#metrics.sent(message.message.type, this.encoding, message.bytes(this.encoding));
  }

  /** Closes the socket (errors when already closed are ignored). */
  close(code: number, reason: string): void {
    this.open = false;
    try {
      this.socket.close(code, reason);
    } catch { /* already closed */ }
  }
}

/** For sockets that are not (or no longer) clients: shutdown and capacity notices. */
export function sendRaw(
  socket: WebSocket,
  encoding: Encoding,
  message: ServerMessage,
  metrics: HubMetrics,
): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  const encoded = new EncodedMessage(message);
  try {
    socket.send(encoded.frame(encoding));
    metrics.sent(message.type, encoding, encoded.bytes(encoding));
  } catch { /* closing anyway */ }
}

/** Resolves when `socket` closes or after `ms`. */
export function closed(socket: WebSocket, ms: number): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      socket.removeEventListener("close", done);
      resolve();
    }
    socket.addEventListener("close", done);
  });
}
