/**
 * The worker's alert stage across a rebalance, on real PostgreSQL:
 * worker A evaluates EZY158T's track up to its first approach (inside the
 * Toulouse circle) and commits; the partition moves to worker B, which
 * carries on from A's stored state through the go-around and away; then
 * it moves back to A, whose memory still says "inside". A must see that
 * the partition went on elsewhere (the batch does not start at the offset
 * it committed last), drop that memory and read B's state back, so that
 * the second approach enters again exactly as one uninterrupted evaluation
 * fires it. A partition revoked and reassigned is read back the same way.
 */
import assert from "node:assert/strict";
import { AlertRuleInput } from "../contracts/alerts.ts";
import type { Flight } from "../contracts/flight.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { silentLogger } from "../lib/log.ts";
import { createRule, loadRules } from "../services/alerts/store.ts";
import { type AlertStage, startAlertStage } from "../services/worker/alerts.ts";
import type { ItemOutput } from "../services/worker/processor.ts";
import { freshPostgres } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { EZY158T, LFBO } from "./_alerts.ts";

const TOPIC = "updates";
const at = (unixS: number) => (f: Flight) => f.time_position_unix >= unixS;

Deno.test({
  name: "alerts/stage: a partition processed elsewhere meanwhile is read back from alert_state",
  ignore: skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ezy = await recordedFlights(EZY158T);
    // Inside on the first approach; outside between the approaches; the second approach.
    const firstIn = ezy.findIndex(at(Date.UTC(2017, 1, 5, 16, 7) / 1000));
    const between = ezy.findIndex(at(Date.UTC(2017, 1, 5, 16, 15) / 1000));
    assert.ok(firstIn > 0 && between > firstIn);
    const db = await freshPostgres({ migrate: true });
    const bus = new MemoryBus();
    const stages: AlertStage[] = [];
    try {
      await createRule(
        db.sql,
        AlertRuleInput.parse({
          name: "LFBO below 1000 m",
          kind: "geofence",
          geofence: { center: LFBO, radius_m: 8000 },
          max_altitude_m: 1000,
          on: ["enter", "leave"],
          cooldown_s: 0,
        }),
      );
      const reference = new AlertEvaluator(await loadRules(db.sql));
      const expected = ezy.flatMap((f) => reference.update(f)).map((a) => a.id);
      assert.ok(expected.length >= 4, "two approaches in and out");

      const start = async () => {
        const s = await startAlertStage({ sql: db.sql, bus, topic: "alerts", log: silentLogger });
        stages.push(s);
        return s;
      };
      /** Runs flights[from, to) as one batch of partition 0 at their indices as offsets. */
      const run = async (stage: AlertStage, from: number, to: number) => {
        const items = ezy.slice(from, to).map((flight, i) => ({
          offset: String(from + i),
          flight,
        }));
        const outputs = items.map(() => ({ events: [] }) as unknown as ItemOutput);
        const alerts = await stage.store(
          { topic: TOPIC, partition: 0, firstOffset: String(from) },
          items,
          outputs,
        );
        stage.committed({ topic: TOPIC, partition: 0, lastOffset: String(to - 1) });
        return alerts.map((a) => a.id);
      };

      const a = await start();
      const b = await start();
      const got = [
        ...await run(a, 0, firstIn),
        ...await run(b, firstIn, between),
        ...await run(a, between, ezy.length),
      ];
      assert.deepEqual(got, expected);

      // Revoked, then assigned again after another worker went on: the same (from scratch).
      await db.sql`DELETE FROM alert_state`;
      const c = await start();
      const d = await start();
      const again = [...await run(c, 0, firstIn)];
      c.retain([]);
      again.push(...await run(d, firstIn, between));
      again.push(...await run(c, between, ezy.length));
      assert.deepEqual(again, expected);
    } finally {
      for (const s of stages) s.stop();
      await bus.close();
      await db.close();
    }
  },
});
