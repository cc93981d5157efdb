/**
 * Records on `flights.deadletter`: what could not be processed, why, and the
 * raw input, so that nothing silently disappears.
 *
 * @module
 */
import { z } from "zod";
import { IsoTime } from "./common.ts";

/**
 * The readable text prefix of the raw input (`raw`) is cut at this many characters. With
 * {@link DEADLETTER_RAW_BYTES_LIMIT} and the other fields' limits this bounds a record to
 * about 45 kB of JSON whatever the input, far under Kafka's 1 MB default message limit.
 */
export const DEADLETTER_RAW_LIMIT = 1_024;
/** At most this many bytes of the raw input are kept, base64-encoded, in `raw_base64`. */
export const DEADLETTER_RAW_BYTES_LIMIT = 4_096;

export const DeadLetter = z.object({
  schema_version: z.literal(1),
  type: z.literal("dead_letter"),
  /** When it was rejected, ISO 8601 UTC. */
  at: IsoTime,
  /** Which component rejected it, e.g. `producer`, `worker`, `hub`. */
  source: z.string().max(64),
  /** Topic the input came from, or null when it came from outside Kafka (an OpenSky reply). */
  topic: z.string().max(249).nullable(),
  /** Key of the original message, if any. */
  key: z.string().max(1024).nullable(),
  /** A readable reason: the first validation issues or the parse error. */
  reason: z.string().max(4096),
  /**
   * A readable prefix of the raw input: its bytes decoded as UTF-8 (invalid sequences
   * replaced), cut at {@link DEADLETTER_RAW_LIMIT} characters. For reading by eye; the exact
   * bytes are in `raw_base64`.
   */
  raw: z.string().max(DEADLETTER_RAW_LIMIT),
  /** The first {@link DEADLETTER_RAW_BYTES_LIMIT} bytes of the raw input, base64 (RFC 4648). */
  raw_base64: z.string().max(Math.ceil(DEADLETTER_RAW_BYTES_LIMIT / 3) * 4),
  /** Length of the whole raw input, bytes (UTF-8 for text input). */
  raw_bytes: z.number().int().nonnegative(),
  /** SHA-256 of the whole raw input, lowercase hex: finds the same input again. */
  raw_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** True when `raw_base64` holds only a prefix (`raw_bytes` > its length). */
  raw_truncated: z.boolean(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
