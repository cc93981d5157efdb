/**
 * Alert metrics (issue #13), on the registry of the process that runs them:
 * the worker's evaluation (`AlertStageMetrics`) and the delivery service's
 * webhooks and ntfy notifications (`AlertDeliveryMetrics`). In the
 * single-process stack both share one registry.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The worker's side: rules loaded and alerts fired. */
export class AlertStageMetrics {
  /** `alerts_rules_loaded{state="active"|"muted"}`: rules the evaluator holds. */
  readonly rules: Gauge<"state">;
  /** `alerts_fired_total{kind,trigger}`: alert events fired (stored and published once each). */
  readonly fired: Counter<"kind" | "trigger">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rules = new Gauge({
      name: "alerts_rules_loaded",
      help: "Alert rules loaded by the worker's evaluator, by state (active, muted)",
      labelNames: ["state"],
      registers,
    });
    this.fired = new Counter({
      name: "alerts_fired_total",
      help: "Alert events fired, by rule kind and trigger (enter, leave, squawk, seen, ...)",
      labelNames: ["kind", "trigger"],
      registers,
    });
  }
}

/** Final outcome of one alert at one target. */
export type DeliveryOutcome = "ok" | "dead_lettered";

/** The delivery service's side. */
export class AlertDeliveryMetrics {
  /** `alerts_deliveries_total{target,outcome}`: per alert and target, ok or dead-lettered. */
  readonly deliveries: Counter<"target" | "outcome">;
  /** `alerts_delivery_attempts_total{target,result}`: HTTP tries; failed ones are retried. */
  readonly attempts: Counter<"target" | "result">;
  /** `alerts_delivery_latency_seconds{target}`: alert published to the target's 2xx, s. */
  readonly latency: Histogram<"target">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: "alerts_deliveries_total",
      help: "Alerts delivered (ok) or dead-lettered after the last try or a refusal, by target",
      labelNames: ["target", "outcome"],
      registers,
    });
    this.attempts = new Counter({
      name: "alerts_delivery_attempts_total",
      help: "Webhook and ntfy HTTP tries, by target and result (ok, failed)",
      labelNames: ["target", "result"],
      registers,
    });
    this.latency = new Histogram({
      name: "alerts_delivery_latency_seconds",
      help: "From the alert's publication on flights.alerts to the target's 2xx answer, seconds",
      labelNames: ["target"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
  }
}
