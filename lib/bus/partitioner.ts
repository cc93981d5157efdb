/**
 * Kafka's default partitioner: a key goes to `murmur2(key) % partitions`,
 * the hash of the Java client and of kafkajs' DefaultPartitioner, so a key
 * lands on the same partition number on the memory bus and on Kafka, and the
 * worker can tell which aircraft a partition holds. Pure.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, also kafkajs'
 * DefaultPartitioner), as a signed 32-bit integer.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for `key` (UTF-8) among `partitions`. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}
