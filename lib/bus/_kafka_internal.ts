/**
 * Helpers of the Kafka adapter (kafka.ts): kafkajs log routing and message
 * conversion. Private to lib/bus.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type IHeaders, type KafkaMessage, type LogEntry, logLevel } from "kafkajs";
import type { BusMessage } from "./types.ts";

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: "ERROR",
  [logLevel.WARN]: "WARN",
  [logLevel.INFO]: "INFO",
  [logLevel.DEBUG]: "DEBUG",
};

/**
 * Error replies that kafkajs' Connection logs at ERROR although the client
 * retries them as a matter of course (a member joining a group, a broker
 * that just started): logging them would make every rebalance look like an
 * outage. The retry that follows is logged when it, too, fails.
 */
const ROUTINE_ERRORS = [
  "The group is rebalancing, so a rejoin is needed",
  "The coordinator is loading and hence can't process requests",
  "This is not the correct coordinator for this group",
  "There is no leader for this topic-partition as we are in the middle of a leadership election",
];

/** Routes kafkajs logs to console.warn: one line, prefixed, with the extra fields as JSON. */
export function kafkaLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, log }) => {
    // The stack of a connection error says nothing an operator can act on; the message does.
    const { message, timestamp: _timestamp, logger: _logger, stack: _stack, ...extra } = log;
    const error = typeof extra.error === "string" ? extra.error : "";
    if (namespace === "Connection" && ROUTINE_ERRORS.some((e) => error.startsWith(e))) return;
    const details = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : "";
    console.warn(`[kafka] ${LEVEL_NAMES[level] ?? level} ${namespace}: ${message}${details}`);
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function headerText(value: IHeaders[string]): string | undefined {
  // Kafka allows a header key more than once; kafkajs then gives an array: the last one wins.
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  return typeof last === "string" ? last : last.toString("utf8");
}

export function toBusMessage(topic: string, partition: number, message: KafkaMessage): BusMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const value = message.value ?? Buffer.alloc(0);
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString("utf8"),
    // A plain view, so that callers do not come to rely on Buffer methods.
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    timestamp: Number(message.timestamp),
    headers,
  };
}

export function toKafkaValue(value: string | Uint8Array): string | Buffer {
  return typeof value === "string"
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
