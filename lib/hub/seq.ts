/**
 * The seq rule of `/ws`, for every client of it: the browser
 * (lib/client/protocol.ts), the relay and test tools (lib/hub/view.ts).
 * One copy, so that what the server promises in docs/protocol.md is
 * checked the same way everywhere.
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
 * Pure: the caller passes its clock.
 *
 * @module
 */

/** What to do with one snapshot or delta. */
export type SeqVerdict =
  /** Apply it. */
  | "apply"
  /** Older than (or equal to) what the client holds: drop it. */
  | "stale"
  /** A delta while no snapshot is held: drop it (a snapshot is on its way). */
  | "before_snapshot"
  /** A delta that skips seqs: drop it and send `resync`. */
  | "gap";

/** Counters for status bars and tests. */
export interface SeqStats {
  snapshots: number;
  deltas: number;
  stale: number;
  gaps: number;
  resyncs: number;
}

export interface SeqOptions {
  /** Ask for resync again when the snapshot has not come after this long, ms. Default 5,000. */
  resyncTimeoutMs?: number;
}

export class SeqState {
  #seq: number | null = null;
  #awaiting = true;
  #resyncAt: number | null = null;
  readonly #timeoutMs: number;
  readonly stats: SeqStats = { snapshots: 0, deltas: 0, stale: 0, gaps: 0, resyncs: 0 };

  constructor(options: SeqOptions = {}) {
    this.#timeoutMs = options.resyncTimeoutMs ?? 5_000;
  }

  /** Seq of the last snapshot or delta applied; null before the first snapshot. */
  get seq(): number | null {
    return this.#seq;
  }

  /** True while deltas are dropped until a snapshot arrives. */
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

  /** Verdict on a snapshot with `seq` (`apply` or `stale`); records it when applied. */
  snapshot(seq: number): SeqVerdict {
    if (!this.#awaiting && this.#seq !== null && seq < this.#seq) {
      this.stats.stale++;
      return "stale";
    }
    this.#seq = seq;
    this.#awaiting = false;
    this.#resyncAt = null;
    this.stats.snapshots++;
    return "apply";
  }

  /** Verdict on a delta with `seq`; on `gap` the caller sends `resync` (counted here). */
  delta(seq: number, nowMs: number): SeqVerdict {
    if (this.#seq === null || this.#awaiting) return "before_snapshot";
    if (seq <= this.#seq) {
      this.stats.stale++;
      return "stale";
    }
    if (seq !== this.#seq + 1) {
      this.stats.gaps++;
      this.#awaiting = true;
      this.#askedResync(nowMs);
      return "gap";
    }
    this.#seq = seq;
    this.stats.deltas++;
    return "apply";
  }

  /** The held state is not to be trusted (a bad frame): wait for a snapshot; the caller sends `resync`. */
  lost(nowMs: number): void {
    this.#awaiting = true;
    this.#askedResync(nowMs);
  }

  /**
   * True when a resync went unanswered for `resyncTimeoutMs`: send it again
   * (counted as sent). Call now and then, and on every dropped delta.
   */
  resyncDue(nowMs: number): boolean {
    if (this.#resyncAt === null || nowMs - this.#resyncAt < this.#timeoutMs) return false;
    this.#askedResync(nowMs);
    return true;
  }

  #askedResync(nowMs: number): void {
    this.#resyncAt = nowMs;
    this.stats.resyncs++;
  }
}
