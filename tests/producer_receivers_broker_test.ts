/**
 * A broker restart while a receiver feeds the producer loses none of the
 * receiver's positions (issue #12: receiver flights used to bypass the outbox
 * and were dropped with "publishing receiver flights failed"). On a PRIVATE
 * Kafka (scripts/services.sh with a folder and ports of its own, never the
 * shared broker) a local SBS receiver plays a track DERIVED from the real 1 s
 * RYR2RG recording (one point every 500 ms, so each point gets a flush of its
 * own); the broker is stopped and started again while it plays. While it is
 * away the producer holds the receiver flights (`producer_held_messages` > 0)
 * and `/healthz` turns false; when it is back they go out, and flights.updates
 * holds every point the receiver sent, the ones sent during the outage
 * included, in order.
 */
import assert from "node:assert/strict";
import { FlightUpdateEnvelope } from "../contracts/flight.ts";
import { KafkaBus } from "../lib/bus/kafka.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { haversineM } from "../lib/geo/sphere.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { PrivateServices } from "../scripts/private_services.ts";
import { waitFor } from "./_fake_opensky.ts";
import { derivedTrack, sbsChunks, startTcpFeed } from "./_receiver_feeds.ts";
import { skipWithoutKafka } from "./_services.ts";

const topics = { state: "r.state", updates: "r.updates", deadletter: "r.deadletter" };

Deno.test({
  name: "producer receivers: a broker stop and start while an SBS receiver plays loses nothing",
  // Needs the Kafka jars and Java that the shared services use; never the shared broker.
  ignore: skipWithoutKafka(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const track = await derivedTrack("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", {
      limit: 100,
    });
    const services = await PrivateServices.start({ services: ["kafka"] });
    const bus = new KafkaBus({ brokers: services.brokers, clientId: "receivers-broker" });
    const sentAt: number[] = [];
    let feed: ReturnType<typeof startTcpFeed> | null = null;
    try {
      await bus.connect();
      feed = startTcpFeed({
        chunks: sbsChunks(track, Date.now()),
        intervalMs: 500,
        onSent: (index, atMs) => sentAt[index] = atMs,
      });
      const config = parseProducerConfig({ SOURCES: `sbs://127.0.0.1:${feed.port}` });
      const producer = await startProducer({
        config,
        bus,
        topics,
        log: silentLogger,
        backoff: { baseMs: 100, capMs: 1_000 },
      });
      const m = producer.metrics;
      const published = () => m.value(m.published, { topic: topics.updates });
      await waitFor(async () => feed!.sent >= 10 && await published() >= 5, {
        timeoutMs: 30_000,
        what: "receiver flights published",
      });
      await services.run("stop", "kafka");
      const downFrom = feed.sent;
      await waitFor(async () => await m.value(m.held) > 0, {
        timeoutMs: 60_000,
        what: "receiver flights held",
      });
      await waitFor(() => !producer.health().ok, {
        timeoutMs: 30_000,
        what: "producer health to say the broker is gone",
      });
      await services.run("start", "kafka");
      const downTo = feed.sent;
      await waitFor(() => feed!.sent >= track.length, {
        timeoutMs: 150_000,
        what: "the whole track played",
      });
      await waitFor(async () => await m.value(m.held) === 0, {
        timeoutMs: 60_000,
        what: "held receiver flights sent",
      });
      assert.ok(producer.health().ok, producer.health().reason);
      assert.ok(
        downTo - downFrom >= 3,
        `${downTo - downFrom} points sent while the broker was away`,
      );

      const seen: FlightUpdateEnvelope["payload"][] = [];
      const sub = await bus.subscribe({
        topics: [topics.updates],
        ephemeral: true,
        eachBatch: (batch) => {
          for (const message of batch.messages) {
            seen.push(
              FlightUpdateEnvelope.parse(JSON.parse(new TextDecoder().decode(message.value)))
                .payload,
            );
          }
          return Promise.resolve();
        },
      });
      const distinct = new Set(track.map((f) => `${f.position.lat},${f.position.lon}`)).size;
      // Distinct times, not messages: a send retried after the outage may be there twice.
      await waitFor(() => new Set(seen.map((p) => p.time_position_unix)).size >= distinct, {
        timeoutMs: 60_000,
        what: "every point on flights.updates",
      }).catch(() => {});
      await sub.stop();
      // Stopped only now: the last point may still be on its way from the receiver's socket
      // through the 200 ms flush when the whole track has been written.
      await producer.stop();
      assert.equal(await m.value(m.dropped, { reason: "hold_full" }), 0);
      let lastTime = -Infinity;
      for (const payload of seen) {
        assert.equal(payload.source, "sbs");
        assert.ok(payload.time_position_unix >= lastTime, "order per aircraft");
        lastTime = payload.time_position_unix;
        // SBS carries 6 decimals: the point it came from is within a metre.
        const onTrack = track.some((f) => haversineM(f.position, payload.position) < 1);
        assert.ok(onTrack, `a position off the track: ${JSON.stringify(payload.position)}`);
      }
      // Every point sent is on the topic (the recording repeats a position now and then).
      const missing = track.map((_, i) => i).filter((i) =>
        !seen.some((p) => haversineM(track[i]!.position, p.position) < 1)
      );
      assert.deepEqual(missing, [], "every point the receiver sent reached Kafka");
    } finally {
      await feed?.close();
      await bus.close();
      await services.destroy();
    }
  },
});
