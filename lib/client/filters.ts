/**
 * What the viewer filters on (altitude band, ground/airborne) and searches
 * for (callsign or icao24). Filters become the hub `subscribe` filter, so
 * the server does the filtering; the same predicate runs locally for time
 * travel snapshots, which the hub does not filter: it is the hub's own rule
 * (lib/hub/filter.ts) applied to the same subscription, so the two cannot
 * drift. Pure.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import { FT } from "../geo/mod.ts";
import { compileFilter, type FlightPredicate } from "../hub/filter.ts";

/** The viewer's filter. Altitudes in feet: the unit of the UI. */
export interface FilterState {
  /** Lowest barometric altitude shown, feet; null: no lower bound. */
  minAltFt: number | null;
  /** Highest, feet; null: no upper bound. */
  maxAltFt: number | null;
  /** Show aircraft on the ground. */
  ground: boolean;
  /** Show airborne aircraft. */
  airborne: boolean;
}

export const DEFAULT_FILTER: Readonly<FilterState> = Object.freeze({
  minAltFt: null,
  maxAltFt: null,
  ground: true,
  airborne: true,
});

/** True when nothing is filtered out. */
export function isDefaultFilter(f: FilterState): boolean {
  return f.minAltFt === null && f.maxAltFt === null && f.ground && f.airborne;
}

/**
 * The hub filter for `f`. Both kinds unticked cannot be expressed (the UI
 * never allows it) and falls back to airborne only.
 */
export function toSubscription(f: FilterState): Subscription {
  const sub: Subscription = {};
  if (f.minAltFt !== null) sub.min_altitude_m = Math.round(f.minAltFt * FT);
  if (f.maxAltFt !== null) sub.max_altitude_m = Math.round(f.maxAltFt * FT);
  if (f.ground && !f.airborne) sub.on_ground = true;
  else if (!f.ground) sub.on_ground = false;
  return sub;
}

/**
 * The hub's predicate for `toSubscription(f)` (lib/hub/filter.ts), for
 * data the hub did not filter (time-travel snapshots). Compile once per
 * filter change, not per aircraft.
 */
export function filterPredicate(f: FilterState): FlightPredicate {
  return compileFilter(toSubscription(f));
}

/** True when `flight` passes `f` (the hub's rule; prefer {@link filterPredicate} in loops). */
export function matchesFilter(flight: Flight, f: FilterState): boolean {
  return filterPredicate(f)(flight);
}

/** Normalises a search query: trimmed, upper-case letters and digits only, at most 8. */
export function normaliseQuery(q: string): string {
  return q.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 8);
}

/**
 * How well a flight matches a normalised query (higher is better), 0 for
 * no match: exact callsign or icao24 first, then prefixes, then substrings.
 */
export function matchScore(flight: Flight, query: string): number {
  if (query === "") return 0;
  const cs = (flight.callsign ?? "").toUpperCase();
  const hex = flight.icao24.toUpperCase();
  if (cs === query || hex === query) return 4;
  if (cs.startsWith(query)) return 3;
  if (hex.startsWith(query)) return 2;
  if (cs.includes(query)) return 1;
  return 0;
}

/** Flights matching `query`, best first then by callsign, at most `limit`. */
export function searchFlights(
  flights: Iterable<Flight>,
  query: string,
  limit = 8,
): Flight[] {
  const q = normaliseQuery(query);
  if (q === "") return [];
  const hits: { f: Flight; s: number }[] = [];
  for (const f of flights) {
    const s = matchScore(f, q);
    if (s > 0) hits.push({ f, s });
  }
  hits.sort((a, b) =>
    b.s - a.s || (a.f.callsign ?? "~").localeCompare(b.f.callsign ?? "~") ||
    a.f.icao24.localeCompare(b.f.icao24)
  );
  return hits.slice(0, limit).map((h) => h.f);
}
