/**
 * The hub forwards alert events from the alerts topic to every WebSocket
 * client as `{type: "alert", event}`, in JSON, MessagePack and v2.bin
 * (carried generically), once per id even when a version is republished;
 * alerts published long before the hub started are not replayed.
 * On the memory bus and on the real Kafka broker.
 */
import assert from "node:assert/strict";
import type { AlertEvent } from "../contracts/alerts.ts";
import { TOPICS } from "../contracts/topics.ts";
import { BINARY_SUBPROTOCOL, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL } from "../contracts/ws.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus } from "../lib/bus/types.ts";
import { startBusSource } from "../services/web/hub_sources.ts";
import { connect, serveHub } from "./_hub_harness.ts";
import { recordedFlights } from "./_recordings.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";
import { EZY158T, LFBO, rule } from "./_alerts.ts";

const ezy = await recordedFlights(EZY158T);
const lfbo = rule("rule_00000000000000a1", {
  name: "Toulouse below 1000 m",
  kind: "geofence",
  geofence: { center: LFBO, radius_m: 8000 },
  max_altitude_m: 1000,
});
const alerts: AlertEvent[] = (() => {
  const ev = new AlertEvaluator([lfbo]);
  return ezy.flatMap((f) => ev.update(f));
})();

async function forwards(bus: Bus) {
  const run = crypto.randomUUID().slice(0, 8);
  const topics = {
    state: `test.alerts.hub.${run}.state`,
    anomalies: `test.alerts.hub.${run}.anomalies`,
    deadletter: `test.alerts.hub.${run}.deadletter`,
    alerts: `test.alerts.hub.${run}.alerts`,
  };
  await bus.ensureTopics([
    { ...TOPICS.state, name: topics.state },
    { ...TOPICS.anomalies, name: topics.anomalies },
    { ...TOPICS.deadletter, name: topics.deadletter },
    { ...TOPICS.alerts, name: topics.alerts },
  ]);
  const served = serveHub();
  const source = await startBusSource(served.hub, bus, {
    anomalyWindowHours: 24,
    topics,
    readinessPollMs: 20,
    logger: { info() {}, warn() {} },
  });
  try {
    const clients = await Promise.all(
      [JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, BINARY_SUBPROTOCOL].map((p) =>
        connect(served.url, [p])
      ),
    );
    const send = (events: AlertEvent[]) =>
      bus.send([{
        topic: topics.alerts,
        messages: events.map((e) => ({ key: e.icao24, value: JSON.stringify(e) })),
      }]);
    await send([alerts[0]!, alerts[0]!]); // a republished version: shown once
    await send([alerts[1]!]);
    for (const client of clients) {
      const first = await client.next("alert");
      const second = await client.next("alert");
      assert.deepEqual(first.event, alerts[0]);
      assert.deepEqual(second.event, alerts[1]);
      assert.equal(client.received.filter((m) => m.type === "alert").length, 2);
      assert.deepEqual(client.violations, []);
      client.socket.close();
    }
  } finally {
    await source.stop();
    await served.close();
  }
}

Deno.test("alerts/hub: alert events reach every client once, in every encoding (memory bus)", async () => {
  assert.equal(alerts.length, 2);
  const bus = new MemoryBus();
  try {
    await forwards(bus);
  } finally {
    await bus.close();
  }
});

Deno.test({
  name: "alerts/hub: alert events reach every client once, in every encoding (Kafka)",
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: `test-alerts-hub` });
    try {
      await forwards(bus);
    } finally {
      await bus.close();
    }
  },
});
