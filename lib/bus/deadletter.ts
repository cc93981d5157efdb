/**
 * Validating consumers and dead letters. Every message read from the bus is
 * decoded (UTF-8 JSON) and checked against its zod schema; what fails goes
 * to `flights.deadletter` as a {@link DeadLetter} record with a readable
 * reason and the consumer carries on with the rest, so bad input neither
 * crashes a service nor silently disappears.
 *
 * Records are bounded (a text prefix, the first bytes as base64, length and
 * SHA-256 of the whole input) and sent in requests that fit the broker's
 * message limit. Dead letters are sent before the handler runs, each request
 * with a bounded retry; one that still fails is logged, counted (through
 * `onDeadLetterUnsent`) and skipped, never retried forever: a poison message
 * must not stall its partition (issue #14). If the handler fails after the
 * dead letters went out, the redelivery sends them again (at-least-once,
 * like everything else on the bus).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { z } from "zod";
import {
  DeadLetter,
  DEADLETTER_RAW_BYTES_LIMIT,
  DEADLETTER_RAW_LIMIT,
} from "../../contracts/deadletter.ts";
import { TOPICS } from "../../contracts/topics.ts";
import { formatZodError } from "../zod_error.ts";
import type { Bus, BusBatch, BusMessage, BusSubscription, OutgoingMessage } from "./types.ts";

/** Field limits of the DeadLetter contract, in characters. */
const LIMITS = { source: 64, topic: 249, key: 1024, reason: 4096 } as const;

/**
 * Dead letters are sent in requests of at most this many bytes of values. Kafka refuses a
 * record batch over the topic's `max.message.bytes` (1 MB by default) and kafkajs puts all
 * the messages of one partition (dead letters share a key, so one partition) in one batch.
 */
export const DEADLETTER_SEND_BYTES = 256 * 1024;

/** What a dead-letter record is built from. */
export interface DeadLetterInput {
  /** Component that rejected the input (`producer`, `worker`, `hub`). */
  source: string;
  /** Topic the input came from, or null when it came from outside Kafka. */
  topic: string | null;
  /** Key of the original message, if any. */
  key: string | null;
  /** Readable reason. */
  reason: string;
  /** The raw input: bytes, or text (kept as its UTF-8 bytes). */
  raw: string | Uint8Array;
  /** When it was rejected. Default now. */
  at?: Date;
}

/** Cuts `text` at `limit` UTF-16 code units without splitting a surrogate pair. */
function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

const lossyDecoder = new TextDecoder("utf-8");
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * A valid {@link DeadLetter} record, bounded in size whatever the input: a readable text
 * prefix, the first bytes as base64, the whole input's length and SHA-256. Pure.
 */
export function buildDeadLetter(input: DeadLetterInput): DeadLetter {
  const bytes = typeof input.raw === "string" ? encoder.encode(input.raw) : input.raw;
  // A UTF-8 character is at most 4 bytes: decoding this many always fills the text limit.
  const text = lossyDecoder.decode(bytes.subarray(0, DEADLETTER_RAW_LIMIT * 4));
  const kept = bytes.subarray(0, DEADLETTER_RAW_BYTES_LIMIT);
  return DeadLetter.parse({
    schema_version: 1,
    type: "dead_letter",
    at: (input.at ?? new Date()).toISOString(),
    source: cut(input.source, LIMITS.source),
    topic: input.topic === null ? null : cut(input.topic, LIMITS.topic),
    key: input.key === null ? null : cut(input.key, LIMITS.key),
    reason: cut(input.reason, LIMITS.reason),
    raw: cut(text, DEADLETTER_RAW_LIMIT),
    raw_base64: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString("base64"),
    raw_bytes: bytes.byteLength,
    raw_sha256: createHash("sha256").update(bytes).digest("hex"),
    raw_truncated: bytes.byteLength > kept.byteLength,
  });
}

/** Groups records into sends of at most `maxBytes` of values (one oversized record goes alone). */
export function deadLetterChunks(
  records: readonly DeadLetter[],
  maxBytes: number = DEADLETTER_SEND_BYTES,
): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const record of records) {
    const value = JSON.stringify(record);
    const bytes = encoder.encode(value).byteLength;
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push({ key: record.source, value });
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Options for {@link sendDeadLetters}. */
export interface SendDeadLettersOptions {
  /** Default `flights.deadletter`. */
  topic?: string;
  /** Tries per send request before giving up on its records. Default 3. */
  attempts?: number;
  /** Wait before the second try, doubled for each further one, ms. Default 500. */
  retryDelayMs?: number;
  /** Called for each record that could not be sent after the last try. Default: console.warn. */
  onUnsent?(record: DeadLetter, error: unknown): void;
}

/** What {@link sendDeadLetters} did. */
export interface SendDeadLettersResult {
  sent: DeadLetter[];
  unsent: DeadLetter[];
}

/**
 * Sends dead-letter records in requests that fit the broker's limit, each with a bounded
 * retry; what still fails is reported through `onUnsent` and skipped. Never throws: a dead
 * letter that cannot be written must not stall the partition it came from.
 */
export async function sendDeadLetters(
  bus: Bus,
  records: readonly DeadLetter[],
  options: SendDeadLettersOptions = {},
): Promise<SendDeadLettersResult> {
  const topic = options.topic ?? TOPICS.deadletter.name;
  const attempts = Math.max(1, options.attempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 500;
  const result: SendDeadLettersResult = { sent: [], unsent: [] };
  let index = 0;
  for (const chunk of deadLetterChunks(records)) {
    const chunkRecords = records.slice(index, index + chunk.length);
    index += chunk.length;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await bus.send([{ topic, messages: chunk }]);
        lastError = undefined;
        break;
      } catch (error) {
        lastError = error;
        // kafkajs marks errors that no retry can heal (MESSAGE_TOO_LARGE, say).
        if ((error as { retriable?: boolean }).retriable === false) break;
        if (attempt < attempts) {
          await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
        }
      }
    }
    if (lastError === undefined) {
      for (const record of chunkRecords) result.sent.push(record);
      continue;
    }
    for (const record of chunkRecords) {
      result.unsent.push(record);
      if (options.onUnsent) options.onUnsent(record, lastError);
      else {
        console.warn(
          `[bus] could not send a dead letter to ${topic} (skipped; sha256 ${record.raw_sha256}, ` +
            `${record.raw_bytes} bytes): ${lastError}`,
        );
      }
    }
  }
  return result;
}

/** Sends one dead-letter record to `flights.deadletter` (or `deadletterTopic`); returns it. */
export async function deadLetter(
  bus: Bus,
  input: DeadLetterInput & { deadletterTopic?: string },
): Promise<DeadLetter> {
  const record = buildDeadLetter(input);
  const topic = input.deadletterTopic ?? TOPICS.deadletter.name;
  await bus.send([{ topic, messages: deadLetterChunks([record])[0]! }]);
  return record;
}

/** The outcome of decoding one message. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A fast check that agrees with a schema: the value the schema would return, or undefined
 * when unsure (then the schema decides and gives the reason). It must never accept what the
 * schema rejects; see contracts/flight_check.ts.
 */
export type FastCheck<T> = (json: unknown) => T | undefined;

/**
 * Decodes a message value as UTF-8 JSON and validates it against `schema` (after `check`,
 * when given, which skips the schema for the values it accepts). Pure.
 */
export function decodeMessage<T>(
  message: BusMessage,
  schema: z.ZodType<T>,
  options: { check?: FastCheck<T> } = {},
): Decoded<T> {
  let text: string;
  try {
    // The lossy decoder first: the fatal flag costs about six times as much per message (1.6
    // against 0.3 us for a 540-byte update here). Invalid UTF-8 always leaves a U+FFFD in the
    // lossy output, and only then does the strict decoder run, to tell it from a real U+FFFD.
    text = lossyDecoder.decode(message.value);
    if (text.includes("\uFFFD")) text = strictDecoder.decode(message.value);
  } catch (error) {
    return { ok: false, reason: `UTF-8 decode error: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `JSON parse error: ${(error as Error).message}` };
  }
  const checked = options.check?.(json);
  if (checked !== undefined) return { ok: true, value: checked };
  const result = schema.safeParse(json);
  if (!result.success) {
    return { ok: false, reason: `schema violation: ${formatZodError(result.error)}` };
  }
  return { ok: true, value: result.data };
}

/** A message that passed validation, with its decoded value. */
export interface ValidatedMessage<T> {
  message: BusMessage;
  value: T;
}

export interface SubscribeValidatedOptions<T> {
  /** Component name, written into dead letters (`worker`, `hub`). */
  source: string;
  /** Schema every message value must satisfy. */
  schema: z.ZodType<T>;
  /** A hand-written check that agrees with `schema`, tried first (the hot path). */
  check?: FastCheck<T>;
  /** One topic, or several with `topics`. */
  topic?: string;
  topics?: string[];
  /** Consumer group; not needed when `ephemeral`. */
  groupId?: string;
  fromBeginning?: boolean;
  ephemeral?: boolean;
  /** Where rejected messages go. Default `flights.deadletter`. */
  deadletterTopic?: string;
  /** Passed on to {@link Bus.subscribe}. */
  maxBatchSize?: number;
  /** Passed on to {@link Bus.subscribe}. */
  concurrency?: number;
  /**
   * Called once per batch with its valid messages, in order (not called when
   * none was valid). Resolve once they are durable: then the batch commits.
   */
  handle?(items: ValidatedMessage<T>[], batch: BusBatch): Promise<void>;
  /** Told how long decoding and validating a batch took, seconds (for a stage metric). */
  onDecoded?(seconds: number): void;
  /** Called per valid message, in order, after `handle`; awaited. */
  onMessage?(value: T, message: BusMessage): void | Promise<void>;
  /** A batch failed (handler or dead-letter send) and will be delivered again. */
  onError?(error: unknown): void;
  /** A message was dead-lettered (after the record was sent); for metrics and logs. */
  onDeadLetter?(record: DeadLetter): void;
  /**
   * A dead letter could not be sent after its retries; the message is skipped all the same
   * (so that it cannot stall its partition). Default: console.warn.
   */
  onDeadLetterUnsent?(record: DeadLetter, error: unknown): void;
  /** Tries per dead-letter send request. Default 3. */
  deadletterAttempts?: number;
  /** First wait between those tries, ms. Default 500. */
  deadletterRetryDelayMs?: number;
}

/**
 * Subscribes with validation: invalid messages are dead-lettered, valid ones
 * go to `handle` / `onMessage`; the batch commits after both resolved.
 */
export function subscribeValidated<T>(
  bus: Bus,
  options: SubscribeValidatedOptions<T>,
): Promise<BusSubscription> {
  const topics = options.topics ?? (options.topic === undefined ? [] : [options.topic]);
  if (topics.length === 0) {
    return Promise.reject(new TypeError("subscribeValidated: give topic or topics"));
  }
  if (!options.handle && !options.onMessage) {
    return Promise.reject(new TypeError("subscribeValidated: give handle or onMessage"));
  }
  const deadletterTopic = options.deadletterTopic ?? TOPICS.deadletter.name;
  return bus.subscribe({
    topics,
    groupId: options.groupId,
    fromBeginning: options.fromBeginning,
    ephemeral: options.ephemeral,
    onError: options.onError,
    maxBatchSize: options.maxBatchSize,
    concurrency: options.concurrency,
    async eachBatch(batch) {
      const valid: ValidatedMessage<T>[] = [];
      const rejected: DeadLetter[] = [];
      const started = options.onDecoded ? performance.now() : 0;
      const decodeOptions = { check: options.check };
      for (const message of batch.messages) {
        const decoded = decodeMessage(message, options.schema, decodeOptions);
        if (decoded.ok) {
          valid.push({ message, value: decoded.value });
        } else {
          rejected.push(buildDeadLetter({
            source: options.source,
            topic: message.topic,
            key: message.key,
            reason: decoded.reason,
            raw: message.value,
          }));
        }
      }
      options.onDecoded?.((performance.now() - started) / 1000);
      const { sent } = await sendDeadLetters(bus, rejected, {
        topic: deadletterTopic,
        attempts: options.deadletterAttempts,
        retryDelayMs: options.deadletterRetryDelayMs,
        onUnsent: options.onDeadLetterUnsent,
      });
      for (const record of sent) options.onDeadLetter?.(record);
      if (valid.length === 0) return;
      await options.handle?.(valid, batch);
      if (options.onMessage) {
        for (const { value, message } of valid) await options.onMessage(value, message);
      }
    },
  });
}
