/**
 * The producer's Prometheus metrics, on a registry of its own (not
 * prom-client's global one), so that several services can run in one
 * process (`deno task up`) without name clashes.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** `producer_polls_total{status}` label values. */
export type PollStatus = "ok" | "error" | "rate_limited";

export class ProducerMetrics {
  readonly registry: Registry;
  /** Polls (live, record) or replay steps, by outcome. */
  readonly polls: Counter<"status">;
  /** Time of one OpenSky request including its body, seconds. */
  readonly pollLatency: Histogram;
  /** Messages published, by topic. */
  readonly published: Counter<"topic">;
  /** Failed or unusable OpenSky replies, by type (timeout, http_5xx, bad_json, ...). */
  readonly apiErrors: Counter<"type">;
  /** Rows and replies sent to the dead-letter topic. */
  readonly deadletter: Counter;
  /** OpenSky credits left today (`X-Rate-Limit-Remaining`); NaN until a reply carries it (and in replay). */
  readonly creditsRemaining: Gauge;
  /** Aircraft with a valid row in the latest snapshot (replay: summed over recordings). */
  readonly currentFlights: Gauge;
  /** Messages held in memory because the broker did not take them (yet). */
  readonly held: Gauge;
  /** Messages given up, by reason: `hold_full`, `refused` (by the broker), `shutdown`. */
  readonly dropped: Counter<"reason">;

  constructor(options: { registry?: Registry } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.polls = new Counter({
      name: "producer_polls_total",
      help: "OpenSky polls (replay: steps), by status",
      labelNames: ["status"],
      registers,
    });
    this.pollLatency = new Histogram({
      name: "producer_poll_latency_seconds",
      help: "Duration of one OpenSky /states/all request including the body, seconds",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
      registers,
    });
    this.published = new Counter({
      name: "producer_flights_published_total",
      help: "Messages published, by topic",
      labelNames: ["topic"],
      registers,
    });
    this.apiErrors = new Counter({
      name: "producer_api_errors_total",
      help: "Failed or unusable OpenSky replies, by type",
      labelNames: ["type"],
      registers,
    });
    this.deadletter = new Counter({
      name: "producer_deadletter_total",
      help: "Rows, replies and recording lines sent to the dead-letter topic",
      registers,
    });
    this.creditsRemaining = new Gauge({
      name: "producer_credits_remaining",
      help: "OpenSky API credits left today (X-Rate-Limit-Remaining); NaN while unknown",
      registers,
    });
    // Unknown is not zero: a 0 would read as "out of credits" on a dashboard.
    this.creditsRemaining.set(NaN);
    this.held = new Gauge({
      name: "producer_held_messages",
      help: "Messages held in memory while the broker does not take them",
      registers,
    });
    this.dropped = new Counter({
      name: "producer_dropped_messages_total",
      help: "Messages given up: hold_full (memory bound), refused (by the broker), shutdown",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["hold_full", "refused", "shutdown"]) this.dropped.inc({ reason }, 0);
    this.currentFlights = new Gauge({
      name: "producer_current_flights",
      help: "Aircraft with a valid state vector in the latest snapshot",
      registers,
    });
  }

  /** Current value of a counter or gauge (tests, logs); 0 when never set. */
  async value(
    metric: Counter<string> | Gauge<string>,
    labels: Record<string, string> = {},
  ): Promise<number> {
    const { values } = await metric.get();
    const found = values.find((v) =>
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)
    );
    return found?.value ?? 0;
  }
}
