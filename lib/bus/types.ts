/**
 * The message bus interface. Two adapters implement it with the same
 * semantics: Kafka (`kafka.ts`, through kafkajs) and an in-process memory bus
 * (`memory.ts`) for the embedded single-machine stack and tests.
 *
 * Semantics both adapters keep:
 * - a topic has N partitions; a message's partition is chosen from its key
 *   (same key, same partition, so per-key order holds);
 * - `send` appends a batch to several topics at once (all or nothing is not
 *   promised across topics; per topic it is one request);
 * - a consumer group sees every message once across its members; offsets are
 *   committed only after `eachBatch` resolves (the handler says the batch is
 *   durable); if it throws, the same messages are delivered again
 *   (at-least-once);
 * - `fromBeginning` applies when the group has no committed offset;
 * - a subscription with `ephemeral: true` uses a throw-away group, commits
 *   nothing and reads from the beginning (how the hub rebuilds its cache
 *   from the compacted flights.state);
 * - compacted topics (`cleanup.policy=compact`) keep at least the latest
 *   message per key.
 *
 * @module
 */
import type { TopicSpec } from "../../contracts/topics.ts";

/** A message to send. */
export interface OutgoingMessage {
  /** Partitioning key (icao24 for flight topics), or null. */
  key: string | null;
  /** Encoded value (the adapters send bytes; strings are UTF-8 encoded). */
  value: string | Uint8Array;
  /** Optional string headers. */
  headers?: Record<string, string>;
}

/** Messages for one topic inside a {@link Bus.send} call. */
export interface TopicMessages {
  topic: string;
  messages: OutgoingMessage[];
}

/** A message as consumed. */
export interface BusMessage {
  topic: string;
  partition: number;
  /** Offset within the partition, as a decimal string (Kafka's convention). */
  offset: string;
  key: string | null;
  value: Uint8Array;
  /** Broker or append time, unix milliseconds. */
  timestamp: number;
  headers: Record<string, string>;
}

/** A batch handed to a consumer: messages of one topic partition, in order. */
export interface BusBatch {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** Offset of the partition's end when the batch was fetched (for lag), decimal string. */
  highWatermark: string;
  /** Keep the group membership alive during long handlers. */
  heartbeat(): Promise<void>;
}

export interface SubscribeOptions {
  /** Consumer group id; ignored when `ephemeral`. */
  groupId?: string;
  topics: string[];
  /** Where a group without committed offsets starts. Default false (only new messages). */
  fromBeginning?: boolean;
  /** Throw-away group: no commits, always from the beginning. */
  ephemeral?: boolean;
  /**
   * Called with each batch. Resolve once the batch is durable (written to
   * the database, say): only then are its offsets committed. Throw and the
   * batch is delivered again after a short delay.
   */
  eachBatch(batch: BusBatch): Promise<void>;
  /** Called when a handler error is caught (before redelivery). */
  onError?(error: unknown): void;
  /** Most messages per batch; default the adapter's (500). */
  maxBatchSize?: number;
  /**
   * Partitions whose batches may be in `eachBatch` at the same time (Kafka:
   * kafkajs' partitionsConsumedConcurrently). Default 1. The memory bus
   * hands out one batch at a time per member whatever this says.
   */
  concurrency?: number;
}

/** One partition of one topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A running subscription. */
export interface BusSubscription {
  /** Stop fetching; waits for the batch in progress, commits, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** True once it has joined and received partition assignments. */
  readonly ready: boolean;
  /** Sum over partitions of (high watermark - committed or processed offset). */
  lag(): number;
  /**
   * The partitions this member holds since the last rebalance (empty before
   * it joined). Optional so that wrappers need not implement it; both
   * adapters do.
   */
  assignments?(): TopicPartition[];
}

export interface Bus {
  /** `kafka` or `memory`. */
  readonly kind: "kafka" | "memory";
  /** Create the topics if missing, with their partition counts and configs. */
  ensureTopics(specs?: readonly TopicSpec[]): Promise<void>;
  /** Append messages to one or more topics in one call. */
  send(batch: TopicMessages[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<BusSubscription>;
  /** True while the adapter can reach its broker (always true for memory). */
  healthy(): boolean;
  /** Flush, disconnect producers and consumers. Idempotent. */
  close(): Promise<void>;
}
