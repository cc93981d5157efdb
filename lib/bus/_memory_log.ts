/**
 * The memory bus' partition logs: stored messages, offsets, retention gaps
 * and compaction (latest message per key, offsets unchanged). Private to
 * lib/bus/memory.ts.
 *
 * @module
 */
import type { TopicSpec } from "../../contracts/topics.ts";
import type { BusMessage } from "./types.ts";

export interface StoredMessage {
  offset: number;
  key: string | null;
  value: Uint8Array;
  timestamp: number;
  headers: Record<string, string>;
}

export interface PartitionLog {
  /** Retained messages, ascending offsets (gaps after compaction or retention). */
  entries: StoredMessage[];
  /** Offset the next message gets (the high watermark). */
  next: number;
  /** Latest offset per key; maintained for compacted topics only. */
  latest: Map<string, number>;
}

export interface TopicLog {
  spec: TopicSpec;
  compacted: boolean;
  partitions: PartitionLog[];
  /** Round-robin counter for keyless messages. */
  keyless: number;
}

export function toBusMessage(topic: string, partition: number, stored: StoredMessage): BusMessage {
  return {
    topic,
    partition,
    offset: String(stored.offset),
    key: stored.key,
    value: stored.value,
    timestamp: stored.timestamp,
    // Each consumer gets its own headers object; values are shared and must not be mutated.
    headers: { ...stored.headers },
  };
}

export function logStart(log: PartitionLog): number {
  return log.entries[0]?.offset ?? log.next;
}

/** Index of the first entry with an offset at or after `offset` (binary search). */
export function indexFrom(log: PartitionLog, offset: number): number {
  let lo = 0;
  let hi = log.entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.entries[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Compaction: keeps the latest message per key (offsets unchanged); returns how many were dropped. */
export function compactLog(log: PartitionLog): number {
  const before = log.entries.length;
  log.entries = log.entries.filter((e) => e.key !== null && log.latest.get(e.key) === e.offset);
  return before - log.entries.length;
}
