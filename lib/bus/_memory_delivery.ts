/**
 * The memory bus' delivery: one loop per subscription that claims a batch
 * from its group, hands it to `eachBatch`, commits the position only when
 * the handler resolved (a batch whose handler throws is delivered again
 * after `retryDelayMs`), and yields to the event loop between batches.
 * Private to lib/bus/memory.ts.
 *
 * @module
 */
import type { BusBatch, BusSubscription, SubscribeOptions, TopicPartition } from "./types.ts";
import type { MemoryGroup } from "./_memory_group.ts";

/** Resolves on the next macrotask: lets timers and I/O run between batches. */
const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Longest a delivery loop keeps the event loop (handlers that resolve at
 * once chain as microtasks), ms; then it yields a macrotask. Yielding after
 * every batch would cost a timer tick per batch.
 */
const SLICE_MS = 10;

export interface MemorySubscriptionOptions {
  group: MemoryGroup;
  subscribe: SubscribeOptions;
  maxBatchSize: number;
  retryDelayMs: number;
  onStopped(sub: MemorySubscription): void;
}

export class MemorySubscription implements BusSubscription {
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  #group: MemoryGroup;
  #options: MemorySubscriptionOptions;
  #stopping = false;
  #stopped?: Promise<void>;
  #loop: Promise<void> = Promise.resolve();
  #pendingWake = false;
  #wakeUp?: () => void;
  #pauseTimer?: ReturnType<typeof setTimeout>;
  #endPause?: () => void;
  #cursor = 0;

  constructor(options: MemorySubscriptionOptions) {
    this.#options = options;
    this.#group = options.group;
    this.topics = [...options.subscribe.topics];
    this.fromBeginning = options.subscribe.ephemeral === true ||
      options.subscribe.fromBeginning === true;
  }

  start(): void {
    this.#group.join(this);
    this.#loop = this.#run();
  }

  get ready(): boolean {
    return !this.#stopping;
  }

  lag(): number {
    return this.#group.lag(this);
  }

  assignments(): TopicPartition[] {
    return this.#group.assignments(this).map((tp) => ({ ...tp }));
  }

  /** Something changed (new messages, a rebalance, a released partition): look for work. */
  wake(): void {
    this.#pendingWake = true;
    this.#wakeUp?.();
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      this.wake();
      this.#endPause?.();
      await this.#loop;
      this.#group.leave(this);
      this.#options.onStopped(this);
    })();
    return this.#stopped;
  }

  async #run(): Promise<void> {
    // Never call a handler from inside subscribe().
    await nextTick();
    let sliceStart = performance.now();
    while (!this.#stopping) {
      this.#pendingWake = false;
      const claim = this.#group.claim(this, {
        cursor: this.#cursor++,
        max: this.#options.maxBatchSize,
      });
      if (!claim) {
        await this.#idle();
        sliceStart = performance.now();
        continue;
      }
      try {
        await this.#options.subscribe.eachBatch(claim.batch);
        this.#group.commit(claim);
      } catch (error) {
        this.#report(error, claim.batch);
        await this.#pause(this.#options.retryDelayMs);
      } finally {
        this.#group.release(claim);
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTick();
        sliceStart = performance.now();
      }
    }
  }

  #report(error: unknown, batch: BusBatch): void {
    const onError = this.#options.subscribe.onError;
    try {
      if (onError) onError(error);
      else {
        console.warn(
          `[bus] handler failed on ${batch.topic}/${batch.partition} at offset ` +
            `${batch.messages[0]?.offset}; delivering it again`,
          error,
        );
      }
    } catch (reportError) {
      console.warn("[bus] onError threw", reportError);
    }
  }

  #idle(): Promise<void> {
    if (this.#pendingWake || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wakeUp = () => {
        this.#wakeUp = undefined;
        resolve();
      };
    });
  }

  #pause(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(this.#pauseTimer);
        this.#pauseTimer = undefined;
        this.#endPause = undefined;
        resolve();
      };
      this.#endPause = end;
      this.#pauseTimer = setTimeout(end, ms);
    });
  }
}
