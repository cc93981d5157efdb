/**
 * lib/bus/_kafka_timers.ts on a real broker: an idle Kafka connection does not keep a timer
 * running. kafkajs 2.2.4 re-checks its pending requests from a timer that re-arms itself
 * whether or not anything is pending, about every millisecond per connection for as long as
 * the connection lives; with nothing pending there is nothing to check, and requests sent
 * after the idle time still go through.
 */
import assert from "node:assert/strict";
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import { openBus } from "../lib/bus/mod.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";

Deno.test({
  name: "kafka bus: an idle connection runs no pending-request timer; sends still go through",
  ignore: skipWithoutKafka(),
  async fn() {
    const proto = (RequestQueue as unknown as { prototype: Record<string, unknown> }).prototype;
    const check = proto.checkPendingRequests as (this: unknown) => void;
    let checks = 0;
    proto.checkPendingRequests = function (this: unknown) {
      checks++;
      return check.call(this);
    };
    const topic = `test.idle.${crypto.randomUUID().slice(0, 8)}`;
    const bus = await openBus({ brokers: kafkaBrokers()!, clientId: "test-idle" });
    try {
      await bus.ensureTopics([{ name: topic, key: "icao24", partitions: 1, config: {} }]);
      await bus.send([{ topic, messages: [{ key: "a", value: "1" }] }]);
      checks = 0;
      await new Promise((r) => setTimeout(r, 1500));
      // With the self-arming timer: hundreds per second per connection.
      assert.ok(checks < 20, `${checks} checks of pending requests in 1.5 s idle`);
      await bus.send([{ topic, messages: [{ key: "a", value: "2" }] }]);
    } finally {
      proto.checkPendingRequests = check;
      await bus.close();
    }
  },
});
