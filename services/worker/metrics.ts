/**
 * The worker's Prometheus metrics, on a registry of its own (not
 * prom-client's global one) so that the single-process stack can run every
 * service side by side.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ANOMALY_KINDS } from "../../contracts/anomaly.ts";
import type { PartitionLag } from "../../lib/bus/types.ts";

/** `processing_batch_failures_total{reason}` label values. */
const FAILURE_REASONS = ["db_down", "db_error", "publish", "deadletter", "shutting_down"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * `processing_stage_seconds_total{stage}` label values: where a batch's time
 * goes, in order. `process` is the detection engine (Kalman filter,
 * detectors, sessions), `warmup` its reads of flights_history to rebuild
 * aircraft of the batch, `sweep` finding (and rebuilding) silent ones, `alerts` the alert rules and their rows; the others
 * are the statements of the batch's transaction (writer.ts) and `commit`
 * its COMMIT; `publish` sends the events. Decoding and validating happens
 * before the handler (lib/bus/deadletter.ts) and is counted as `decode`.
 */
export const WORKER_STAGES = [
  "decode",
  "warmup",
  "sweep",
  "process",
  "partitions",
  "begin",
  "lookup",
  "copy",
  "stage",
  "merge",
  "upserts",
  "sampled",
  "current",
  "sessions",
  "anomalies",
  "events",
  "commit",
  "alerts",
  "publish",
] as const;
export type WorkerStage = (typeof WORKER_STAGES)[number];

/** Options for {@link WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Default: a new registry. */
  registry?: Registry;
  /** Read when scraped: the group's lag per partition, messages. */
  lag?: () => PartitionLag[];
  /** Read when scraped: aircraft held by the detection engines. */
  aircraft?: () => number;
}

export class WorkerMetrics {
  readonly registry: Registry;
  /** Valid flight updates in committed batches. */
  readonly processed: Counter;
  /** Events stored for the first time, by kind. */
  readonly anomalies: Counter<"kind">;
  /** Events (new or updated versions) published to flights.anomalies. */
  readonly published: Counter;
  /** Messages sent to the dead-letter topic. */
  readonly deadletters: Counter;
  /** Invalid messages whose dead letter could not be sent (after retries) and were skipped. */
  readonly deadlettersUnsent: Counter;
  /** One batch transaction (partitions, history, current, sessions, anomalies), seconds. */
  readonly dbWriteLatency: Histogram;
  /** Time spent per stage of a batch, seconds (see {@link WORKER_STAGES}). */
  readonly stageSeconds: Counter<"stage">;
  /** Valid messages per batch handled. */
  readonly batchSize: Histogram;
  /** Batches that failed and will be delivered again, by reason. */
  readonly batchFailures: Counter<"reason">;
  /** Aircraft rebuilt from flights_history (after a restart or rebalance). */
  readonly warmups: Counter;
  /** Transactions whose COPY into flights_history met stored rows and were written again. */
  readonly copyFallbacks: Counter;
  /** 1 while PostgreSQL answers, 0 during an outage. */
  readonly dbUp: Gauge;
  /** `processing_consumer_lag{topic,partition}`: high watermark minus committed offset. */
  readonly lag: Gauge<"topic" | "partition">;
  readonly aircraft: Gauge;

  constructor(options: WorkerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.processed = new Counter({
      name: "processing_messages_processed_total",
      help: "Valid flight updates written and committed",
      registers,
    });
    this.anomalies = new Counter({
      name: "processing_anomalies_detected_total",
      help: "Anomaly and session events stored for the first time, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.published = new Counter({
      name: "processing_anomalies_published_total",
      help: "Event versions (new or updated) published to flights.anomalies",
      registers,
    });
    this.deadletters = new Counter({
      name: "processing_deadletter_total",
      help: "Messages on flights.updates that failed validation and went to flights.deadletter",
      registers,
    });
    this.deadlettersUnsent = new Counter({
      name: "processing_deadletter_unsent_total",
      help: "Invalid messages skipped although their dead letter could not be sent (after retries)",
      registers,
    });
    this.dbWriteLatency = new Histogram({
      name: "processing_db_write_latency_seconds",
      help: "Duration of one batch's database transaction, seconds",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.stageSeconds = new Counter({
      name: "processing_stage_seconds_total",
      help: "Time spent per stage of the batches handled (decode, process, each statement of " +
        "the transaction, commit, alerts, publish), seconds",
      labelNames: ["stage"],
      registers,
    });
    for (const stage of WORKER_STAGES) this.stageSeconds.inc({ stage }, 0);
    this.batchSize = new Histogram({
      name: "processing_batch_size",
      help: "Valid messages per consumed batch",
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    });
    this.batchFailures = new Counter({
      name: "processing_batch_failures_total",
      help: "Batches that failed and will be delivered again, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.warmups = new Counter({
      name: "processing_warmup_aircraft_total",
      help: "Aircraft whose detector state was rebuilt from flights_history",
      registers,
    });
    this.copyFallbacks = new Counter({
      name: "processing_history_copy_fallbacks_total",
      help: "Batch transactions whose COPY straight into flights_history met a stored row, " +
        "rolled back and written again through the staging table and ON CONFLICT",
      registers,
    });
    this.dbUp = new Gauge({
      name: "processing_db_up",
      help: "1 while PostgreSQL answers, 0 during an outage",
      registers,
    });
    this.dbUp.set(1);
    // Every series from the start, so that rate() and alerts see a 0 rather than nothing.
    for (const kind of ANOMALY_KINDS) this.anomalies.inc({ kind }, 0);
    for (const reason of FAILURE_REASONS) this.batchFailures.inc({ reason }, 0);
    const lag = options.lag;
    this.lag = new Gauge({
      name: "processing_consumer_lag",
      help: "Messages on flights.updates behind the group's committed offset " +
        "(broker high watermark minus commit), per partition this worker holds",
      labelNames: ["topic", "partition"],
      registers,
      collect() {
        if (!lag) return;
        // Partitions move between members: only the ones held now are this worker's.
        this.reset();
        for (const p of lag()) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
    });
    const aircraft = options.aircraft;
    this.aircraft = new Gauge({
      name: "processing_tracked_aircraft",
      help: "Aircraft held by this worker's detection engines",
      registers,
      collect() {
        if (aircraft) this.set(aircraft());
      },
    });
  }

  /** Current value of a counter or gauge summed over series matching `labels`; 0 when never set. */
  async value(
    metric: Counter<string> | Gauge<string>,
    labels: Record<string, string> = {},
  ): Promise<number> {
    const { values } = await metric.get();
    // Summed over the matching series: the lag without labels is the lag of every partition.
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
