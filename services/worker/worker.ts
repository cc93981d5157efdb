/**
 * The worker as a library: `startWorker` consumes `flights.updates` in a
 * consumer group, runs the detection engine (Kalman smoothing, detectors,
 * sessions), writes each batch in one transaction, publishes the new or
 * updated events to `flights.anomalies`, and only then lets the bus commit
 * the batch's offsets. `main.ts` wires it for standalone use; the
 * single-process stack runs it in-process on a shared MemoryBus and the
 * embedded database.
 *
 * Delivery: a batch is durable (database transaction committed, events
 * published) before its offsets are committed. Any failure on the way
 * throws, and the bus delivers the batch again: at-least-once, made
 * effectively-once in the database by idempotent writes (writer.ts) and a
 * deterministic engine whose per-partition state survives redeliveries,
 * restarts and rebalances (processor.ts). Events may be published more than
 * once; consumers keep the last version per id.
 *
 * PostgreSQL down: the batch fails, the worker logs it once per outage,
 * sets `processing_db_up` to 0 and waits (exponential backoff up to
 * `backoff.maxMs`, heartbeating the group meanwhile) before letting the bus
 * redeliver; the first batch that commits again ends the outage. A failure
 * while the database answers (a statement error) is logged on every retry:
 * it will not heal by itself.
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { FlightUpdateEnvelope } from "../../contracts/flight.ts";
import { TOPICS, type TopicSpec } from "../../contracts/topics.ts";
import { sleep } from "../../lib/async.ts";
import { subscribeValidated, type ValidatedMessage } from "../../lib/bus/deadletter.ts";
import { checkFlightUpdateEnvelope } from "../../contracts/flight_check.ts";
import type { Bus, BusBatch, BusSubscription } from "../../lib/bus/types.ts";
import type { WorkerConfig } from "../../lib/config.ts";
import type { Database } from "../../lib/db/mod.ts";
import { createRunwayIndex, parseRunwaysCsv, type RunwayIndex } from "../../lib/detect/runways.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { createHistorySource } from "./history_source.ts";
import { Freshness, newestBySource } from "./freshness.ts";
import { startRetention } from "./retention.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { type FailureReason, WorkerMetrics, type WorkerStage } from "./metrics.ts";
import { DatabaseOutage, message } from "./outage.ts";
import { type ItemOutput, type ProcessItem, Processor } from "./processor.ts";
import { type AlertStage, startAlertStage } from "./alerts.ts";
import { BatchWriter, type WriteBatch, type WriteResult } from "./writer.ts";

export { WorkerMetrics } from "./metrics.ts";

/** The topics a worker reads and writes; injectable so that tests can use their own. */
export interface WorkerTopics {
  updates: string;
  anomalies: string;
  deadletter: string;
  /** Alert events (default flights.alerts). */
  alerts?: string;
}

export const DEFAULT_WORKER_TOPICS: Readonly<WorkerTopics> = Object.freeze({
  updates: TOPICS.updates.name,
  anomalies: TOPICS.anomalies.name,
  deadletter: TOPICS.deadletter.name,
  alerts: TOPICS.alerts.name,
});

/** Retry delays after a failed batch. */
export interface BackoffOptions {
  /** First delay, ms. Default 250. */
  initialMs?: number;
  /** Longest delay, ms. Default 30,000. */
  maxMs?: number;
}

/** Options for {@link startWorker}. */
export interface StartWorkerOptions {
  /**
   * WORKER_GROUP_ID and LOG_LEVEL are read from it; batch size and partition
   * concurrency when given; the retention job runs only when
   * HISTORY_RETENTION_DAYS is given (tests leave it out).
   */
  config:
    & Pick<WorkerConfig, "WORKER_GROUP_ID" | "LOG_LEVEL">
    & Partial<Pick<WorkerConfig, HistoryConfigKeys>>;
  /** The bus; the caller owns it (and closes it after `stop()`). */
  bus: Bus;
  /** The database, migrated; the caller owns it (and closes it after `stop()`). */
  db: Pick<Database, "sql"> & Partial<Pick<Database, "kind">>;
  /** Text of the OurAirports runways CSV (RUNWAYS_FILE). Give this or `runways`. */
  runwaysCsv?: string;
  /** Runway index already built (saves parsing the CSV again). */
  runways?: RunwayIndex;
  /** Topic names; default the contract's. */
  topics?: Partial<WorkerTopics>;
  /** Registry for the metrics. Default: a new one. */
  registry?: Registry;
  /** Default: a stderr logger at LOG_LEVEL. */
  log?: Logger;
  /** Create the worker's topics on the bus first. Default true. */
  ensureTopics?: boolean;
  /** Where a new consumer group starts. Default true: the whole retained backlog. */
  fromBeginning?: boolean;
  /**
   * Partition count of the updates topic, for finding the silent aircraft of
   * a partition after a restart; null turns that sweep off. Default the
   * contract's count.
   */
  partitions?: number | null;
  /** Longest track replayed to rebuild an aircraft, s. Default 6 h. */
  warmupMaxS?: number;
  backoff?: BackoffOptions;
  /** How often the database is probed during an outage, ms. Default 5,000. */
  probeIntervalMs?: number;
  /** Evaluate alert rules (services/worker/alerts.ts). Default true. */
  alerts?: boolean;
  /**
   * `health()` reports `degraded` while the newest position written is older
   * than 60 s or the lag exceeds 10,000 messages (freshness.ts). Default
   * false (recordings with their original times would always be stale);
   * main.ts and the stack turn it on.
   */
  degradeOnStaleData?: boolean;
  /** Wall clock of the freshness metrics, unix ms (tests). Default `Date.now`. */
  now?: () => number;
}

type HistoryConfigKeys =
  | "WORKER_BATCH_SIZE"
  | "WORKER_PARTITION_CONCURRENCY"
  | "HISTORY_RETENTION_DAYS"
  | "HISTORY_SAMPLED_RETENTION_DAYS";

/** `/healthz` verdict. */
export interface WorkerHealth {
  ok: boolean;
  /** Why not, or `ok`; when degraded, why (stale data, lag). */
  reason: string;
  /** Serving, but the data is stale or the lag too high (freshness.ts). */
  degraded?: boolean;
}

/** A running worker. */
export interface WorkerHandle {
  readonly metrics: WorkerMetrics;
  readonly topics: Readonly<WorkerTopics>;
  /** Healthy: bus up, subscription ready, database answering. */
  health(): Promise<WorkerHealth>;
  /**
   * Stops intake: waits for the batch in flight (which commits, or is
   * abandoned uncommitted if it was waiting out an outage) and leaves the
   * group. Does not close the bus or the database. Idempotent.
   */
  stop(): Promise<void>;
}

/** Most updates per batch on the embedded database (see the subscription below). */
const EMBEDDED_MAX_BATCH = 250;
/**
 * Longest a write transaction should hold the embedded database's one
 * connection, ms (writer.ts splits a batch to fit): what a history API
 * request may wait behind the writer, about.
 */
const EMBEDDED_TRANSACTION_MS = 30;
/** Heartbeat period while a batch waits out a backoff, ms. */
const HEARTBEAT_MS = 3_000;

/** Starts consuming; resolves once subscribed. */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const topics: WorkerTopics = { ...DEFAULT_WORKER_TOPICS, ...options.topics };
  const log = options.log ?? createLogger({ level: options.config.LOG_LEVEL, name: "worker" });
  const { bus } = options;
  const sql = options.db.sql;
  const runways = options.runways ?? runwayIndex(options.runwaysCsv);

  // Set once subscribed; read by closures (lag, assignments, health) that may run before.
  const consumer: { subscription?: BusSubscription } = {};
  const processor = new Processor({
    runways,
    history: createHistorySource(sql),
    partitions: options.partitions === undefined ? TOPICS.updates.partitions : options.partitions,
    warmupMaxS: options.warmupMaxS,
    onSweepDisabled: (reason) =>
      log.warn(`not sweeping for silent aircraft after restarts: ${reason}`, {
        topic: topics.updates,
      }),
  });
  const metrics = new WorkerMetrics({
    registry: options.registry,
    lag: () => consumer.subscription?.lagByPartition?.() ?? [],
    aircraft: () => processor.aircraft,
  });
  const stage = (name: WorkerStage, seconds: number) =>
    metrics.stageSeconds.inc({ stage: name }, seconds);
  const writer = new BatchWriter(sql, {
    onStage: stage,
    // The history API shares the embedded database's one connection: short transactions.
    transactionBudgetMs: options.db.kind === "embedded" ? EMBEDDED_TRANSACTION_MS : undefined,
  });
  const freshness = new Freshness({ registry: metrics.registry, now: options.now });
  const { HISTORY_RETENTION_DAYS: fineDays, HISTORY_SAMPLED_RETENTION_DAYS: sampledDays } =
    options.config;
  const retention = fineDays === undefined ? undefined : startRetention(sql, {
    fineDays,
    sampledDays: sampledDays ?? 365,
    log,
  });
  const stopping = new AbortController();

  const outage = new DatabaseOutage({
    ping: () => sql`SELECT 1`,
    gauge: metrics.dbUp,
    log,
    initialMs: options.backoff?.initialMs,
    maxMs: options.backoff?.maxMs,
    probeIntervalMs: options.probeIntervalMs,
  });
  /** Errors the handler logged and counted itself before throwing them to the bus. */
  const handled = new WeakSet<object>();
  const rethrow = (error: unknown): never => {
    if (typeof error === "object" && error !== null) handled.add(error);
    throw error;
  };

  /** Logs, counts and waits before the bus may deliver the batch again. */
  const failed = async (reason: FailureReason, error: unknown, batch: BusBatch) => {
    metrics.batchFailures.inc({ reason });
    const delay = outage.nextDelayMs();
    const where = {
      topic: batch.topic,
      partition: batch.partition,
      offset: batch.messages[0]?.offset,
      retry_in_ms: delay,
    };
    if (reason === "db_error") log.error(`writing a batch failed: ${message(error)}`, where);
    else if (reason === "publish") {
      log.warn(`publishing anomalies failed: ${message(error)}`, where);
    } else if (reason === "db_down") log.debug("batch held: database down", where);
    await sleep(delay, stopping.signal, {
      onHeartbeat: () => batch.heartbeat(),
      heartbeatMs: HEARTBEAT_MS,
    });
  };

  const handle = async (items: ValidatedMessage<FlightUpdateEnvelope>[], batch: BusBatch) => {
    // Free the state of partitions moved to other members (a view without this batch's
    // partition is not up to date yet: keep everything then).
    const assigned = consumer.subscription?.assignments?.();
    if (assigned?.some((a) => a.topic === batch.topic && a.partition === batch.partition)) {
      processor.retain(assigned);
      alerts?.retain(assigned);
      writer.retain(assigned.map((a) => writerScope(a.topic, a.partition)));
    }
    const scope = writerScope(batch.topic, batch.partition);
    const first = batch.messages[0]!.offset;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    const input: ProcessItem[] = items.map((i) => ({
      offset: i.message.offset,
      flight: i.value.payload,
    }));
    let result: WriteResult;
    let alerted: AlertEvent[] = [];
    try {
      if (stopping.signal.aborted) {
        throw new SkySentinelError("shutting_down", "worker stopping: batch left uncommitted");
      }
      let mark = performance.now();
      const processed = await processor.process(
        { topic: batch.topic, partition: batch.partition, firstOffset: first },
        input,
      );
      if (processed.reset) {
        // Someone else wrote this partition's aircraft meanwhile.
        writer.forget(scope);
        log.info("partition continued elsewhere meanwhile: rebuilding its state", {
          topic: batch.topic,
          partition: batch.partition,
          offset: first,
        });
      }
      if (processed.warmedUp > 0) {
        metrics.warmups.inc(processed.warmedUp);
        log.debug("rebuilt aircraft from history", {
          partition: batch.partition,
          aircraft: processed.warmedUp,
          rows: processed.warmupRows,
        });
      }
      const started = performance.now();
      stage("warmup", processed.readSeconds);
      stage("sweep", processed.sweepSeconds);
      stage("process", (started - mark) / 1000 - processed.readSeconds - processed.sweepSeconds);
      result = await writer.write(toWriteBatch(processed.outputs), {
        scope,
        current: processed.stored,
      });
      if (result.copyFallbacks > 0) {
        metrics.copyFallbacks.inc(result.copyFallbacks);
        log.info("the COPY into flights_history met stored rows: written again with ON CONFLICT", {
          topic: batch.topic,
          partition: batch.partition,
          offset: first,
        });
      }
      mark = performance.now();
      metrics.dbWriteLatency.observe((mark - started) / 1000);
      alerted = (await alerts?.store(
        { topic: batch.topic, partition: batch.partition, firstOffset: first },
        input,
        processed.outputs,
      )) ?? [];
      stage("alerts", (performance.now() - mark) / 1000);
      outage.markUp();
    } catch (error) {
      if (error instanceof SkySentinelError && error.code === "shutting_down") {
        metrics.batchFailures.inc({ reason: "shutting_down" });
        return rethrow(error);
      }
      const up = await outage.probe();
      if (!up) outage.markDown(error);
      await failed(up ? "db_error" : "db_down", error, batch);
      return rethrow(error);
    }
    try {
      const mark = performance.now();
      await publish(bus, topics.anomalies, result.anomalies);
      await alerts?.publish(alerted);
      stage("publish", (performance.now() - mark) / 1000);
    } catch (error) {
      await failed("publish", error, batch);
      return rethrow(error);
    }
    outage.succeeded();
    freshness.written(newestBySource(items.map((i) => i.value)));
    processor.committed({ topic: batch.topic, partition: batch.partition, lastOffset: last });
    alerts?.committed({ topic: batch.topic, partition: batch.partition, lastOffset: last });
    metrics.processed.inc(items.length);
    metrics.batchSize.observe(items.length);
    metrics.published.inc(result.anomalies.length);
    for (const { kind } of result.newAnomalies) metrics.anomalies.inc({ kind });
  };

  if (options.ensureTopics ?? true) await bus.ensureTopics(topicSpecs(topics));
  const alerts: AlertStage | null = options.alerts === false ? null : await startAlertStage({
    sql,
    bus,
    topic: topics.alerts ?? TOPICS.alerts.name,
    log,
    registry: metrics.registry,
  });
  consumer.subscription = await subscribeValidated(bus, {
    source: "worker",
    schema: FlightUpdateEnvelope,
    // zod's safeParse was a fifth of the worker's time; zod still decides what this rejects.
    check: checkFlightUpdateEnvelope,
    topic: topics.updates,
    groupId: options.config.WORKER_GROUP_ID,
    fromBeginning: options.fromBeginning ?? true,
    deadletterTopic: topics.deadletter,
    // The embedded database has one connection that the history API shares: small batches
    // keep a request from waiting long behind a write transaction.
    maxBatchSize: options.db.kind === "embedded"
      ? Math.min(EMBEDDED_MAX_BATCH, options.config.WORKER_BATCH_SIZE ?? EMBEDDED_MAX_BATCH)
      : options.config.WORKER_BATCH_SIZE,
    concurrency: options.config.WORKER_PARTITION_CONCURRENCY,
    onDecoded: (seconds) => stage("decode", seconds),
    handle,
    onError: (error) => {
      // The handler's own failures were logged and counted already (the bus would print a
      // stack per retry); what is left failed before it ran: sending dead letters.
      if (typeof error === "object" && error !== null && handled.has(error)) return;
      metrics.batchFailures.inc({ reason: "deadletter" });
      log.warn(`sending dead letters failed; the batch will be delivered again: ${message(error)}`);
    },
    onDeadLetter: (record) => {
      metrics.deadletters.inc();
      log.warn("dead-lettered an invalid update", { key: record.key, reason: record.reason });
    },
    onDeadLetterUnsent: (record, error) => {
      metrics.deadlettersUnsent.inc();
      log.error(`could not send a dead letter; the invalid update is skipped: ${message(error)}`, {
        key: record.key,
        bytes: record.raw_bytes,
        sha256: record.raw_sha256,
        reason: record.reason,
      });
    },
  });
  log.info("consuming", {
    topic: topics.updates,
    group: options.config.WORKER_GROUP_ID,
    bus: bus.kind,
  });

  let stopped: Promise<void> | undefined;
  return {
    metrics,
    topics,
    async health() {
      if (stopping.signal.aborted) return { ok: false, reason: "stopping" };
      if (!bus.healthy()) return { ok: false, reason: `${bus.kind} bus unhealthy` };
      if (!consumer.subscription?.ready) {
        return { ok: false, reason: "consumer not ready (joining group)" };
      }
      if (!outage.up) return { ok: false, reason: "database unreachable" };
      if (!(await outage.probe())) return { ok: false, reason: "database does not answer" };
      const degraded = options.degradeOnStaleData &&
        freshness.degraded(consumer.subscription.lag());
      if (degraded) return { ok: true, degraded: true, reason: degraded };
      return { ok: true, reason: "ok" };
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        outage.stop();
        alerts?.stop();
        await retention?.stop();
        await consumer.subscription?.stop();
        log.info("stopped consuming", { group: options.config.WORKER_GROUP_ID });
      })();
      return stopped;
    },
  };
}

/** The writer's scope of a partition: its aircraft are written by whoever holds it. */
function writerScope(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function runwayIndex(csv: string | undefined): RunwayIndex {
  if (csv === undefined) throw new TypeError("startWorker: give runwaysCsv or runways");
  return createRunwayIndex(parseRunwaysCsv(csv).ends);
}

function topicSpecs(topics: WorkerTopics): TopicSpec[] {
  return [
    { ...TOPICS.updates, name: topics.updates },
    { ...TOPICS.anomalies, name: topics.anomalies },
    { ...TOPICS.deadletter, name: topics.deadletter },
    { ...TOPICS.alerts, name: topics.alerts ?? TOPICS.alerts.name },
  ];
}

/** Merges the outputs of a batch's messages into one transaction's rows. */
function toWriteBatch(outputs: readonly ItemOutput[]): WriteBatch {
  const batch: WriteBatch = { history: [], sessions: [], anomalies: [] };
  for (const out of outputs) {
    batch.history.push(out.history);
    for (const session of out.sessions) batch.sessions.push(session);
    for (const event of out.events) batch.anomalies.push(event);
  }
  return batch;
}

async function publish(bus: Bus, topic: string, events: readonly AnomalyEvent[]): Promise<void> {
  if (events.length === 0) return;
  await bus.send([{
    topic,
    messages: events.map((e) => ({ key: e.icao24, value: JSON.stringify(e) })),
  }]);
}
