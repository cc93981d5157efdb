/**
 * The feed of bench/worker_e2e.ts (private to it): pre-encoded messages and a producer
 * that is not the limit of a run.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import type { OutgoingMessage } from "../lib/bus/types.ts";

/**
 * The benchmark's feed: a kafkajs producer of its own, not the services' bus (idempotent,
 * one request in flight, acks from all replicas), so that the producer is not what limits a
 * run. Messages are encoded once beforehand ({@link preEncode}); requests carry
 * `FEED_CHUNK` messages with acks from the leader only and `FEED_IN_FLIGHT` of them are
 * outstanding at once. Nothing is lost that the benchmark needs: the figures come from the
 * broker's high watermarks and the group's committed offsets.
 */
export const FEED_CHUNK = 5000;
export const FEED_IN_FLIGHT = 4;

/** A message ready to go: key and value already bytes. */
export interface Encoded {
  key: string | null;
  value: Buffer;
}

/**
 * Encodes `messages` into one contiguous buffer (a value is a view into it), so a million
 * messages cost their bytes and little more, and sending costs no encoding.
 */
export function preEncode(messages: Iterable<OutgoingMessage>): Encoded[] {
  const encoder = new TextEncoder();
  const parts: { key: string | null; bytes: Uint8Array }[] = [];
  let total = 0;
  for (const m of messages) {
    const bytes = typeof m.value === "string" ? encoder.encode(m.value) : m.value;
    parts.push({ key: m.key, bytes });
    total += bytes.length;
  }
  const all = Buffer.allocUnsafe(total);
  let at = 0;
  return parts.map(({ key, bytes }) => {
    all.set(bytes, at);
    at += bytes.length;
    return { key, value: all.subarray(at - bytes.length, at) };
  });
}

export async function openFeed(brokers: string[], clientId: string) {
  const kafka = new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    maxInFlightRequests: FEED_IN_FLIGHT,
  });
  await producer.connect();
  return {
    send: (topic: string, messages: Encoded[]) =>
      producer.send({ topic, messages, acks: 1 }).then(() => {}),
    close: () => producer.disconnect(),
  };
}

/** Produces `messages` as fast as the broker takes them; seconds. */
export async function produceAll(brokers: string[], topic: string, messages: Encoded[]) {
  const feed = await openFeed(brokers, "bench-worker-producer");
  const started = performance.now();
  try {
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i += FEED_CHUNK) {
      inFlight.push(feed.send(topic, messages.slice(i, i + FEED_CHUNK)));
      if (inFlight.length >= FEED_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await feed.close();
  }
  return (performance.now() - started) / 1000;
}
