/**
 * Turns one OpenSky reply into the messages of one poll: for every valid row
 * a `flight_state` envelope (compacted `flights.state`) and a `flight_update`
 * envelope (`flights.updates`), keyed by lower-case icao24; every bad row is
 * returned with its reason for the dead-letter topic. Pure.
 *
 * @module
 */
import type { OpenSkyReply } from "../../contracts/opensky.ts";
import type { Flight, FlightSourceKind, Source } from "../../contracts/flight.ts";
import { TOPICS } from "../../contracts/topics.ts";
import type { OutgoingMessage, TopicMessages } from "../bus/types.ts";
import { stateVectorToFlight } from "./state_vector.ts";

/** The topics a producer writes; injectable so that tests can use their own. */
export interface ProducerTopics {
  state: string;
  updates: string;
  deadletter: string;
}

export const DEFAULT_PRODUCER_TOPICS: Readonly<ProducerTopics> = Object.freeze({
  state: TOPICS.state.name,
  updates: TOPICS.updates.name,
  deadletter: TOPICS.deadletter.name,
});

/** A row that failed validation. */
export interface RejectedRow {
  /** Index of the row in the reply's `states`. */
  index: number;
  /** The row's icao24 when it has a string there (lower-cased), else null. */
  icao24: string | null;
  /** Why it was rejected. */
  reason: string;
  /** The row as JSON text. */
  raw: string;
}

/** The outcome of {@link buildPollMessages}. */
export interface PollMessages {
  /** Flight messages for one `bus.send`: the state topic, then the updates topic. */
  batch: TopicMessages[];
  /** Valid rows, in reply order. */
  flights: Flight[];
  rejected: RejectedRow[];
}

/** Options for {@link buildPollMessages}. */
export interface PollMessagesOptions {
  source: Source;
  /** ISO 8601 UTC time stamped on every envelope of the poll. */
  producedAt: string;
  /** Seconds added to time_position / last_contact (replay). Default 0. */
  shiftSeconds?: number;
  topics?: Pick<ProducerTopics, "state" | "updates">;
  /**
   * The flights' `source`. Default {@link flightSourceOf}(`source`): `replay` for a replay,
   * `opensky` for a live or recording poll.
   */
  flightSource?: FlightSourceKind;
}

/**
 * The flight `source` of what a poll publishes: a replay says `replay` (also for a
 * recording of a receiver: the position comes from a file, not from a live feed, and the
 * map must not present it as live); live and record mode say `opensky`.
 */
export function flightSourceOf(source: Pick<Source, "mode">): FlightSourceKind {
  return source.mode === "replay" ? "replay" : "opensky";
}

/**
 * Validates each row on its own (one bad row never rejects the reply) and
 * builds both envelopes of each valid one.
 */
export function buildPollMessages(reply: OpenSkyReply, options: PollMessagesOptions): PollMessages {
  const topics = options.topics ?? DEFAULT_PRODUCER_TOPICS;
  const shiftSeconds = options.shiftSeconds ?? 0;
  const flightSource = options.flightSource ?? flightSourceOf(options.source);
  // The source and timestamp are the same for the whole poll: serialise them
  // once and splice the payload in, instead of one JSON.stringify per envelope.
  const head = `,"produced_at":${JSON.stringify(options.producedAt)},"source":${
    JSON.stringify(sourceFields(options.source))
  },"payload":`;
  const statePrefix = `{"schema_version":1,"type":"flight_state"${head}`;
  const updatePrefix = `{"schema_version":1,"type":"flight_update"${head}`;
  const state: OutgoingMessage[] = [];
  const updates: OutgoingMessage[] = [];
  const flights: Flight[] = [];
  const rejected: RejectedRow[] = [];
  const rows = reply.states ?? [];
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index];
    const result = stateVectorToFlight(row, { shiftSeconds });
    if (!result.ok) {
      rejected.push({ index, icao24: rowIcao24(row), reason: result.reason, raw: rawRow(row) });
      continue;
    }
    // The row's own fresh object: set in place rather than copied (one per row per poll).
    const flight = result.flight;
    flight.source = flightSource;
    const emergency = reply.emergency?.[flight.icao24];
    if (emergency !== undefined) flight.emergency = emergency;
    const payload = JSON.stringify(flight);
    flights.push(flight);
    state.push({ key: flight.icao24, value: `${statePrefix}${payload}}` });
    updates.push({ key: flight.icao24, value: `${updatePrefix}${payload}}` });
  }
  const batch: TopicMessages[] = [];
  if (state.length > 0) {
    batch.push({ topic: topics.state, messages: state });
    batch.push({ topic: topics.updates, messages: updates });
  }
  return { batch, flights, rejected };
}

/**
 * Both envelopes of flight objects made elsewhere (the receiver sources' merged flights),
 * already valid, in the same byte layout as {@link buildPollMessages}; empty when `flights` is.
 * `source` may depend on the flight (each receiver kind is its own provider); the envelope
 * head is serialised once per distinct `Source` object.
 */
export function buildFlightMessages(
  flights: readonly Flight[],
  options: {
    source: Source | ((flight: Flight) => Source);
    producedAt: string;
    topics?: Pick<ProducerTopics, "state" | "updates">;
  },
): TopicMessages[] {
  if (flights.length === 0) return [];
  const topics = options.topics ?? DEFAULT_PRODUCER_TOPICS;
  const sourceOf = options.source;
  const heads = new Map<Source, string>();
  const headOf = (source: Source) => {
    let head = heads.get(source);
    if (head === undefined) {
      head = `,"produced_at":${JSON.stringify(options.producedAt)},"source":${
        JSON.stringify(sourceFields(source))
      },"payload":`;
      heads.set(source, head);
    }
    return head;
  };
  const state: OutgoingMessage[] = [];
  const updates: OutgoingMessage[] = [];
  for (const flight of flights) {
    const head = headOf(typeof sourceOf === "function" ? sourceOf(flight) : sourceOf);
    const payload = JSON.stringify(flight);
    state.push({
      key: flight.icao24,
      value: `{"schema_version":1,"type":"flight_state"${head}${payload}}`,
    });
    updates.push({
      key: flight.icao24,
      value: `{"schema_version":1,"type":"flight_update"${head}${payload}}`,
    });
  }
  return [{ topic: topics.state, messages: state }, { topic: topics.updates, messages: updates }];
}

// Fixed key order, so the same input gives byte-identical messages (replay determinism).
function sourceFields(source: Source): Source {
  return {
    provider: source.provider,
    mode: source.mode,
    bbox: source.bbox,
    poll_interval_s: source.poll_interval_s,
  };
}

function rowIcao24(row: unknown): string | null {
  if (!Array.isArray(row) || typeof row[0] !== "string") return null;
  return row[0].trim().toLowerCase() || null;
}

function rawRow(row: unknown): string {
  try {
    return JSON.stringify(row) ?? String(row);
  } catch {
    return String(row);
  }
}
