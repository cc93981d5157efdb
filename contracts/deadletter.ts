/**
 * Records on `flights.deadletter`: what could not be processed, why, and the
 * raw input, so that nothing silently disappears.
 *
 * @module
 */
import { z } from "zod";
import { IsoTime } from "./common.ts";

/** Raw input kept in a dead-letter record is cut at this many characters. */
export const DEADLETTER_RAW_LIMIT = 65_536;

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
  /** The raw input, as text, cut at {@link DEADLETTER_RAW_LIMIT} characters. */
  raw: z.string().max(DEADLETTER_RAW_LIMIT),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
