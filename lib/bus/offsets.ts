/**
 * Comparing Kafka offsets as the bus hands them over: decimal strings of non-negative
 * integers (int64 on the broker, beyond a double's exact range), without parsing them.
 *
 * @module
 */

/**
 * Whether `offset` <= `last`, both decimal strings without leading zeros (what kafkajs and
 * the memory bus give). `BigInt` of each kept offset at every commit was measurable in the
 * worker's CPU time (issue #11); a longer string is a larger number, and two of the same
 * length compare as their digits do.
 */
export function offsetAtMost(offset: string, last: string): boolean {
  return offset.length < last.length || (offset.length === last.length && offset <= last);
}
