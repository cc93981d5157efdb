/**
 * Typed `fetch` wrappers for the history API. Responses are trusted for
 * their shape (the server validates with the contracts) but errors are
 * turned into {@link ApiFailure}s carrying the server's message. No DOM.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { Session, TrackPoint } from "../../contracts/api.ts";

export class ApiFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
  }
}

export interface ApiOptions {
  /** Origin and prefix, e.g. `""` (same origin) or `http://localhost:8000`. */
  base?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

async function getJson<T>(path: string, options: ApiOptions): Promise<T> {
  const res = await (options.fetch ?? fetch)(`${options.base ?? ""}${path}`, {
    headers: { accept: "application/json" },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (typeof body?.error?.message === "string") message = body.error.message;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiFailure(res.status, message);
  }
  return await res.json() as T;
}

/** `GET /api/flights`. */
export function fetchFlights(
  options: ApiOptions = {},
): Promise<{ flights: Flight[]; count: number; at: string }> {
  return getJson("/api/flights", options);
}

/** `GET /api/flights/:icao24`. */
export function fetchFlightDetail(
  icao24: string,
  options: ApiOptions = {},
): Promise<{ icao24: string; flight: Flight | null; session: Session | null }> {
  return getJson(`/api/flights/${encodeURIComponent(icao24)}`, options);
}

/** `GET /api/flights/:icao24/track?from&to` (ISO times; both optional). */
export function fetchTrack(
  icao24: string,
  range: { from?: string; to?: string },
  options: ApiOptions = {},
): Promise<{ icao24: string; from: string; to: string; points: TrackPoint[] }> {
  const q = new URLSearchParams();
  if (range.from) q.set("from", range.from);
  if (range.to) q.set("to", range.to);
  const qs = q.toString();
  return getJson(`/api/flights/${encodeURIComponent(icao24)}/track${qs ? `?${qs}` : ""}`, options);
}

/** `GET /api/snapshot?at=&bbox=`: every aircraft at a past instant. */
export function fetchSnapshot(
  at: string,
  options: ApiOptions & { bbox?: [number, number, number, number] } = {},
): Promise<{ at: string; flights: Flight[]; count: number }> {
  const q = new URLSearchParams({ at });
  if (options.bbox) q.set("bbox", options.bbox.join(","));
  return getJson(`/api/snapshot?${q}`, options);
}

/** `GET /api/anomalies?since&until&kind&limit&cursor`. */
export function fetchAnomalies(
  query: { since?: string; until?: string; kind?: string; limit?: number; cursor?: string },
  options: ApiOptions = {},
): Promise<{ anomalies: AnomalyEvent[]; next_cursor: string | null }> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return getJson(`/api/anomalies${qs ? `?${qs}` : ""}`, options);
}
