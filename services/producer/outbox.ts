/**
 * What the producer could not publish yet: a bounded in-memory queue of bus
 * sends, flushed in order as soon as the broker takes them again. A broker
 * restart used to lose every poll or replay step published while it was away
 * (issue #14); now they wait here and go out in the order they were made, so
 * per-aircraft order holds (one send at a time, oldest first).
 *
 * When the queue holds `maxMessages`, live mode drops the oldest sends
 * (fresh positions matter more than old ones; counted in
 * `producer_dropped_messages_total{reason="hold_full"}`) and replay waits
 * for room (a recording can pause; nothing is lost).
 *
 * @module
 */
import type { Bus, TopicMessages } from "../../lib/bus/types.ts";
import type { Logger } from "../../lib/log.ts";
import type { ProducerMetrics } from "./metrics.ts";

/** What to do with a new send when the queue is full. */
export type WhenFull = "drop_oldest" | "wait";

/** Options for {@link Outbox}. */
export interface OutboxOptions {
  metrics: ProducerMetrics;
  log: Logger;
  /** Most messages held. Default 200,000. */
  maxMessages?: number;
  /** Default `drop_oldest`. */
  whenFull?: WhenFull;
  /** Time between tries while the broker refuses, ms. Default 1,000. */
  retryMs?: number;
}

interface Entry {
  batch: TopicMessages[];
  messages: number;
}

/** kafkajs error types that no retry heals: such a send is dropped (and counted), not held. */
const REFUSED = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD"]);

function refused(error: unknown): boolean {
  for (let e = error as { type?: string; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (e.type !== undefined && REFUSED.has(e.type)) return true;
  }
  return false;
}

/** The queue; see the module doc. */
export class Outbox {
  #bus: Bus;
  #metrics: ProducerMetrics;
  #log: Logger;
  #maxMessages: number;
  #whenFull: WhenFull;
  #retryMs: number;
  #entries: Entry[] = [];
  #held = 0;
  #inFlight: Entry | null = null;
  #flushing?: Promise<void>;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #waiters: (() => void)[] = [];
  #failingSince = 0;
  #closed = false;

  constructor(bus: Bus, options: OutboxOptions) {
    this.#bus = bus;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#maxMessages = options.maxMessages ?? 200_000;
    this.#whenFull = options.whenFull ?? "drop_oldest";
    this.#retryMs = options.retryMs ?? 1_000;
    this.#metrics.held.set(0);
  }

  /** Messages waiting for the broker (including a send in flight). */
  get held(): number {
    return this.#held;
  }

  /** True from a failed send until the broker takes the held messages again. */
  get failing(): boolean {
    return this.#failingSince > 0;
  }

  /**
   * Queues `batch` behind what is held and tries to send. Resolves once it was sent or
   * held (replay: once there was room for it); never rejects on a bus error.
   */
  async push(batch: TopicMessages[]): Promise<void> {
    const messages = batch.reduce((n, t) => n + t.messages.length, 0);
    if (messages === 0) return;
    if (this.#closed) {
      this.#metrics.dropped.inc({ reason: "shutdown" }, messages);
      return;
    }
    if (this.#whenFull === "wait") {
      while (!this.#closed && this.#held > 0 && this.#held + messages > this.#maxMessages) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
      if (this.#closed) {
        this.#metrics.dropped.inc({ reason: "shutdown" }, messages);
        return;
      }
    }
    this.#entries.push({ batch, messages });
    this.#held += messages;
    if (this.#whenFull === "drop_oldest") this.#dropOverflow();
    this.#metrics.held.set(this.#held);
    await this.flush();
  }

  /** Sends what is held, oldest first, until done or the broker refuses. Never rejects. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  /** Stops retrying and releases waiters; what is still held is counted as dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const wake of this.#waiters.splice(0)) wake();
    if (this.#held > 0) {
      this.#log.error("stopping with messages the broker never took; they are dropped", {
        messages: this.#held,
      });
      this.#metrics.dropped.inc({ reason: "shutdown" }, this.#held);
      this.#entries = [];
      this.#held = 0;
      this.#metrics.held.set(0);
    }
  }

  async #drain(): Promise<void> {
    while (this.#entries.length > 0 && !this.#closed) {
      const entry = this.#entries[0]!;
      this.#inFlight = entry;
      try {
        await this.#bus.send(entry.batch);
      } catch (error) {
        if (refused(error)) {
          this.#remove(entry);
          this.#metrics.dropped.inc({ reason: "refused" }, entry.messages);
          this.#log.error(`the broker refused a send; it is dropped: ${error}`, {
            messages: entry.messages,
          });
          continue;
        }
        this.#failing(error);
        return;
      } finally {
        this.#inFlight = null;
      }
      this.#remove(entry);
      for (const t of entry.batch) {
        this.#metrics.published.inc({ topic: t.topic }, t.messages.length);
      }
      if (this.#failingSince > 0) {
        this.#log.info("the broker takes messages again; sending what was held", {
          held: this.#held,
          down_s: Math.round((Date.now() - this.#failingSince) / 1000),
        });
        this.#failingSince = 0;
      }
    }
  }

  #failing(error: unknown): void {
    if (this.#failingSince === 0) {
      this.#failingSince = Date.now();
      this.#log.error(
        `publishing failed; holding messages in memory (at most ${this.#maxMessages}) and ` +
          `retrying every ${this.#retryMs / 1000} s: ${
            error instanceof Error ? error.message : error
          }`,
        { held: this.#held },
      );
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.flush(), this.#retryMs);
  }

  #remove(entry: Entry): void {
    const index = this.#entries.indexOf(entry);
    if (index >= 0) this.#entries.splice(index, 1);
    this.#held -= entry.messages;
    this.#metrics.held.set(this.#held);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Live mode: drops the oldest sends (never the one in flight) until the rest fits. */
  #dropOverflow(): void {
    let dropped = 0;
    while (this.#held > this.#maxMessages) {
      const victim = this.#entries.find((e) => e !== this.#inFlight);
      if (!victim || victim === this.#entries[this.#entries.length - 1]) break;
      this.#entries.splice(this.#entries.indexOf(victim), 1);
      this.#held -= victim.messages;
      dropped += victim.messages;
    }
    if (dropped > 0) {
      this.#metrics.dropped.inc({ reason: "hold_full" }, dropped);
      this.#log.warn("holding too much while the broker is away; dropped the oldest", {
        dropped,
        held: this.#held,
      });
    }
  }
}
