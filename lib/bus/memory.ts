/**
 * The in-process bus: the embedded single-machine stack and tests run on it.
 * It keeps the semantics of the Kafka adapter listed in `types.ts`; where an
 * in-memory log has to choose, it chooses like this:
 *
 * - **Topics.** Until {@link MemoryBus.ensureTopics} has run once, sending to
 *   or subscribing to an unknown topic creates it with `defaultPartitions`
 *   (3) and `cleanup.policy=delete`, so small tests need no set-up. After the
 *   first `ensureTopics` unknown topics are rejected with a `config_invalid`
 *   error, like Kafka with `allowAutoTopicCreation: false` (a typo in a topic
 *   name fails loudly instead of creating an orphan topic).
 * - **Partitioning.** A key goes to `murmur2(key) % partitions`, the hash of
 *   Kafka's and kafkajs' default partitioner (`partitioner.ts`), so a key
 *   lands on the same partition number on both adapters. Messages without a
 *   key go round-robin.
 * - **Offsets** are per-partition counters, exposed as decimal strings.
 *   Compaction and retention leave gaps, as on Kafka.
 * - **Retention** (topics without `cleanup.policy=compact`): at most
 *   `maxMessagesPerPartition` (default 200,000) messages per partition; the
 *   oldest are dropped first. A group whose position fell behind the log
 *   start continues at the oldest retained message. Time-based `retention.ms`
 *   is not applied: the log is bounded by count so the process does not grow
 *   forever.
 * - **Compaction** (`cleanup.policy=compact`): the log is kept as written, and
 *   a partition is compacted (latest message per key kept, offsets unchanged)
 *   once it holds more than `2 x keys + compactionSlack` messages, or when
 *   {@link MemoryBus.compact} is called. Compacted topics require a key (a
 *   broker rejects keyless messages there too).
 * - **Consumer groups.** Partitions are dealt round-robin over the members
 *   (in join order) and dealt again whenever a member joins or leaves. A
 *   partition is processed by one member at a time, and its position is
 *   shared by the group, so a reassigned partition continues where the last
 *   batch committed. A group's starting position (`fromBeginning` or the
 *   current end) is fixed when it first gets the partition.
 * - **Delivery** is asynchronous (never inside `send` or `subscribe`), in
 *   batches of at most `maxBatchSize` (default 500) messages of one
 *   partition. A batch whose handler throws is delivered again after
 *   `retryDelayMs` (default 100 ms). The loop yields to the event loop
 *   between batches so a long backlog cannot starve timers and sockets.
 * - **Sharing.** The memory bus lives in one process: every component of the
 *   embedded stack must use the same instance (see `openBus({ memory })` in
 *   `mod.ts`); two instances share nothing.
 *
 * The parts live beside it: `_memory_log.ts` (partition logs, compaction),
 * `_memory_group.ts` (consumer groups), `_memory_delivery.ts` (delivery).
 *
 * Nothing is left running after {@link MemoryBus.close} (no timers), so Deno's
 * test sanitizers pass.
 *
 * @module
 */
import { TOPIC_LIST, type TopicSpec } from "../../contracts/topics.ts";
import { SkySentinelError } from "../errors.ts";
import type { Bus, BusMessage, BusSubscription, SubscribeOptions, TopicMessages } from "./types.ts";
import { MemorySubscription } from "./_memory_delivery.ts";
import { MemoryGroup } from "./_memory_group.ts";
import { compactLog, type PartitionLog, toBusMessage, type TopicLog } from "./_memory_log.ts";
import { partitionForKey } from "./partitioner.ts";

export { murmur2, partitionForKey } from "./partitioner.ts";

export interface MemoryBusOptions {
  /** Most messages per batch handed to `eachBatch`. Default 500. */
  maxBatchSize?: number;
  /** Retention of non-compacted topics: messages kept per partition. Default 200,000. */
  maxMessagesPerPartition?: number;
  /** Delay before a failed batch is delivered again, ms. Default 100. */
  retryDelayMs?: number;
  /** Partition count of topics created implicitly (before `ensureTopics`). Default 3. */
  defaultPartitions?: number;
  /** A compacted partition is compacted past `2 x keys + compactionSlack` messages. Default 10,000. */
  compactionSlack?: number;
}

const encoder = new TextEncoder();

/** The in-process {@link Bus}; see the module documentation for its choices. */
export class MemoryBus implements Bus {
  readonly kind = "memory" as const;
  #options: Required<MemoryBusOptions>;
  #topics = new Map<string, TopicLog>();
  #groups = new Map<string, MemoryGroup>();
  #subscriptions = new Set<MemorySubscription>();
  /** Set by the first ensureTopics: from then on unknown topics are an error. */
  #strictTopics = false;
  #closed = false;
  #closing?: Promise<void>;

  constructor(options: MemoryBusOptions = {}) {
    this.#options = {
      maxBatchSize: options.maxBatchSize ?? 500,
      maxMessagesPerPartition: options.maxMessagesPerPartition ?? 200_000,
      retryDelayMs: options.retryDelayMs ?? 100,
      defaultPartitions: options.defaultPartitions ?? 3,
      compactionSlack: options.compactionSlack ?? 10_000,
    };
    for (const [name, value] of Object.entries(this.#options)) {
      if (!Number.isInteger(value) || value < (name === "retryDelayMs" ? 0 : 1)) {
        throw new RangeError(`MemoryBus: ${name} must be a positive integer, got ${value}`);
      }
    }
  }

  ensureTopics(specs: readonly TopicSpec[] = TOPIC_LIST): Promise<void> {
    this.#assertOpen();
    for (const spec of specs) {
      // Like Kafka: an existing topic keeps its partitions and configs.
      if (!this.#topics.has(spec.name)) this.#create(spec);
    }
    this.#strictTopics = true;
    return Promise.resolve();
  }

  send(batch: TopicMessages[]): Promise<void> {
    try {
      this.#assertOpen();
      // Check everything first so a rejected call appends nothing.
      for (const { topic, messages } of batch) {
        const log = this.#topic(topic);
        if (log.compacted && messages.some((m) => m.key === null)) {
          throw new SkySentinelError(
            "validation_failed",
            `topic ${topic} is compacted: every message needs a key`,
          );
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const touched = new Set<string>();
    const now = Date.now();
    for (const { topic, messages } of batch) {
      if (messages.length === 0) continue;
      const log = this.#topic(topic);
      const changed = new Set<PartitionLog>();
      for (const message of messages) {
        const partition = message.key === null
          ? log.keyless++ % log.partitions.length
          : partitionForKey(message.key, log.partitions.length);
        const plog = log.partitions[partition]!;
        const offset = plog.next++;
        plog.entries.push({
          offset,
          key: message.key,
          value: typeof message.value === "string" ? encoder.encode(message.value) : message.value,
          timestamp: now,
          headers: { ...message.headers },
        });
        if (log.compacted) plog.latest.set(message.key!, offset);
        changed.add(plog);
      }
      for (const plog of changed) this.#bound(log, plog);
      touched.add(topic);
    }
    for (const sub of this.#subscriptions) {
      if (sub.topics.some((t) => touched.has(t))) sub.wake();
    }
    return Promise.resolve();
  }

  subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    try {
      this.#assertOpen();
      if (options.topics.length === 0) throw new TypeError("subscribe: no topics given");
      for (const topic of options.topics) this.#topic(topic);
      let group: MemoryGroup;
      if (options.ephemeral) {
        group = new MemoryGroup((t) => this.#topic(t));
      } else {
        if (!options.groupId) {
          throw new TypeError("subscribe: groupId is required unless ephemeral");
        }
        group = this.#groups.get(options.groupId) ?? new MemoryGroup((t) => this.#topic(t));
        this.#groups.set(options.groupId, group);
      }
      const sub = new MemorySubscription({
        group,
        subscribe: options,
        maxBatchSize: options.maxBatchSize ?? this.#options.maxBatchSize,
        retryDelayMs: this.#options.retryDelayMs,
        onStopped: (s) => this.#subscriptions.delete(s),
      });
      this.#subscriptions.add(sub);
      sub.start();
      return Promise.resolve(sub);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** False once closed; there is no broker to lose. */
  healthy(): boolean {
    return !this.#closed;
  }

  /** Stops every subscription (waiting for handlers in flight). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.all([...this.#subscriptions].map((s) => s.stop())).then(() => {});
    return this.#closing;
  }

  /**
   * Keeps only the latest message per key in every partition of a compacted
   * topic (offsets unchanged); returns how many messages were dropped.
   */
  compact(topic: string): number {
    const log = this.#topic(topic);
    if (!log.compacted) throw new TypeError(`compact: topic ${topic} is not compacted`);
    return log.partitions.reduce((dropped, plog) => dropped + compactLog(plog), 0);
  }

  /** The retained messages of a topic, partition by partition in offset order (for tests and tools). */
  retained(topic: string): BusMessage[] {
    const log = this.#topic(topic);
    return log.partitions.flatMap((plog, partition) =>
      plog.entries.map((s) => toBusMessage(topic, partition, s))
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new SkySentinelError("shutting_down", "the memory bus is closed");
  }

  #create(spec: TopicSpec): TopicLog {
    const log: TopicLog = {
      spec,
      compacted: (spec.config["cleanup.policy"] ?? "delete").split(",").includes("compact"),
      partitions: Array.from({ length: spec.partitions }, () => ({
        entries: [],
        next: 0,
        latest: new Map(),
      })),
      keyless: 0,
    };
    this.#topics.set(spec.name, log);
    return log;
  }

  #topic(name: string): TopicLog {
    const log = this.#topics.get(name);
    if (log) return log;
    if (this.#strictTopics) {
      throw new SkySentinelError(
        "config_invalid",
        `unknown topic ${JSON.stringify(name)}: create it with ensureTopics first`,
      );
    }
    return this.#create({
      name,
      key: "icao24",
      partitions: this.#options.defaultPartitions,
      config: { "cleanup.policy": "delete" },
    });
  }

  /** Applies retention or compaction so one partition cannot grow without bound. */
  #bound(log: TopicLog, plog: PartitionLog): void {
    if (log.compacted) {
      if (plog.entries.length > 2 * plog.latest.size + this.#options.compactionSlack) {
        compactLog(plog);
      }
      return;
    }
    const excess = plog.entries.length - this.#options.maxMessagesPerPartition;
    if (excess > 0) plog.entries.splice(0, excess);
  }
}
