/**
 * Plumbing of `deno task load` (bench/hub_load.ts), not its figures: a tiny
 * run (50 derived aircraft, 5 clients over two load processes, a baseline
 * phase and a relay phase, on 127.0.0.1) must produce its tables with
 * non-zero counts. Timing is never asserted: a load run is a benchmark.
 */
import assert from "node:assert/strict";
import { parseLoadOptions, runLoad } from "../bench/hub_load.ts";

Deno.test({
  name: "load harness: a tiny run prints the hub, baseline and relay tables with counts",
  // Subprocesses and their pipes outlive single awaits; every one is waited for by runLoad.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const options = parseLoadOptions(
      ["--aircraft=50", "--clients=5", "--probes=2", "--seconds=3", "--warmup=1", "--profiles=1"],
      { LOAD_PROCESSES: "2" },
    );
    assert.equal(options.processes, 2, "env sizes apply when no flag is given");
    const result = await runLoad(options, () => {});
    assert.match(result.text, /\| encoding \| clients \(world\) \|/);
    const [hub, baseline] = result.phases;
    assert.ok(hub && baseline, "a hub phase and a baseline phase");
    const clients = hub.rows.reduce((n, r) => n + r.clients, 0);
    assert.equal(clients, 5);
    assert.equal(hub.rows.reduce((n, r) => n + r.failed, 0), 0, "every client connected");
    assert.ok(hub.rows.some((r) => r.probeUpdates > 0), "probes measured ingest-to-receive");
    assert.ok(hub.rows.every((r) => r.bytesPerClientS > 0), "clients received bytes");
    assert.ok(hub.rows.some((r) => Number.isFinite(r.tickP50)), "header clients read frame heads");
    assert.ok(hub.server.rssMb > 0 && hub.server.cpuPercent >= 0, "server figures read");
    assert.equal(baseline.rows[0]?.label, "tar1090 poll (zstd)");
    assert.ok(baseline.rows[0]!.probeUpdates > 0, "baseline probes decoded zstd tiles");
    assert.ok(baseline.rows[0]!.bytesPerClientS > 0);
    assert.equal(result.relay.length, 3);
    assert.ok(result.relay.every((r) => r.updates > 0), "probes on the upstream and both relays");
  },
});
