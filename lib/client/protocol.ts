/**
 * The client side of the `/ws` protocol as a state machine, without
 * sockets: feed it decoded server messages, it answers with what to apply
 * and what to send. The seq rule itself is lib/hub/seq.ts, shared with the
 * relay (lib/hub/view.ts).
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
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
  | { kind: "alert"; event: AlertEvent }
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
        const admitted = this.admit("snapshot", message.seq, nowMs);
        if (!admitted.apply) return admitted.actions;
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
    return this.#seq.resyncDue(nowMs) ? [RESYNC] : [];
  }

  /**
   * The seq rule for a snapshot or delta known only by its header (the
   * binary decoder asks before it reads the body): whether to apply it, and
   * what to do otherwise (dropped, and `resync` on a gap).
   */
  admit(
    kind: "snapshot" | "delta",
    seq: number,
    nowMs: number,
  ): { apply: boolean; actions: ProtocolAction[] } {
    const verdict = kind === "snapshot" ? this.#seq.snapshot(seq) : this.#seq.delta(seq, nowMs);
    switch (verdict) {
      case "apply":
        return { apply: true, actions: [] };
      case "before_snapshot":
        return {
          apply: false,
          actions: [{ kind: "dropped", reason: verdict, seq }, ...this.poll(nowMs)],
        };
      case "stale":
        return { apply: false, actions: [{ kind: "dropped", reason: verdict, seq }] };
      case "gap":
        return { apply: false, actions: [{ kind: "dropped", reason: verdict, seq }, RESYNC] };
    }
  }

  /** The state can no longer be trusted (a bad binary frame): wait for a snapshot, ask for it. */
  lost(nowMs: number): ProtocolAction[] {
    this.#seq.lost(nowMs);
    return [RESYNC];
  }

  #delta(
    message: Extract<ServerMessage, { type: "delta" }>,
    nowMs: number,
  ): ProtocolAction[] {
    const admitted = this.admit("delta", message.seq, nowMs);
    if (!admitted.apply) return admitted.actions;
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

const RESYNC: ProtocolAction = { kind: "send", message: { type: "resync" } };
