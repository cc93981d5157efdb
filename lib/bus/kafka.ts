/**
 * The Kafka adapter over npm:kafkajs 2.2.4 (CommonJS; its named exports load
 * in Deno through the npm compatibility layer).
 *
 * - Producer: idempotent (`maxInFlightRequests: 1`, acks -1), Kafka's
 *   murmur2 partitioner (`Partitioners.DefaultPartitioner`, the same mapping
 *   as the memory bus), no automatic topic creation (it races on KRaft,
 *   kafkajs#1563): topics come from {@link KafkaBus.ensureTopics}.
 * - Consumers: one kafkajs consumer per subscription, `autoCommit: false`,
 *   `eachBatchAutoResolve: false`. A kafkajs batch is handed on in chunks of
 *   at most `maxBatchSize` messages; after each chunk's handler resolves its
 *   offset is resolved and committed (last offset + 1) explicitly. When a
 *   handler throws nothing is resolved or committed: after `retryDelayMs` the
 *   consumer seeks back to the chunk's first offset and kafkajs fetches the
 *   same messages again (kafkajs fetches from the resolved offset, so not
 *   resolving alone would refetch them; the seek also discards anything
 *   fetched past it).
 * - Ephemeral subscriptions use the group `<clientId>-ephemeral-<uuid>`,
 *   read from the beginning, never commit, and delete their group on stop.
 * - kafkajs logs at WARN by default through `console.warn` with a `[kafka]`
 *   prefix.
 *
 * kafkajs leaves timers and sockets behind after `disconnect()`: Deno tests
 * that use this adapter need `sanitizeOps: false, sanitizeResources: false`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Admin,
  ConfigResourceTypes,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import { TOPIC_LIST, type TopicSpec } from "../../contracts/topics.ts";
import { sleep } from "../async.ts";
import { SkySentinelError } from "../errors.ts";
import type {
  Bus,
  BusMessage,
  BusSubscription,
  SubscribeOptions,
  TopicMessages,
  TopicPartition,
} from "./types.ts";

export { logLevel as KafkaLogLevel };

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id; also the prefix of ephemeral group ids. */
  clientId: string;
  /** kafkajs log level. Default `logLevel.WARN`. */
  logLevel?: logLevel;
  /** Most messages per batch handed to `eachBatch`. Default 500. */
  maxBatchSize?: number;
  /** Delay before a failed batch is fetched again, ms. Default 100. */
  retryDelayMs?: number;
  /** How long `ensureTopics` waits for new topics to have leaders, ms. Default 30,000. */
  topicWaitMs?: number;
  /** Longest a fetch waits for data; also bounds how long `stop()` waits, ms. Default 1,000. */
  maxWaitTimeInMs?: number;
  /** Replication factor of created topics. Default -1 (the broker's default). */
  replicationFactor?: number;
}

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: "ERROR",
  [logLevel.WARN]: "WARN",
  [logLevel.INFO]: "INFO",
  [logLevel.DEBUG]: "DEBUG",
};

/**
 * Error replies that kafkajs' Connection logs at ERROR although the client
 * retries them as a matter of course (a member joining a group, a broker
 * that just started): logging them would make every rebalance look like an
 * outage. The retry that follows is logged when it, too, fails.
 */
const ROUTINE_ERRORS = [
  "The group is rebalancing, so a rejoin is needed",
  "The coordinator is loading and hence can't process requests",
  "This is not the correct coordinator for this group",
  "There is no leader for this topic-partition as we are in the middle of a leadership election",
];

/** Routes kafkajs logs to console.warn: one line, prefixed, with the extra fields as JSON. */
function kafkaLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, log }) => {
    // The stack of a connection error says nothing an operator can act on; the message does.
    const { message, timestamp: _timestamp, logger: _logger, stack: _stack, ...extra } = log;
    const error = typeof extra.error === "string" ? extra.error : "";
    if (namespace === "Connection" && ROUTINE_ERRORS.some((e) => error.startsWith(e))) return;
    const details = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : "";
    console.warn(`[kafka] ${LEVEL_NAMES[level] ?? level} ${namespace}: ${message}${details}`);
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function headerText(value: IHeaders[string]): string | undefined {
  // Kafka allows a header key more than once; kafkajs then gives an array: the last one wins.
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  return typeof last === "string" ? last : last.toString("utf8");
}

function toBusMessage(topic: string, partition: number, message: KafkaMessage): BusMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const value = message.value ?? Buffer.alloc(0);
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString("utf8"),
    // A plain view, so that callers do not come to rely on Buffer methods.
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    timestamp: Number(message.timestamp),
    headers,
  };
}

function toKafkaValue(value: string | Uint8Array): string | Buffer {
  return typeof value === "string"
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The {@link Bus} over a Kafka cluster. Call {@link KafkaBus.connect} (openBus does). */
export class KafkaBus implements Bus {
  readonly kind = "kafka" as const;
  #options: Required<Omit<KafkaBusOptions, "logLevel">>;
  #kafka: Kafka;
  #producer: Producer;
  #admin: Admin;
  #producerConnected = false;
  #sendFailing = false;
  #producerConnecting?: Promise<void>;
  #adminConnecting?: Promise<void>;
  #subscriptions = new Set<KafkaSubscription>();
  #closed = false;
  #closing?: Promise<void>;

  constructor(options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new TypeError("KafkaBus: no brokers given");
    this.#options = {
      brokers: options.brokers,
      clientId: options.clientId,
      maxBatchSize: options.maxBatchSize ?? 500,
      retryDelayMs: options.retryDelayMs ?? 100,
      topicWaitMs: options.topicWaitMs ?? 30_000,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000,
      replicationFactor: options.replicationFactor ?? -1,
    };
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: options.logLevel ?? logLevel.WARN,
      logCreator: kafkaLogCreator,
    });
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#producer.on(this.#producer.events.CONNECT, () => {
      this.#producerConnected = true;
    });
    this.#producer.on(this.#producer.events.DISCONNECT, () => {
      this.#producerConnected = false;
    });
    this.#admin = this.#kafka.admin();
  }

  /** Connects the producer and the admin client; fails when no broker answers. */
  async connect(): Promise<void> {
    // Both settle before the failure is reported, so a close() that follows finds no retry running.
    const results = await Promise.allSettled([this.#connectProducer(), this.#connectAdmin()]);
    for (const result of results) if (result.status === "rejected") throw result.reason;
  }

  async ensureTopics(specs: readonly TopicSpec[] = TOPIC_LIST): Promise<void> {
    this.#assertOpen();
    if (specs.length === 0) return;
    await this.#connectAdmin();
    // Creating only what is missing keeps kafkajs from logging "Topic creation
    // errors" on every start; a topic created concurrently by another process
    // still fails with TOPIC_ALREADY_EXISTS, which createTopics tolerates.
    const existing = new Set(await this.#admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.name));
    if (missing.length > 0) {
      await this.#admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: this.#options.replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    await this.#waitForMetadata(specs);
  }

  async send(batch: TopicMessages[]): Promise<void> {
    this.#assertOpen();
    const topicMessages = batch
      .filter((t) => t.messages.length > 0)
      .map((t) => ({
        topic: t.topic,
        messages: t.messages.map((m) => ({
          key: m.key,
          value: toKafkaValue(m.value),
          headers: m.headers,
        })),
      }));
    if (topicMessages.length === 0) return;
    try {
      await this.#connectProducer();
      await this.#producer.sendBatch({ topicMessages, acks: -1 });
      this.#sendFailing = false;
    } catch (error) {
      // The producer's own events only report explicit disconnects; a failed send is
      // how a lost broker shows (after kafkajs' retries).
      this.#sendFailing = true;
      throw error;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    this.#assertOpen();
    if (options.topics.length === 0) throw new TypeError("subscribe: no topics given");
    const ephemeral = options.ephemeral === true;
    const groupId = ephemeral
      ? `${this.#options.clientId}-ephemeral-${crypto.randomUUID()}`
      : options.groupId;
    if (!groupId) throw new TypeError("subscribe: groupId is required unless ephemeral");
    await this.#connectAdmin();
    const maxBatchSize = options.maxBatchSize ?? this.#options.maxBatchSize;
    const consumer = this.#kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.#options.maxWaitTimeInMs,
      // A fetch should bring a whole batch: flight envelopes are about 0.6 kB.
      maxBytesPerPartition: Math.max(1 << 20, maxBatchSize * 1024),
      maxBytes: Math.max(10 << 20, maxBatchSize * 1024 * 4),
    });
    const sub = new KafkaSubscription({
      consumer,
      admin: this.#admin,
      groupId,
      ephemeral,
      subscribe: options,
      maxBatchSize,
      retryDelayMs: this.#options.retryDelayMs,
      onStopped: (s) => this.#subscriptions.delete(s),
    });
    this.#subscriptions.add(sub);
    try {
      await sub.start();
    } catch (error) {
      await sub.stop();
      throw error;
    }
    return sub;
  }

  /** The topic's configs as the broker reports them (for operators and tests). */
  async topicConfig(topic: string): Promise<Record<string, string>> {
    this.#assertOpen();
    await this.#connectAdmin();
    const { resources } = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    const config: Record<string, string> = {};
    for (const entry of resources[0]?.configEntries ?? []) {
      if (entry.configValue !== null) config[entry.configName] = entry.configValue;
    }
    return config;
  }

  /** Producer connected, last send went through, no consumer crashed (or restarting), not closed. */
  healthy(): boolean {
    if (this.#closed || !this.#producerConnected || this.#sendFailing) return false;
    for (const sub of this.#subscriptions) if (sub.crashed) return false;
    return true;
  }

  /** Stops every subscription, then disconnects the producer and admin. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#subscriptions].map((s) => s.stop()));
      await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
      this.#producerConnected = false;
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SkySentinelError("shutting_down", "the Kafka bus is closed");
  }

  #connectProducer(): Promise<void> {
    this.#producerConnecting ??= this.#producer.connect().catch((error) => {
      this.#producerConnecting = undefined;
      throw new SkySentinelError(
        "upstream_unavailable",
        `Kafka producer could not connect to ${this.#options.brokers.join(",")}: ${error}`,
        { cause: error },
      );
    });
    return this.#producerConnecting;
  }

  #connectAdmin(): Promise<void> {
    this.#adminConnecting ??= this.#admin.connect().catch((error) => {
      this.#adminConnecting = undefined;
      throw new SkySentinelError(
        "upstream_unavailable",
        `Kafka admin could not connect to ${this.#options.brokers.join(",")}: ${error}`,
        { cause: error },
      );
    });
    return this.#adminConnecting;
  }

  /** Waits until the metadata shows every partition of the topics with a leader. */
  async #waitForMetadata(specs: readonly TopicSpec[]): Promise<void> {
    const deadline = Date.now() + this.#options.topicWaitMs;
    const names = specs.map((s) => s.name);
    let last = "no answer yet";
    while (true) {
      try {
        const { topics } = await this.#admin.fetchTopicMetadata({ topics: names });
        const missing = names.filter((name) => {
          const meta = topics.find((t) => t.name === name);
          return !meta || meta.partitions.length === 0 || meta.partitions.some((p) => p.leader < 0);
        });
        if (missing.length === 0) return;
        last = `no leader yet for ${missing.join(", ")}`;
      } catch (error) {
        last = String(error);
      }
      if (Date.now() >= deadline) {
        throw new SkySentinelError(
          "upstream_unavailable",
          `topics ${names.join(", ")} not ready after ${this.#options.topicWaitMs} ms: ${last}`,
        );
      }
      await sleep(200);
    }
  }
}

interface KafkaSubscriptionOptions {
  consumer: Consumer;
  admin: Admin;
  groupId: string;
  ephemeral: boolean;
  subscribe: SubscribeOptions;
  maxBatchSize: number;
  retryDelayMs: number;
  onStopped(sub: KafkaSubscription): void;
}

class KafkaSubscription implements BusSubscription {
  #options: KafkaSubscriptionOptions;
  #consumer: Consumer;
  #ready = false;
  #crashed = false;
  #assignment: TopicPartition[] = [];
  /** Per `topic\0partition`: last known high watermark and the next offset to process. */
  #highWatermarks = new Map<string, bigint>();
  #positions = new Map<string, bigint>();
  #stopping = new AbortController();
  #stopped?: Promise<void>;
  #removeListeners: (() => void)[] = [];

  constructor(options: KafkaSubscriptionOptions) {
    this.#options = options;
    this.#consumer = options.consumer;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Crashed and not (yet) rejoined. */
  get crashed(): boolean {
    return this.#crashed;
  }

  assignments(): TopicPartition[] {
    return this.#assignment.map((tp) => ({ ...tp }));
  }

  lag(): number {
    let lag = 0n;
    for (const { topic, partition } of this.#assignment) {
      const key = `${topic}\u0000${partition}`;
      const high = this.#highWatermarks.get(key);
      const position = this.#positions.get(key);
      if (high !== undefined && position !== undefined && high > position) lag += high - position;
    }
    return Number(lag);
  }

  async start(): Promise<void> {
    const consumer = this.#consumer;
    this.#removeListeners.push(
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const assignment = Object.entries(event.payload.memberAssignment).flatMap((
          [topic, partitions],
        ) => partitions.map((partition) => ({ topic, partition })));
        this.#onJoin(assignment);
      }),
      consumer.on(consumer.events.CRASH, (event) => {
        this.#crashed = true;
        this.#ready = false;
        const { error, restart } = event.payload;
        console.warn(
          `[kafka] consumer ${this.#options.groupId} crashed` +
            (restart ? " (kafkajs restarts it)" : " (not restarting)") + `: ${error}`,
        );
      }),
    );
    await consumer.connect();
    await consumer.subscribe({
      topics: [...this.#options.subscribe.topics],
      fromBeginning: this.#options.ephemeral || this.#options.subscribe.fromBeginning === true,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, this.#options.subscribe.concurrency ?? 1),
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      this.#ready = false;
      try {
        // Waits for the batch in flight (which committed itself) and leaves the group.
        await this.#consumer.disconnect();
      } finally {
        for (const remove of this.#removeListeners) remove();
        this.#options.onStopped(this);
      }
      if (this.#options.ephemeral) {
        // Its group never committed anything; do not leave it behind for the broker to expire.
        await this.#options.admin.deleteGroups([this.#options.groupId]).catch(() => {});
      }
    })();
    return this.#stopped;
  }

  /** Records the assignment and the starting lag; ready only once lag means something. */
  #onJoin(assignment: TopicPartition[]): void {
    this.#assignment = assignment;
    this.#crashed = false;
    this.#snapshotLag(assignment)
      .catch((error) => {
        console.warn(`[kafka] ${this.#options.groupId}: could not read offsets for lag: ${error}`);
      })
      .finally(() => {
        if (this.#assignment === assignment && !this.#stopping.signal.aborted) this.#ready = true;
      });
  }

  async #snapshotLag(assignment: TopicPartition[]): Promise<void> {
    const { admin, groupId, ephemeral, subscribe } = this.#options;
    const topics = [...new Set(assignment.map((tp) => tp.topic))];
    const committed = new Map<string, bigint>();
    if (!ephemeral && topics.length > 0) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
        for (const { partition, offset } of partitions) {
          if (BigInt(offset) >= 0n) committed.set(`${topic}\u0000${partition}`, BigInt(offset));
        }
      }
    }
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        const key = `${topic}\u0000${partition}`;
        const highMark = BigInt(high);
        const known = this.#highWatermarks.get(key);
        if (known === undefined || highMark > known) this.#highWatermarks.set(key, highMark);
        // Another member may have moved a partition on since this one last held it.
        const position = this.#positions.get(key);
        const commit = committed.get(key);
        if (commit !== undefined && (position === undefined || commit > position)) {
          this.#positions.set(key, commit);
        } else if (position === undefined) {
          this.#positions.set(key, ephemeral || subscribe.fromBeginning ? BigInt(low) : highMark);
        }
      }
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } =
      payload;
    const { topic, partition } = batch;
    const key = `${topic}\u0000${partition}`;
    const { maxBatchSize, ephemeral, subscribe } = this.#options;
    for (let i = 0; i < batch.messages.length; i += maxBatchSize) {
      if (!isRunning() || isStale() || this.#stopping.signal.aborted) return;
      const chunk = batch.messages.slice(i, i + maxBatchSize);
      const first = chunk[0]!.offset;
      const last = chunk[chunk.length - 1]!.offset;
      try {
        await subscribe.eachBatch({
          topic,
          partition,
          messages: chunk.map((m) => toBusMessage(topic, partition, m)),
          highWatermark: batch.highWatermark,
          heartbeat,
        });
      } catch (error) {
        this.#report(error, { topic, partition, offset: first });
        await sleep(this.#options.retryDelayMs, this.#stopping.signal);
        // A seek kept for a partition revoked meanwhile would fire when it comes back,
        // rewinding past what its next owner committed: seek only what is still ours.
        const held = this.#assignment.some((tp) =>
          tp.topic === topic && tp.partition === partition
        );
        if (held && isRunning()) this.#consumer.seek({ topic, partition, offset: first });
        return;
      }
      const next = (BigInt(last) + 1n).toString();
      resolveOffset(last);
      if (!ephemeral) {
        await commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition, offset: next }] }],
        });
      }
      this.#positions.set(key, BigInt(next));
      const high = BigInt(batch.highWatermark);
      if (high > (this.#highWatermarks.get(key) ?? -1n)) this.#highWatermarks.set(key, high);
    }
  }

  #report(error: unknown, at: { topic: string; partition: number; offset: string }): void {
    const onError = this.#options.subscribe.onError;
    try {
      if (onError) onError(error);
      else {
        console.warn(
          `[bus] handler failed on ${at.topic}/${at.partition} at offset ${at.offset}; ` +
            "delivering it again",
          error,
        );
      }
    } catch (reportError) {
      console.warn("[bus] onError threw", reportError);
    }
  }
}
