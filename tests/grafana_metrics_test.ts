/**
 * The Grafana dashboard against the code: every metric its queries name is
 * registered by the services' metric classes (ProducerMetrics, WorkerMetrics,
 * Freshness, HubMetrics, HttpMetrics, the alerts' metrics) on a registry, the
 * names read back from it. No Grafana or Prometheus is needed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { HubMetrics } from "../lib/hub/metrics.ts";
import { AlertDeliveryMetrics, AlertStageMetrics } from "../services/alerts/metrics.ts";
import { ProducerMetrics } from "../services/producer/metrics.ts";
import { HttpMetrics } from "../services/web/app.ts";
import { Freshness } from "../services/worker/freshness.ts";
import { WorkerMetrics } from "../services/worker/metrics.ts";
import { ROOT } from "./_task_flags.ts";

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "inf",
  "nan",
]);

/** Every metric name in a PromQL expression (histogram series as their base name). */
function promqlMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "") // label values
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ""); // label lists
  const names = new Set<string>();
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1]!.toLowerCase())) continue; // a function call or a keyword
    names.add(m[1]!.replace(/_(bucket|sum|count)$/, ""));
  }
  return [...names];
}

/** Every metric name in the dashboard's queries. */
async function dashboardMetrics(): Promise<string[]> {
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("deploy/grafana/dashboards/skysentinel.json", ROOT)),
  );
  const exprs: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "expr" && typeof value === "string") exprs.push(value);
        else visit(value);
      }
    }
  };
  visit(dashboard);
  assert.ok(exprs.length > 0, "the dashboard has no queries");
  return [...new Set(exprs.flatMap(promqlMetrics))].sort();
}

/** The names the services really register: their metric classes on one registry. */
function registeredMetrics(): Set<string> {
  const registry = new Registry();
  new ProducerMetrics({ registry });
  new WorkerMetrics({ registry });
  new Freshness({ registry });
  new HubMetrics(registry, { clients: () => 0, flights: () => 0 });
  new HttpMetrics(registry);
  new AlertStageMetrics(registry);
  new AlertDeliveryMetrics(registry);
  return new Set(registry.getMetricsAsArray().map((m) => m.name));
}

Deno.test("grafana: promqlMetrics finds the metric names of a query, not functions or labels", () => {
  assert.deepEqual(
    promqlMetrics(
      'histogram_quantile(0.99, sum by (le) (rate(hub_tick_duration_seconds_bucket{job="web"}[1m])))',
    ),
    ["hub_tick_duration_seconds"],
  );
  assert.deepEqual(promqlMetrics("processing_consumer_lag > on (topic) group_left up").sort(), [
    "processing_consumer_lag",
    "up",
  ]);
});

Deno.test("grafana: every metric on the Grafana dashboard is registered by a service", async () => {
  const registered = registeredMetrics();
  const wanted = await dashboardMetrics();
  assert.ok(wanted.length >= 10, `the dashboard queries ${wanted.length} metrics`);
  const missing = wanted.filter((name) => !registered.has(name));
  assert.deepEqual(
    missing,
    [],
    `dashboard queries metrics no service registers: ${missing} ` +
      "(a new metric class? add it to registeredMetrics())",
  );
});
