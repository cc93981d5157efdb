/**
 * What the Kafka adapter watches besides its own requests, so that health and
 * lag stay true while nothing else talks to the broker:
 *
 * - {@link BrokerProbe}: a TCP connect to the bootstrap brokers every couple
 *   of seconds. kafkajs only notices a lost broker when a request fails after
 *   its retries (ten seconds and more), and a consumer that is merely waiting
 *   notices nothing; an operator's `/healthz` should say "down" within a few
 *   seconds of the broker going away and "up" as soon as it is back.
 * - {@link GroupLag}: the group's lag per partition from the broker's high
 *   watermarks minus the group's committed offsets (admin API), polled on a
 *   timer: right when processing is stuck, which a value updated by the
 *   consumer loop is not (it stops with the loop).
 *
 * @module
 */
import type { Admin } from "kafkajs";
import type { PartitionLag, TopicPartition } from "./types.ts";

/** Options for {@link BrokerProbe}. */
export interface BrokerProbeOptions {
  /** Time between probes, ms. Default 2,000. */
  intervalMs?: number;
  /** A connect that takes longer counts as failed, ms. Default 1,500. */
  timeoutMs?: number;
  /** Called when reachability changes. */
  onChange?(reachable: boolean): void;
}

/** Periodic TCP reachability of the bootstrap brokers (any one answering is enough). */
export class BrokerProbe {
  #brokers: { hostname: string; port: number }[];
  #intervalMs: number;
  #timeoutMs: number;
  #onChange?: (reachable: boolean) => void;
  #reachable = true;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;

  constructor(brokers: readonly string[], options: BrokerProbeOptions = {}) {
    this.#brokers = brokers.map(parseHostPort);
    this.#intervalMs = options.intervalMs ?? 2_000;
    this.#timeoutMs = options.timeoutMs ?? 1_500;
    this.#onChange = options.onChange;
  }

  /** Result of the last probe; true before the first one (the caller just connected). */
  get reachable(): boolean {
    return this.#reachable;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = async () => {
      const up = await this.probe();
      if (this.#stopped) return;
      if (up !== this.#reachable) {
        this.#reachable = up;
        this.#onChange?.(up);
      }
      this.#timer = setTimeout(tick, this.#intervalMs);
    };
    this.#timer = setTimeout(tick, this.#intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One probe now: true when some broker accepts a TCP connection in time. */
  async probe(): Promise<boolean> {
    for (const broker of this.#brokers) {
      if (await connects(broker, this.#timeoutMs)) return true;
    }
    return false;
  }
}

function parseHostPort(broker: string): { hostname: string; port: number } {
  const at = broker.lastIndexOf(":");
  const hostname = at > 0 ? broker.slice(0, at).replace(/^\[|\]$/g, "") : broker;
  const port = at > 0 ? Number(broker.slice(at + 1)) : 9092;
  return { hostname, port: Number.isInteger(port) && port > 0 ? port : 9092 };
}

async function connects(
  address: { hostname: string; port: number },
  timeoutMs: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ ...address, transport: "tcp" });
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const result = await Promise.race([attempt, timeout]);
    if (result === "timeout") {
      // Close it if it connects after all.
      attempt.then((conn) => conn.close(), () => {});
      return false;
    }
    result.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Options for {@link GroupLag}. */
export interface GroupLagOptions {
  admin: Admin;
  groupId: string;
  topics: readonly string[];
  /** Where the group starts on a partition without a commit: its low watermark, else the end. */
  fromBeginning: boolean;
  /** Time between refreshes, ms. Default 5,000. */
  intervalMs?: number;
  /** A refresh failed (the broker is down, say); the last values stay. */
  onError?(error: unknown): void;
}

/** A consumer group's lag per partition, refreshed from the broker on a timer. */
export class GroupLag {
  #options: GroupLagOptions;
  #lag = new Map<string, PartitionLag>();
  #timer?: ReturnType<typeof setTimeout>;
  #refreshing?: Promise<void>;
  #stopped = false;

  constructor(options: GroupLagOptions) {
    this.#options = options;
  }

  /** True once a refresh succeeded. */
  get known(): boolean {
    return this.#lag.size > 0;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = async () => {
      await this.refresh();
      if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.intervalMs ?? 5_000);
    };
    this.#timer = setTimeout(tick, 0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Reads watermarks and commits now (one refresh at a time; callers share it). Never throws. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read()
      .catch((error) => this.#options.onError?.(error))
      .finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  /** Lag of `held` partitions; of every partition of the topics when `held` is empty. */
  partitions(held: readonly TopicPartition[]): PartitionLag[] {
    const all = [...this.#lag.values()];
    if (held.length === 0) return all.map((p) => ({ ...p }));
    const keys = new Set(held.map((tp) => key(tp.topic, tp.partition)));
    return all.filter((p) => keys.has(key(p.topic, p.partition))).map((p) => ({ ...p }));
  }

  async #read(): Promise<void> {
    const { admin, groupId, topics, fromBeginning } = this.#options;
    const committed = new Map<string, bigint>();
    for (
      const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })
    ) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) >= 0n) committed.set(key(topic, partition), BigInt(offset));
      }
    }
    const next = new Map<string, PartitionLag>();
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        const k = key(topic, partition);
        const start = committed.get(k) ?? (fromBeginning ? BigInt(low) : BigInt(high));
        const lag = BigInt(high) - start;
        next.set(k, { topic, partition, lag: Number(lag > 0n ? lag : 0n) });
      }
    }
    if (!this.#stopped) this.#lag = next;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
