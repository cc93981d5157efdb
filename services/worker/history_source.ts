/**
 * The reads that rebuild detector state after a restart or a rebalance
 * (see processor.ts): an aircraft's current track from `flights_history`,
 * and the sessions left open.
 *
 * @module
 */
import { Flight } from "../../contracts/flight.ts";
import { checkFlight } from "../../contracts/flight_check.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { flightFromRow, type FlightRow, flightSelectList } from "../../lib/db/history_rows.ts";
import type { FlightSession } from "../../lib/detect/session.ts";
import type { HistorySource, TrackRequest } from "./processor.ts";

interface SessionRow {
  id: string;
  icao24: string;
  callsign: string | null;
  first_seen: Date;
  last_seen: Date;
}

/** Aircraft per query: bounds the rows held at once after a restart. */
const TRACKS_PER_QUERY = 100;

/** Options of {@link createHistorySource} (tests). */
export interface HistorySourceOptions {
  /**
   * Read the rows of tracks that ended too (false: skip them, see withoutEndedTracks), the
   * reference the tests compare against. Default false.
   */
  readEndedTracks?: boolean;
  /** Told how many history rows each read of tracks fetched. */
  onRowsRead?: (rows: number) => void;
}

/** A {@link HistorySource} over the worker's tables. */
export function createHistorySource(sql: Sql, options: HistorySourceOptions = {}): HistorySource {
  const { readEndedTracks = false, onRowsRead } = options;
  return {
    async tracks(requests, options) {
      const out = new Map<string, Flight[]>();
      for (let i = 0; i < requests.length; i += TRACKS_PER_QUERY) {
        const chunk = requests.slice(i, i + TRACKS_PER_QUERY);
        const rows = await readRows(sql, chunk, { ...options, readEndedTracks, onRowsRead });
        if (options.newest) {
          for (const [icao24, t] of rows.newest) options.newest.set(icao24, t);
        }
        for (const request of chunk) {
          const flights = currentTrack(rows, request, options.staleAfterS);
          if (flights.length > 0) out.set(request.icao24, flights);
        }
      }
      return out;
    },
    async openSessions(beforeUnix) {
      const rows = Number.isFinite(beforeUnix)
        ? await sql<SessionRow[]>`
          SELECT id, icao24, callsign, first_seen, last_seen
          FROM flights
          WHERE ended_at IS NULL AND last_seen < to_timestamp(${beforeUnix})
          ORDER BY id`
        : await sql<SessionRow[]>`
          SELECT id, icao24, callsign, first_seen, last_seen
          FROM flights WHERE ended_at IS NULL ORDER BY id`;
      return rows.map(sessionFromRow);
    },
    async stillOpen(ids) {
      if (ids.length === 0) return [];
      const rows = await sql<SessionRow[]>`
        SELECT id, icao24, callsign, first_seen, last_seen
        FROM flights
        WHERE id = ANY(${sql.array([...ids], 25)}::text[]) AND ended_at IS NULL
        ORDER BY id`;
      return rows.map(sessionFromRow);
    },
  };
}

function sessionFromRow(r: SessionRow): FlightSession {
  return {
    id: r.id,
    icao24: r.icao24,
    callsign: r.callsign,
    first_seen: r.first_seen.toISOString(),
    last_seen: r.last_seen.toISOString(),
    ended_at: null,
    end_reason: null,
  };
}

interface Rows {
  /** History states per aircraft (flight objects rebuilt from the columns), oldest first. */
  history: Map<string, unknown[]>;
  /** The latest state per aircraft (flights_current). */
  current: Map<string, unknown>;
  /** `flights_current.ts` per aircraft that has a row, unix s. */
  newest: Map<string, number>;
}

async function readRows(
  sql: Sql,
  requests: readonly TrackRequest[],
  options: {
    maxS: number;
    staleAfterS: number;
    readEndedTracks: boolean;
    onRowsRead?: (rows: number) => void;
  },
): Promise<Rows> {
  const { maxS, staleAfterS } = options;
  const current = new Map<string, unknown>();
  const newest = new Map<string, number>();
  const latest = await sql<{ icao24: string; state: unknown; ts_unix: number }[]>`
    SELECT icao24, state, extract(epoch FROM ts)::float8 AS ts_unix FROM flights_current
    WHERE icao24 = ANY(${sql.array(requests.map((r) => r.icao24), 25)}::text[])`;
  for (const row of latest) {
    current.set(row.icao24, row.state);
    newest.set(row.icao24, row.ts_unix);
  }
  // flights_current.ts is the newest history row of its aircraft (written together): an
  // aircraft without one (a new one, the usual case) or whose newest row is older than the
  // window has no rows to replay, and the history is not read for it.
  let wanted = requests.filter((r) =>
    // 1 ms of slack: flights_current.ts is written from float8 seconds.
    (newest.get(r.icao24) ?? -Infinity) >= r.beforeUnix - maxS - 0.001
  );
  const history = new Map<string, unknown[]>();
  if (!options.readEndedTracks) {
    wanted = await withoutEndedTracks(sql, wanted, { current, newest, maxS, staleAfterS });
  }
  if (wanted.length === 0) return { history, current, newest };
  const icao24 = sql.array(wanted.map((r) => r.icao24), 25);
  const befores = wanted.map((r) => r.beforeUnix);
  const lo = Math.min(...befores) - maxS;
  const hi = Math.max(...befores);
  // The constant bounds let the planner prune daily partitions; the join bounds are per aircraft.
  const rows = await sql<FlightRow[]>`
    SELECT ${sql.unsafe(flightSelectList("h"))}
    FROM unnest(${icao24}::text[], ${sql.array(befores, 701)}::float8[]) AS k(icao24, before)
    JOIN flights_history h ON h.icao24 = k.icao24
      AND h.ts < to_timestamp(k.before) AND h.ts >= to_timestamp(k.before - ${maxS})
    WHERE h.ts >= to_timestamp(${lo}) AND h.ts < to_timestamp(${hi})
    ORDER BY h.icao24, h.ts`;
  options.onRowsRead?.(rows.length);
  for (const row of rows) {
    let list = history.get(row.icao24);
    if (!list) history.set(row.icao24, list = []);
    list.push(flightFromRow(row));
  }
  return { history, current, newest };
}

/**
 * `requests` without the aircraft about to get an update whose track has ended, by
 * {@link currentTrack}'s rule, read without reading their rows: every row of the window (and
 * the `flights_current` row, which currentTrack may add) has its time and its contact more
 * than `staleAfterS` before the update. currentTrack would return nothing for them, and the
 * server's aggregate says so in one row per aircraft instead of sending all of them: an
 * aircraft back after a silence (a return flight, say) had its whole previous track, up to
 * `maxS`, read and dropped: 77,709 rows, a quarter of what it wrote, in a 300,000-update drain
 * of `bench:worker`, every one of them dropped.
 */
async function withoutEndedTracks(
  sql: Sql,
  requests: readonly TrackRequest[],
  known: {
    current: ReadonlyMap<string, unknown>;
    newest: ReadonlyMap<string, number>;
    maxS: number;
    staleAfterS: number;
  },
): Promise<TrackRequest[]> {
  const { maxS, staleAfterS } = known;
  const cutoff = (r: TrackRequest) => r.beforeUnix - staleAfterS;
  const candidates = requests.filter((r) => {
    if (!r.trailingGap) return false;
    const contact = validFlight(known.current.get(r.icao24))?.last_contact_unix ?? -Infinity;
    // The newest row's time, with the same 1 ms of slack as above, and the current contact.
    return (known.newest.get(r.icao24) ?? Infinity) + 0.001 < cutoff(r) && contact < cutoff(r);
  });
  if (candidates.length === 0) return [...requests];
  const befores = candidates.map((r) => r.beforeUnix);
  // Times as epoch float8, as flightSelectList reads them (currentTrack compares those).
  const latest = await sql<{ icao24: string; contact: number }[]>`
    SELECT k.icao24,
      max(extract(epoch FROM greatest(h.ts, h.last_contact))::float8) AS contact
    FROM unnest(${sql.array(candidates.map((r) => r.icao24), 25)}::text[],
      ${sql.array(befores, 701)}::float8[]) AS k(icao24, before)
    JOIN flights_history h ON h.icao24 = k.icao24
      AND h.ts < to_timestamp(k.before) AND h.ts >= to_timestamp(k.before - ${maxS})
    WHERE h.ts >= to_timestamp(${Math.min(...befores) - maxS})
      AND h.ts < to_timestamp(${Math.max(...befores)})
    GROUP BY k.icao24`;
  const contacts = new Map(latest.map((r) => [r.icao24, r.contact]));
  const ended = new Set(
    candidates.filter((r) => (contacts.get(r.icao24) ?? -Infinity) < cutoff(r)).map((r) =>
      r.icao24
    ),
  );
  return requests.filter((r) => !ended.has(r.icao24));
}

/**
 * The flights after the last silence that ended the aircraft, by the
 * engine's rule: the next update came more than `staleAfterS` after both the
 * previous position and the latest contact so far.
 *
 * History keeps the first row of a repeated position; a repeat's later
 * `last_contact` survives only in `flights_current`, so that row is added
 * last when it belongs (the engine takes it as a duplicate and keeps its
 * contact time, which is what `flight_end` reports).
 */
function currentTrack(rows: Rows, request: TrackRequest, staleAfterS: number): Flight[] {
  const flights: Flight[] = [];
  for (const state of rows.history.get(request.icao24) ?? []) {
    // Our own rows, but a row that no longer fits the contract must not stop the worker.
    const flight = validFlight(state);
    if (flight) flights.push(flight);
  }
  const current = validFlight(rows.current.get(request.icao24));
  const last = flights[flights.length - 1];
  if (
    last && current &&
    current.time_position_unix === last.time_position_unix &&
    current.time_position_unix < request.beforeUnix
  ) {
    flights.push(current);
  }
  let start = 0;
  let contact = -Infinity;
  for (let i = 0; i < flights.length; i++) {
    const t = flights[i]!.time_position_unix;
    if (i > 0 && ended(flights[i - 1]!.time_position_unix, contact, t, staleAfterS)) start = i;
    contact = Math.max(contact, flights[i]!.last_contact_unix, t);
  }
  if (request.trailingGap && flights.length > 0) {
    const previous = flights[flights.length - 1]!.time_position_unix;
    if (ended(previous, contact, request.beforeUnix, staleAfterS)) return [];
  }
  return flights.slice(start);
}

/**
 * The flight as zod's `Flight` returns it, or undefined when invalid: the hand-written check
 * first (zod's safeParse of every replayed row was a fifth of the warm-up's CPU time), zod
 * when it is not sure.
 */
function validFlight(value: unknown): Flight | undefined {
  const checked = checkFlight(value);
  if (checked) return checked;
  const parsed = Flight.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Whether an update at `t` finds the aircraft ended (see processor.ts and the engine). */
function ended(previousT: number, contact: number, t: number, staleAfterS: number): boolean {
  return t - previousT > staleAfterS && contact < t - staleAfterS;
}
