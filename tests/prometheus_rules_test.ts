/**
 * The compose stack's Prometheus alert rules (deploy/prometheus_rules.yml):
 * valid for promtool, loaded by the Prometheus config, firing as the unit
 * tests in tests/prometheus_rules.test.yml say (a stopped producer: stale
 * data; a lagging group), and written against metric names the worker
 * really exports.
 *
 * promtool comes with Debian's `prometheus` package (`.ci/run` installs it
 * when missing). Without it the test is skipped locally and fails in CI.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { parse } from "yaml";
import { Freshness } from "../services/worker/freshness.ts";
import { WorkerMetrics } from "../services/worker/metrics.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function promtool(): Promise<string | null> {
  for (const path of ["/usr/bin/promtool", "/usr/local/bin/promtool"]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* next */ }
  }
  return null;
}

const tool = await promtool();
const ci = Deno.env.get("CI") === "true";

async function run(args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(tool!, { args, cwd }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

Deno.test({
  name: "prometheus rules: promtool checks them and their unit tests pass",
  ignore: tool === null && !ci,
  async fn() {
    assert.ok(tool, "promtool is missing: apt-get install prometheus");
    const check = await run(["check", "rules", "deploy/prometheus_rules.yml"]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: 3 rules found/);

    const test = await run(["test", "rules", "tests/prometheus_rules.test.yml"]);
    assert.equal(test.code, 0, test.out);
    assert.match(test.out, /SUCCESS/);

    // The compose config loads the file (at its path in the container).
    const dir = await Deno.makeTempDir({ prefix: "skysentinel-prom-" });
    try {
      const config = await Deno.readTextFile(`${ROOT}deploy/prometheus.yml`);
      assert.match(config, /\/etc\/prometheus\/prometheus_rules\.yml/);
      await Deno.copyFile(`${ROOT}deploy/prometheus_rules.yml`, `${dir}/prometheus_rules.yml`);
      await Deno.writeTextFile(
        `${dir}/prometheus.yml`,
        config.replace("/etc/prometheus/prometheus_rules.yml", `${dir}/prometheus_rules.yml`),
      );
      const loaded = await run(["check", "config", `${dir}/prometheus.yml`]);
      assert.equal(loaded.code, 0, loaded.out);
      assert.match(loaded.out, /SUCCESS: 3 rules found/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const compose = await Deno.readTextFile(`${ROOT}compose.yaml`);
    assert.match(compose, /deploy\/prometheus_rules\.yml:\/etc\/prometheus\/prometheus_rules\.yml/);
  },
});

Deno.test("prometheus rules: they use metric names the worker exports", async () => {
  const rules = parse(await Deno.readTextFile(`${ROOT}deploy/prometheus_rules.yml`)) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const exprs = new Map(rules.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr])));
  const registry = new Registry();
  new WorkerMetrics({ registry, lag: () => 0 });
  const freshness = new Freshness({ registry, now: () => 120_000 });
  freshness.written(new Map([["opensky", 30]]));
  const exported = await registry.metrics();
  for (
    const [alert, metric, threshold] of [
      ["SkySentinelDataStale", "processing_freshness_seconds", "60"],
      ["SkySentinelConsumerLag", "processing_consumer_lag", "10000"],
    ] as const
  ) {
    const expr = exprs.get(alert);
    assert.ok(expr, `${alert} is defined`);
    assert.ok(expr.includes(metric), `${alert} reads ${metric}`);
    assert.match(expr, new RegExp(`> ${threshold}$`));
    assert.match(exported, new RegExp(`^# TYPE ${metric} gauge$`, "m"), `${metric} is exported`);
  }
  assert.match(exported, /^processing_freshness_seconds\{source="opensky"\} 90$/m);
});
