/**
 * The client side of the `/ws` protocol as a state machine, without
 * sockets: feed it decoded server messages, it answers with what to apply
 * and what to send.
 *
 * - Deltas apply only on top of a snapshot, in order: `seq` must be the
 *   previous seq + 1. An older or repeated seq is stale and dropped; a jump
 *   is a gap: the client asks for `resync` and drops deltas until the
 *   snapshot comes (asking again if it does not come within
 *   `resyncTimeoutMs`).
 * - A snapshot replaces everything. While one is awaited (start, after a
 *   gap, after a `subscribe`) any snapshot is taken; otherwise one older
 *   than the current seq is stale and dropped (the server may also send a
 *   snapshot on its own, e.g. to a client that was too slow).
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { ClientMessage, HelloMessage, ServerMessage } from "../../contracts/ws.ts";

/** What the client should do after a message. */
export type ProtocolAction =
  | { kind: "hello"; hello: HelloMessage }
  | { kind: "snapshot"; seq: number; serverTimeMs: number; flights: Flight[] }
  | {
    kind: "delta";
    seq: number;
    serverTimeMs: number;
    upserts: Flight[];
    removes: string[];
  }
  | { kind: "anomaly"; event: AnomalyEvent }
  | { kind: "alert"; event: AlertEvent }
  | { kind: "pong"; serverTimeMs: number; id?: string | number }
  | { kind: "error"; code: string; message: string }
  | { kind: "send"; message: ClientMessage }
  | { kind: "dropped"; reason: "stale" | "before_snapshot" | "gap"; seq: number };

export interface ProtocolOptions {
  /** Ask for resync again when the snapshot has not come after this long, ms. Default 5,000. */
  resyncTimeoutMs?: number;
}

/** Counters for the status bar and tests. */
export interface ProtocolStats {
  snapshots: number;
  deltas: number;
  stale: number;
  gaps: number;
  resyncs: number;
}

export class ProtocolState {
  #seq: number | null = null;
  #awaiting = true;
  #resyncAt: number | null = null;
  readonly #timeoutMs: number;
  readonly stats: ProtocolStats = { snapshots: 0, deltas: 0, stale: 0, gaps: 0, resyncs: 0 };

  constructor(options: ProtocolOptions = {}) {
    this.#timeoutMs = options.resyncTimeoutMs ?? 5_000;
  }

  /** Seq of the state the client holds; null before the first snapshot. */
  get seq(): number | null {
    return this.#seq;
  }

  /** True while deltas are being dropped until a snapshot arrives. */
  get awaitingSnapshot(): boolean {
    return this.#awaiting;
  }

  /** Forgets everything (a new connection). */
  reset(): void {
    this.#seq = null;
    this.#awaiting = true;
    this.#resyncAt = null;
  }

  /** Call after sending `subscribe`: the server answers with a snapshot of the new filter. */
  subscribed(): void {
    this.#awaiting = true;
    this.#resyncAt = null;
  }

  /** Handles one server message; `nowMs` is the client clock. */
  receive(message: ServerMessage, nowMs: number): ProtocolAction[] {
    switch (message.type) {
      case "hello":
        return [{ kind: "hello", hello: message }];
      case "snapshot": {
        if (!this.#awaiting && this.#seq !== null && message.seq < this.#seq) {
          this.stats.stale++;
          return [{ kind: "dropped", reason: "stale", seq: message.seq }];
        }
        this.#seq = message.seq;
        this.#awaiting = false;
        this.#resyncAt = null;
        this.stats.snapshots++;
        return [{
          kind: "snapshot",
          seq: message.seq,
          serverTimeMs: message.server_time_ms,
          flights: message.flights,
        }];
      }
      case "delta":
        return this.#delta(message, nowMs);
      case "anomaly":
        return [{ kind: "anomaly", event: message.event }];
      case "alert":
        return [{ kind: "alert", event: message.event }];
      case "pong":
        return [{
          kind: "pong",
          serverTimeMs: message.server_time_ms,
          ...(message.id === undefined ? {} : { id: message.id }),
        }];
      case "error":
        return [{ kind: "error", code: message.code, message: message.message }];
    }
  }

  /** Re-asks for the snapshot when a resync went unanswered; call now and then. */
  poll(nowMs: number): ProtocolAction[] {
    if (this.#resyncAt !== null && nowMs - this.#resyncAt >= this.#timeoutMs) {
      return [this.#resync(nowMs)];
    }
    return [];
  }

  #delta(
    message: Extract<ServerMessage, { type: "delta" }>,
    nowMs: number,
  ): ProtocolAction[] {
    if (this.#seq === null || this.#awaiting) {
      return [
        { kind: "dropped", reason: "before_snapshot", seq: message.seq },
        ...this.poll(nowMs),
      ];
    }
    if (message.seq <= this.#seq) {
      this.stats.stale++;
      return [{ kind: "dropped", reason: "stale", seq: message.seq }];
    }
    if (message.seq !== this.#seq + 1) {
      this.stats.gaps++;
      this.#awaiting = true;
      return [{ kind: "dropped", reason: "gap", seq: message.seq }, this.#resync(nowMs)];
    }
    this.#seq = message.seq;
    this.stats.deltas++;
    return [{
      kind: "delta",
      seq: message.seq,
      serverTimeMs: message.server_time_ms,
      upserts: message.upserts,
      removes: message.removes,
    }];
  }

  #resync(nowMs: number): ProtocolAction {
    this.#resyncAt = nowMs;
    this.stats.resyncs++;
    return { kind: "send", message: { type: "resync" } };
  }
}
