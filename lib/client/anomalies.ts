/**
 * The anomaly feed: events from `/api/anomalies` and live `anomaly`
 * messages merged by id (a later copy of an event, e.g. with its end time
 * set, replaces the earlier one), newest first, capped. Also which events
 * count as emergencies on the globe. Pure.
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind } from "../../contracts/anomaly.ts";

/** Squawks that declare an emergency: hijack, radio failure, general emergency. */
export const EMERGENCY_SQUAWKS: Readonly<Record<string, string>> = Object.freeze({
  "7500": "hijack",
  "7600": "radio failure",
  "7700": "emergency",
});

const LABELS: Record<AnomalyKind, string> = {
  emergency_squawk: "Emergency squawk",
  emergency_descent: "Emergency descent",
  go_around: "Go-around",
  holding: "Holding",
  takeoff: "Take-off",
  landing: "Landing",
  flight_end: "Flight end",
};

/** Readable name of a kind (unknown kinds are shown as they come). */
export function kindLabel(kind: string): string {
  return (LABELS as Record<string, string>)[kind] ?? kind.replace(/_/g, " ");
}

/** Session events (take-off, landing, end) are routine: the feed can hide them. */
export function isRoutine(e: AnomalyEvent): boolean {
  return e.kind === "takeoff" || e.kind === "landing" || e.kind === "flight_end";
}

/**
 * True when the event should pulse on the globe: a critical event that is
 * still going on, or ended less than `recentS` seconds before `nowS`.
 */
export function isActiveEmergency(e: AnomalyEvent, nowS: number, recentS = 600): boolean {
  if (e.severity !== "critical") return false;
  if (e.ended_at === null) return nowS - Date.parse(e.started_at) / 1000 < 6 * 3600;
  return nowS - Date.parse(e.ended_at) / 1000 < recentS;
}

export class AnomalyFeed {
  readonly #byId = new Map<string, AnomalyEvent>();
  readonly #max: number;
  #sorted: AnomalyEvent[] | null = [];
  /** Bumped on every change, for cheap "did it change" checks. */
  version = 0;

  constructor(max = 300) {
    this.#max = max;
  }

  /** Adds or replaces events; returns how many were new. */
  add(events: Iterable<AnomalyEvent>): number {
    let added = 0;
    for (const e of events) {
      const old = this.#byId.get(e.id);
      if (old && JSON.stringify(old) === JSON.stringify(e)) continue;
      if (!old) added++;
      this.#byId.set(e.id, e);
      this.#sorted = null;
      this.version++;
    }
    if (this.#byId.size > this.#max) {
      for (const e of this.list().slice(this.#max)) this.#byId.delete(e.id);
      this.#sorted = null;
    }
    return added;
  }

  /** Newest first (by start time, then id for a stable order). */
  list(): AnomalyEvent[] {
    this.#sorted ??= [...this.#byId.values()].sort((a, b) =>
      b.started_at.localeCompare(a.started_at) || a.id.localeCompare(b.id)
    );
    return this.#sorted;
  }

  get(id: string): AnomalyEvent | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}
