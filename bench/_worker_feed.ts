/**
 * The feed of bench/worker_e2e.ts (private to it): pre-encoded messages and a producer
 * that is not the limit of a run.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import type { OpenSkyReply } from "../contracts/opensky.ts";
import { partitionForKey } from "../lib/bus/partitioner.ts";
import type { OutgoingMessage } from "../lib/bus/types.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { copiesFor, copyAddress, derived, polls, shiftedReply } from "./_worker_input.ts";

/**
 * The benchmark's feed: a kafkajs producer of its own, not the services' bus (idempotent,
 * one request in flight, acks from all replicas), so that the producer is not what limits a
 * run. Messages are encoded once beforehand ({@link preEncode}, {@link encodedChunks});
 * chunks of up to `FEED_CHUNK` messages go with acks from the leader only and
 * `FEED_IN_FLIGHT` chunks are outstanding at once. Each chunk is split by partition (Kafka's
 * default partitioner, as the services' bus sends) and a partition's requests go one after
 * the other (what arrives meanwhile joins the next one), so that every partition holds its messages in the order given, as the services'
 * producer (one request in flight) keeps it: several requests in flight to one partition
 * reorder them (kafkajs partitions each send asynchronously), and the worker then sees
 * aircraft going back in time, which a live feed does not do. Nothing is lost that the
 * benchmark needs: the figures come from the broker's high watermarks and the group's
 * committed offsets.
 */
export const FEED_CHUNK = 5000;
export const FEED_IN_FLIGHT = 10;

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

const ICAO24_FIELD = new TextEncoder().encode(`"icao24":"`);

/** Offset of the icao24's first hex digit in an encoded envelope, or -1. */
function icao24Offset(bytes: Uint8Array): number {
  outer: for (let i = 0; i + ICAO24_FIELD.length < bytes.length; i++) {
    for (let j = 0; j < ICAO24_FIELD.length; j++) {
      if (bytes[i + j] !== ICAO24_FIELD[j]) continue outer;
    }
    return i + ICAO24_FIELD.length;
  }
  return -1;
}

/**
 * The messages of `derived(replies, total)` (the same bytes in the same order), encoded in
 * chunks of `chunk` as they are needed, cheaply: a copy of the fleet differs from the
 * recording's aircraft only in the first hex digit of its address, so each poll's envelopes
 * are built and encoded once and every copy is those bytes with one byte replaced (about a
 * tenth of encoding each message, which a 10-minute run at 20,000/s could not afford on the
 * cores the worker needs, nor hold in memory encoded beforehand).
 */
export function* encodedChunks(
  replies: readonly OpenSkyReply[],
  total: number,
  chunk: number,
): Generator<Encoded[]> {
  const encoder = new TextEncoder();
  const copies = copiesFor(replies, total);
  let out: Encoded[] = [];
  let made = 0;
  for (let pass = 0; made < total; pass++) {
    for (const reply of replies) {
      const built = buildPollMessages(shiftedReply(reply, pass, 1), {
        source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 10 },
        producedAt: new Date((reply.time + pass * 86_400) * 1000).toISOString(),
        topics: { state: "unused", updates: "updates" },
      });
      const messages = built.batch.find((t) => t.topic === "updates")?.messages ?? [];
      for (const message of messages) {
        const bytes = typeof message.value === "string"
          ? encoder.encode(message.value)
          : message.value;
        const at = icao24Offset(bytes);
        if (at < 0 || message.key === null) throw new Error("an envelope without its icao24");
        const all = Buffer.allocUnsafe(bytes.length * copies);
        for (let k = 0; k < copies && made < total; k++, made++) {
          const key = copyAddress(message.key, k);
          const value = all.subarray(k * bytes.length, (k + 1) * bytes.length);
          value.set(bytes);
          value[at] = key.charCodeAt(0);
          out.push({ key, value });
          if (out.length === chunk) {
            yield out;
            out = [];
          }
        }
        if (made >= total) break;
      }
      if (made >= total) break;
    }
  }
  if (out.length > 0) yield out;
}

/**
 * Checks {@link encodedChunks} against `derived()` on the first `n` messages, byte for byte
 * (the benchmark's input is what `derived()` says it is, whatever the shortcut).
 */
export function checkEncodedChunks(replies: readonly OpenSkyReply[], total: number, n: number) {
  const decoder = new TextDecoder();
  const expected = derived(replies, total);
  let i = 0;
  for (const part of encodedChunks(replies, total, FEED_CHUNK)) {
    for (const m of part) {
      const want = expected.next();
      if (want.done) throw new Error(`the feed has more messages than derived() (${i})`);
      if (
        m.key !== want.value.message.key || decoder.decode(m.value) !== want.value.message.value
      ) {
        throw new Error(`the feed's message ${i} differs from derived()'s`);
      }
      if (++i >= n) return;
    }
  }
  if (!expected.next().done) throw new Error(`the feed has fewer messages than derived() (${i})`);
}

/**
 * Most bytes of values in one request to one partition (coalesced chunks): the broker refuses
 * a record batch over `message.max.bytes`, 1 MB by default.
 */
const MAX_REQUEST_BYTES = 800_000;

/**
 * A kafkajs producer sending chunks of encoded messages, in order per partition: one request
 * in flight per partition, and what arrives for a partition meanwhile goes in its next request
 * (so requests grow with the broker's latency rather than the rate falling with it).
 */
export async function openFeed(brokers: string[], clientId: string, partitions: number) {
  const kafka = new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    maxInFlightRequests: partitions,
  });
  await producer.connect();
  const partitionOf = new Map<string, number>();
  type Entry = { key: string | null; value: Buffer; partition: number };
  const lanes = Array.from({ length: partitions }, () => ({
    pending: [] as Entry[],
    /** Settle once the messages queued so far (up to that count) are acknowledged. */
    waiters: [] as { upTo: number; resolve: () => void; reject: (error: unknown) => void }[],
    queued: 0,
    sent: 0,
    busy: false,
  }));
  const pump = (topic: string, i: number) => {
    const lane = lanes[i]!;
    if (lane.busy || lane.pending.length === 0) return;
    let n = 0;
    for (let bytes = 0; n < lane.pending.length; n++) {
      bytes += lane.pending[n]!.value.length + 30;
      if (bytes > MAX_REQUEST_BYTES && n > 0) break;
    }
    const messages = lane.pending.splice(0, n);
    lane.busy = true;
    producer.send({ topic, messages, acks: 1 }).then(() => {
      lane.sent += messages.length;
      lane.busy = false;
      while (lane.waiters.length > 0 && lane.waiters[0]!.upTo <= lane.sent) {
        lane.waiters.shift()!.resolve();
      }
      pump(topic, i);
    }, (error) => {
      lane.busy = false;
      for (const waiter of lane.waiters.splice(0)) waiter.reject(error);
    });
  };
  return {
    /** Resolves once every message of `messages` is acknowledged. */
    send(topic: string, messages: Encoded[]): Promise<void> {
      const touched = new Set<number>();
      for (const m of messages) {
        const key = m.key ?? "";
        let partition = partitionOf.get(key);
        if (partition === undefined) {
          partitionOf.set(key, partition = partitionForKey(key, partitions));
        }
        const lane = lanes[partition]!;
        lane.pending.push({ key: m.key, value: m.value, partition });
        lane.queued++;
        touched.add(partition);
      }
      const acked = [...touched].map((i) =>
        new Promise<void>((resolve, reject) => {
          lanes[i]!.waiters.push({ upTo: lanes[i]!.queued, resolve, reject });
        })
      );
      for (const i of touched) pump(topic, i);
      return Promise.all(acked).then(() => {});
    },
    close: () => producer.disconnect(),
  };
}

/** Produces `messages` as fast as the broker takes them; seconds. */
export async function produceAll(
  brokers: string[],
  topic: string,
  messages: Encoded[],
  partitions: number,
) {
  const feed = await openFeed(brokers, "bench-worker-producer", partitions);
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

/**
 * The sustained run's producer process: `rate` updates/s for `seconds` on `topic`. Checks
 * its shortcut against `derived()`, encodes the first `AHEAD_S` seconds, then prints `ready`
 * on stdout (the parent's clock starts there), keeps that head start encoded as it sends,
 * and at the end prints the rate it reached on stderr.
 */
export async function runProducer(
  run: { topic: string; rate: number; seconds: number },
  options: { partitions: number },
): Promise<void> {
  const AHEAD_S = 5;
  const { topic, rate, seconds } = run;
  const brokers = Deno.env.get("KAFKA_BROKERS")!.split(",");
  const replies = await polls();
  const total = Math.ceil(rate * seconds);
  const chunk = Math.max(500, Math.min(FEED_CHUNK, Math.round(rate / 10)));
  checkEncodedChunks(replies, total, 20_000);
  const source = encodedChunks(replies, total, chunk);
  const encodeChunk = (): Encoded[] => source.next().value ?? [];
  const encodeStarted = performance.now();
  const ahead: Encoded[][] = [];
  for (let n = 0; n < AHEAD_S * rate && n < total; n += chunk) ahead.push(encodeChunk());
  const encodeS = (performance.now() - encodeStarted) / 1000;
  const feed = await openFeed(brokers, "bench-worker-rate", options.partitions);
  await Deno.stdout.write(new TextEncoder().encode("ready\n"));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  let queued = ahead.reduce((n, part) => n + part.length, 0);
  // Paced by the wall clock: a chunk goes out once it is due. A producer that falls behind
  // (the broker or this machine) sends as fast as it can and stops at the deadline, rather
  // than catching up for minutes after.
  while (sent < total && performance.now() < deadline) {
    const due = Math.min(total, ((performance.now() - started) / 1000) * rate);
    if (due - sent < chunk && due < total) {
      await new Promise((r) => setTimeout(r, Math.max(1, ((sent + chunk - due) / rate) * 1000)));
      continue;
    }
    const part = ahead.shift() ?? encodeChunk();
    if (part.length === 0) break;
    inFlight.push(feed.send(topic, part));
    sent += part.length;
    // Keeps the head start: one chunk encoded for each one sent.
    if (queued < total) {
      const next = encodeChunk();
      queued += next.length;
      if (next.length > 0) ahead.push(next);
    }
    if (inFlight.length >= FEED_IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const took = (performance.now() - started) / 1000;
  console.error(
    `producer: ${sent} updates in ${took.toFixed(1)} s = ${Math.round(sent / took)}/s of ` +
      `${rate}/s asked (first ${AHEAD_S} s encoded in ${encodeS.toFixed(2)} s beforehand, the ` +
      `rest while sending; chunks of ${chunk}, ${FEED_IN_FLIGHT} outstanding, split by ` +
      `partition, one request in flight per partition, acks 1)`,
  );
  await feed.close();
}
