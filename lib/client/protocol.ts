/**
 * The client side of the `/ws` protocol as a state machine, without
 * sockets: feed it decoded server messages, it answers with what to apply
 * and what to send. The seq rule itself is lib/hub/seq.ts, shared with the
 * relay (lib/hub/view.ts).
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { ClientMessage, HelloMessage, ServerMessage } from "../../contracts/ws.ts";
import { type SeqOptions, SeqState, type SeqStats } from "../hub/seq.ts";

/** What the client should do after a message. */
export type ProtocolAction =
  | { kind: "hello"; hello: HelloMessage }
  | { kind: "snapshot"; seq: number; serverTimeMs: number; flights: Flight[]; total?: number }
  | {
    kind: "delta";
    seq: number;
    serverTimeMs: number;
    upserts: Flight[];
    removes: string[];
    total?: number;
  }
  | { kind: "anomaly"; event: AnomalyEvent }
  | { kind: "pong"; serverTimeMs: number; id?: string | number }
  | { kind: "error"; code: string; message: string }
  | { kind: "send"; message: ClientMessage }
  | { kind: "dropped"; reason: "stale" | "before_snapshot" | "gap"; seq: number };

export type ProtocolOptions = SeqOptions;

/** Counters for the status bar and tests. */
export type ProtocolStats = SeqStats;

export class ProtocolState {
  readonly #seq: SeqState;

  constructor(options: ProtocolOptions = {}) {
    this.#seq = new SeqState(options);
  }

  get stats(): ProtocolStats {
    return this.#seq.stats;
  }

  /** Seq of the state the client holds; null before the first snapshot. */
  get seq(): number | null {
    return this.#seq.seq;
  }

  /** True while deltas are being dropped until a snapshot arrives. */
  get awaitingSnapshot(): boolean {
    return this.#seq.awaitingSnapshot;
  }

  /** Forgets everything (a new connection). */
  reset(): void {
    this.#seq.reset();
  }

  /** Call after sending `subscribe`: the server answers with a snapshot of the new filter. */
  subscribed(): void {
    this.#seq.subscribed();
  }

  /** Handles one server message; `nowMs` is the client clock. */
  receive(message: ServerMessage, nowMs: number): ProtocolAction[] {
    switch (message.type) {
      case "hello":
        return [{ kind: "hello", hello: message }];
      case "snapshot": {
        if (this.#seq.snapshot(message.seq) === "stale") {
          return [{ kind: "dropped", reason: "stale", seq: message.seq }];
        }
        return [{
          kind: "snapshot",
          seq: message.seq,
          serverTimeMs: message.server_time_ms,
          flights: message.flights,
          ...(message.total === undefined ? {} : { total: message.total }),
        }];
      }
      case "delta":
        return this.#delta(message, nowMs);
      case "anomaly":
        return [{ kind: "anomaly", event: message.event }];
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
    return this.#seq.resyncDue(nowMs) ? [RESYNC] : [];
  }

  #delta(
    message: Extract<ServerMessage, { type: "delta" }>,
    nowMs: number,
  ): ProtocolAction[] {
    const verdict = this.#seq.delta(message.seq, nowMs);
    switch (verdict) {
      case "before_snapshot":
        return [{ kind: "dropped", reason: verdict, seq: message.seq }, ...this.poll(nowMs)];
      case "stale":
        return [{ kind: "dropped", reason: verdict, seq: message.seq }];
      case "gap":
        return [{ kind: "dropped", reason: verdict, seq: message.seq }, RESYNC];
      case "apply":
        return [{
          kind: "delta",
          seq: message.seq,
          serverTimeMs: message.server_time_ms,
          upserts: message.upserts,
          removes: message.removes,
          ...(message.total === undefined ? {} : { total: message.total }),
        }];
    }
  }
}

const RESYNC: ProtocolAction = { kind: "send", message: { type: "resync" } };
