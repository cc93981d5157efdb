/**
 * Recent anomaly events for the hub: deduplicated by id (an event that comes
 * again unchanged is not broadcast twice; one that changed, say it ended,
 * is), kept for a time window so that new clients get them after their
 * snapshot. Pure: time comes in as arguments.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { encode as defaultEncode, EncodedMessage, type EncodeFn } from "./codec.ts";

export interface AnomalyLogOptions {
  /** How long an event is kept after it ended (or started, while open), ms. */
  windowMs: number;
  /** Most events kept; the oldest arrivals go first. Default 1,000. */
  maxEvents?: number;
  encode?: EncodeFn;
}

interface Entry {
  event: AnomalyEvent;
  message: EncodedMessage;
  /** End (or start) of the event, unix ms. */
  eventTimeMs: number;
  /** When the hub received it, unix ms. */
  receivedAtMs: number;
}

export class AnomalyLog {
  readonly #windowMs: number;
  readonly #max: number;
  readonly #encode: EncodeFn;
  /** Insertion order = arrival order (a changed event moves to the end). */
  readonly #entries = new Map<string, Entry>();

  constructor(options: AnomalyLogOptions) {
    this.#windowMs = options.windowMs;
    this.#max = options.maxEvents ?? 1_000;
    this.#encode = options.encode ?? defaultEncode;
  }

  /**
   * Records `event`. Returns the message to broadcast, or null when the
   * event is outside the window or already known unchanged.
   */
  add(event: AnomalyEvent, nowMs: number): EncodedMessage | null {
    const eventTimeMs = Date.parse(event.ended_at ?? event.started_at);
    if (eventTimeMs < nowMs - this.#windowMs) return null;
    const message = new EncodedMessage({ type: "anomaly", event }, this.#encode);
    const known = this.#entries.get(event.id);
    // The JSON frame doubles as the equality check and is sent anyway.
    if (known && known.message.frame("json") === message.frame("json")) return null;
    this.#entries.delete(event.id);
    this.#entries.set(event.id, { event, message, eventTimeMs, receivedAtMs: nowMs });
    this.#prune(nowMs);
    return message;
  }

  /**
   * Events in the window, oldest arrival first; with `sinceMs`, only those
   * received since; with `accept`, only those it accepts (a client's viewport).
   */
  recent(
    nowMs: number,
    sinceMs = -Infinity,
    accept?: (event: AnomalyEvent) => boolean,
  ): EncodedMessage[] {
    this.#prune(nowMs);
    const out: EncodedMessage[] = [];
    for (const e of this.#entries.values()) {
      if (e.receivedAtMs >= sinceMs && (!accept || accept(e.event))) out.push(e.message);
    }
    return out;
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(nowMs: number): void {
    const limit = nowMs - this.#windowMs;
    for (const [id, e] of this.#entries) {
      if (e.eventTimeMs < limit || this.#entries.size > this.#max) this.#entries.delete(id);
    }
  }
}
