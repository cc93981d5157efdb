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
 *   Kafka's and kafkajs' default partitioner, so a key lands on the same
 *   partition number on both adapters. Messages without a key go round-robin.
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
 * Nothing is left running after {@link MemoryBus.close} (no timers), so Deno's
 * test sanitizers pass.
 *
 * @module
 */
import { TOPIC_LIST, type TopicSpec } from "../../contracts/topics.ts";
import { SkySentinelError } from "../errors.ts";
import type {
  Bus,
  BusBatch,
  BusMessage,
  BusSubscription,
  SubscribeOptions,
  TopicMessages,
  TopicPartition,
} from "./types.ts";

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

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, also kafkajs'
 * DefaultPartitioner), as a signed 32-bit integer.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for `key` (UTF-8) among `partitions`. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}

interface StoredMessage {
  offset: number;
  key: string | null;
  value: Uint8Array;
  timestamp: number;
  headers: Record<string, string>;
}

interface PartitionLog {
  /** Retained messages, ascending offsets (gaps after compaction or retention). */
  entries: StoredMessage[];
  /** Offset the next message gets (the high watermark). */
  next: number;
  /** Latest offset per key; maintained for compacted topics only. */
  latest: Map<string, number>;
}

interface TopicLog {
  spec: TopicSpec;
  compacted: boolean;
  partitions: PartitionLog[];
  /** Round-robin counter for keyless messages. */
  keyless: number;
}

function toBusMessage(topic: string, partition: number, stored: StoredMessage): BusMessage {
  return {
    topic,
    partition,
    offset: String(stored.offset),
    key: stored.key,
    value: stored.value,
    timestamp: stored.timestamp,
    // Each consumer gets its own headers object; values are shared and must not be mutated.
    headers: { ...stored.headers },
  };
}

function logStart(log: PartitionLog): number {
  return log.entries[0]?.offset ?? log.next;
}

/** Index of the first entry with an offset at or after `offset` (binary search). */
function indexFrom(log: PartitionLog, offset: number): number {
  let lo = 0;
  let hi = log.entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.entries[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compactLog(log: PartitionLog): number {
  const before = log.entries.length;
  log.entries = log.entries.filter((e) => e.key !== null && log.latest.get(e.key) === e.offset);
  return before - log.entries.length;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Resolves on the next macrotask: lets timers and I/O run between batches. */
const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Longest a delivery loop keeps the event loop (handlers that resolve at
 * once chain as microtasks), ms; then it yields a macrotask. Yielding after
 * every batch would cost a timer tick per batch.
 */
const SLICE_MS = 10;

/** A batch handed to one member; its partition is busy until released. */
interface Claim {
  key: string;
  batch: BusBatch;
  /** Position after the batch. */
  next: number;
}

/**
 * The shared state of one consumer group: members, the partition dealing,
 * the position per partition and which partitions have a batch in flight.
 */
class MemoryGroup {
  #members: MemorySubscription[] = [];
  #assignment = new Map<MemorySubscription, TopicPartition[]>();
  #positions = new Map<string, number>();
  #busy = new Set<string>();
  #topicLog: (topic: string) => TopicLog;

  constructor(topicLog: (topic: string) => TopicLog) {
    this.#topicLog = topicLog;
  }

  get empty(): boolean {
    return this.#members.length === 0;
  }

  join(member: MemorySubscription): void {
    this.#members.push(member);
    this.#rebalance();
  }

  leave(member: MemorySubscription): void {
    this.#members = this.#members.filter((m) => m !== member);
    this.#assignment.delete(member);
    this.#rebalance();
  }

  assignments(member: MemorySubscription): TopicPartition[] {
    return this.#assignment.get(member) ?? [];
  }

  /** Deals partitions round-robin over the members subscribed to their topic. */
  #rebalance(): void {
    const dealt = new Map<MemorySubscription, TopicPartition[]>(
      this.#members.map((m) => [m, []]),
    );
    const topics = [...new Set(this.#members.flatMap((m) => m.topics))].sort();
    let turn = 0;
    for (const topic of topics) {
      const eligible = this.#members.filter((m) => m.topics.includes(topic));
      const log = this.#topicLog(topic);
      for (let partition = 0; partition < log.partitions.length; partition++) {
        const member = eligible[turn++ % eligible.length]!;
        dealt.get(member)!.push({ topic, partition });
        const key = tpKey(topic, partition);
        if (!this.#positions.has(key)) {
          this.#positions.set(key, member.fromBeginning ? 0 : log.partitions[partition]!.next);
        }
      }
    }
    this.#assignment = dealt;
    for (const member of this.#members) member.wake();
  }

  /** The next batch for `member` from its first partition (after `cursor`) with work. */
  claim(member: MemorySubscription, options: { cursor: number; max: number }): Claim | undefined {
    const assigned = this.assignments(member);
    for (let i = 0; i < assigned.length; i++) {
      const { topic, partition } = assigned[(options.cursor + i) % assigned.length]!;
      const key = tpKey(topic, partition);
      if (this.#busy.has(key)) continue;
      const log = this.#topicLog(topic).partitions[partition]!;
      const position = Math.max(this.#positions.get(key) ?? 0, logStart(log));
      const from = indexFrom(log, position);
      if (from >= log.entries.length) continue;
      const stored = log.entries.slice(from, from + options.max);
      this.#busy.add(key);
      const messages = stored.map((s) => toBusMessage(topic, partition, s));
      return {
        key,
        next: stored[stored.length - 1]!.offset + 1,
        batch: {
          topic,
          partition,
          messages,
          highWatermark: String(log.next),
          heartbeat: () => Promise.resolve(),
        },
      };
    }
    return undefined;
  }

  commit(claim: Claim): void {
    this.#positions.set(claim.key, claim.next);
  }

  /** Frees the partition; another member may hold it now (after a rebalance), so wake all. */
  release(claim: Claim): void {
    this.#busy.delete(claim.key);
    for (const member of this.#members) member.wake();
  }

  lag(member: MemorySubscription): number {
    let lag = 0;
    for (const { topic, partition } of this.assignments(member)) {
      const log = this.#topicLog(topic).partitions[partition]!;
      const position = Math.max(this.#positions.get(tpKey(topic, partition)) ?? 0, logStart(log));
      lag += Math.max(0, log.next - position);
    }
    return lag;
  }
}

interface MemorySubscriptionOptions {
  group: MemoryGroup;
  subscribe: SubscribeOptions;
  maxBatchSize: number;
  retryDelayMs: number;
  onStopped(sub: MemorySubscription): void;
}

class MemorySubscription implements BusSubscription {
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
