/**
 * A broker restart during a replay loses nothing (issue #14): on a PRIVATE Kafka
 * (scripts/services.sh with a folder and ports of its own, never the shared broker) the
 * producer replays the real 30-minute Swiss recording; the broker is stopped mid-replay and
 * started again. While it is away the producer holds what it could not publish
 * (`producer_held_messages` > 0) and its `/healthz` verdict turns false within seconds; when
 * it is back the held messages go out, and flights.updates ends with every valid state vector
 * of the recording exactly as a clean replay publishes them, in order per aircraft.
 * Before the fix the steps published during the outage were skipped ("publishing a replay
 * step failed; it is skipped").
 */
import assert from "node:assert/strict";
import { FlightUpdateEnvelope } from "../contracts/flight.ts";
import { KafkaBus } from "../lib/bus/kafka.ts";
import type { BusMessage } from "../lib/bus/types.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { PrivateServices } from "../scripts/private_services.ts";
import { recorded, waitFor } from "./_worker_harness.ts";
import { skipWithoutKafka } from "./_services.ts";

const SWISS = "fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl";
const topics = { state: "t.state", updates: "t.updates", deadletter: "t.deadletter" };

Deno.test({
  name: "faults: a broker stop and start mid-replay loses nothing; producer health follows it",
  // Needs the Kafka jars and Java that the shared services use; never the shared broker.
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const expected = await recorded([SWISS]);
    const services = await PrivateServices.start({ services: ["kafka"] });
    const bus = new KafkaBus({ brokers: services.brokers, clientId: "faults-broker" });
    try {
      await bus.connect();
      const config = parseProducerConfig({
        OPENSKY_MODE: "replay",
        REPLAY_FILES: SWISS,
        // 180 snapshots 10 s apart: 30 s of replay, long enough to stop the broker inside it.
        REPLAY_SPEED: "60",
        REPLAY_LOOP: "false",
        REPLAY_KEEP_TIMES: "true",
      });
      const producer = await startProducer({ config, bus, topics, log: silentLogger });
      const m = producer.metrics;
      await waitFor(async () => await m.value(m.polls, { status: "ok" }) >= 20, "20 steps");
      await services.run("stop", "kafka");
      await waitFor(() => !producer.health().ok, "producer health to say the broker is gone", {
        deadlineMs: 30_000,
      });
      await waitFor(async () => await m.value(m.held) > 0, "messages held", { deadlineMs: 60_000 });
      await services.run("start", "kafka");
      await waitFor(
        () => producer.health().ok || producer.health().reason === "replay finished",
        "health back",
        {
          deadlineMs: 60_000,
        },
      );
      await producer.done;
      await waitFor(async () => await m.value(m.held) === 0, "held messages sent", {
        deadlineMs: 60_000,
      });
      assert.equal(await m.value(m.dropped, { reason: "hold_full" }), 0);
      await producer.stop();

      const seen: BusMessage[] = [];
      const sub = await bus.subscribe({
        topics: [topics.updates],
        ephemeral: true,
        eachBatch: (batch) => {
          seen.push(...batch.messages);
          return Promise.resolve();
        },
      });
      await waitFor(() => seen.length >= expected.messages.length, "every update", {
        deadlineMs: 60_000,
      }).catch(() => {});
      await sub.stop();
      const positions = new Set<string>();
      const lastByAircraft = new Map<string, number>();
      for (const message of seen) {
        const { payload } = FlightUpdateEnvelope.parse(
          JSON.parse(new TextDecoder().decode(message.value)),
        );
        positions.add(`${payload.icao24}|${payload.time_position_unix}`);
        const last = lastByAircraft.get(payload.icao24) ?? -Infinity;
        assert.ok(
          payload.time_position_unix >= last,
          `${payload.icao24}: ${payload.time_position_unix} after ${last} (order per aircraft)`,
        );
        lastByAircraft.set(payload.icao24, payload.time_position_unix);
      }
      assert.equal(positions.size, expected.positions, "every position of the recording");
    } finally {
      await bus.close();
      await services.destroy();
    }
  },
});
