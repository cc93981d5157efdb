/**
 * Validating consumers and dead letters. Every message read from the bus is
 * decoded (UTF-8 JSON) and checked against its zod schema; what fails goes
 * to `flights.deadletter` as a {@link DeadLetter} record with a readable
 * reason and the consumer carries on with the rest, so bad input neither
 * crashes a service nor silently disappears.
 *
 * A batch is committed only after its dead letters were sent and the
 * handler resolved. Dead letters are sent first: if that send fails the
 * batch is delivered again before the handler saw any of it. If the handler
 * fails after the dead letters went out, the redelivery sends them again
 * (at-least-once, like everything else on the bus).
 *
 * @module
 */
import type { z } from "zod";
import { DeadLetter, DEADLETTER_RAW_LIMIT } from "../../contracts/deadletter.ts";
import { TOPICS } from "../../contracts/topics.ts";
import { formatZodError } from "../zod_error.ts";
import type { Bus, BusBatch, BusMessage, BusSubscription } from "./types.ts";

/** Field limits of the DeadLetter contract, in characters. */
const LIMITS = { source: 64, topic: 249, key: 1024, reason: 4096 } as const;

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
  /** The raw input; bytes are decoded as UTF-8 (invalid sequences replaced). */
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

/** A valid {@link DeadLetter} record; long fields are cut to the contract's limits. Pure. */
export function buildDeadLetter(input: DeadLetterInput): DeadLetter {
  const raw = typeof input.raw === "string" ? input.raw : lossyDecoder.decode(input.raw);
  return DeadLetter.parse({
    schema_version: 1,
    type: "dead_letter",
    at: (input.at ?? new Date()).toISOString(),
    source: cut(input.source, LIMITS.source),
    topic: input.topic === null ? null : cut(input.topic, LIMITS.topic),
    key: input.key === null ? null : cut(input.key, LIMITS.key),
    reason: cut(input.reason, LIMITS.reason),
    raw: cut(raw, DEADLETTER_RAW_LIMIT),
  });
}

/** Sends dead-letter records, keyed by their source, in one call. */
async function sendDeadLetters(
  bus: Bus,
  records: DeadLetter[],
  topic: string,
): Promise<void> {
  if (records.length === 0) return;
  await bus.send([{
    topic,
    messages: records.map((r) => ({ key: r.source, value: JSON.stringify(r) })),
  }]);
}

/** Sends one dead-letter record to `flights.deadletter` (or `deadletterTopic`); returns it. */
export async function deadLetter(
  bus: Bus,
  input: DeadLetterInput & { deadletterTopic?: string },
): Promise<DeadLetter> {
  const record = buildDeadLetter(input);
  await sendDeadLetters(bus, [record], input.deadletterTopic ?? TOPICS.deadletter.name);
  return record;
}

/** The outcome of decoding one message. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes a message value as UTF-8 JSON and validates it against `schema`. Pure. */
export function decodeMessage<T>(message: BusMessage, schema: z.ZodType<T>): Decoded<T> {
  let text: string;
  try {
    text = strictDecoder.decode(message.value);
  } catch (error) {
    return { ok: false, reason: `UTF-8 decode error: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `JSON parse error: ${(error as Error).message}` };
  }
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
  /** Called per valid message, in order, after `handle`; awaited. */
  onMessage?(value: T, message: BusMessage): void | Promise<void>;
  /** A batch failed (handler or dead-letter send) and will be delivered again. */
  onError?(error: unknown): void;
  /** A message was dead-lettered (after the record was sent); for metrics and logs. */
  onDeadLetter?(record: DeadLetter): void;
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
      for (const message of batch.messages) {
        const decoded = decodeMessage(message, options.schema);
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
      await sendDeadLetters(bus, rejected, deadletterTopic);
      for (const record of rejected) options.onDeadLetter?.(record);
      if (valid.length === 0) return;
      await options.handle?.(valid, batch);
      if (options.onMessage) {
        for (const { value, message } of valid) await options.onMessage(value, message);
      }
    },
  });
}
