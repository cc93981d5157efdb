/**
 * Offline detection over recorded OpenSky replies: maps the rows, orders
 * them, runs the {@link DetectionEngine}, and keeps the final version of
 * every event. Pure (the caller reads the files and hands in replies);
 * `scripts/detect.ts` and the tests drive it.
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { OpenSkyReply } from "../../contracts/opensky.ts";
import { stateVectorToFlight } from "../opensky/state_vector.ts";
import {
  createDetectionEngine,
  type DetectionEngine,
  type DetectionEngineOptions,
} from "./engine.ts";

/** Options for {@link createDetectionRun}. */
export interface DetectionRunOptions extends DetectionEngineOptions {
  /** Only these kinds in the result; all when absent. */
  kinds?: ReadonlySet<AnomalyKind>;
}

/** Counters of a run, for the one-line summary. */
export interface DetectionSummary {
  snapshots: number;
  /** Lines that were not a valid reply. */
  badLines: number;
  /** State vector rows read. */
  rows: number;
  /** Rows that did not map to a flight (no position, invalid field), by reason. */
  rowsRejected: number;
  rejectReasons: Record<string, number>;
  /** Updates the tracker used / ignored (duplicate or late). */
  accepted: number;
  ignored: number;
  /** Distinct aircraft seen. */
  aircraft: number;
  /** Final events by kind (after the kinds filter). */
  eventsByKind: Record<string, number>;
}

export interface DetectionRun {
  /** Processes one snapshot; snapshots must come in time order. */
  addSnapshot(reply: OpenSkyReply): void;
  /** Counts a line that was not a valid reply. */
  addBadLine(): void;
  /** Ends the input (every aircraft ended) and returns final events in first-emission order. */
  finish(): { events: AnomalyEvent[]; summary: DetectionSummary };
  readonly engine: DetectionEngine;
}

/** A run with an engine of its own. */
export function createDetectionRun(options: DetectionRunOptions): DetectionRun {
  const engine = createDetectionEngine(options);
  // Insertion order = first emission; later versions replace the value, not the position.
  const events = new Map<string, AnomalyEvent>();
  const seen = new Set<string>();
  const summary: DetectionSummary = {
    snapshots: 0,
    badLines: 0,
    rows: 0,
    rowsRejected: 0,
    rejectReasons: {},
    accepted: 0,
    ignored: 0,
    aircraft: 0,
    eventsByKind: {},
  };
  const keep = (list: AnomalyEvent[]) => {
    for (const event of list) events.set(event.id, event);
  };
  let lastTime = -Infinity;

  return {
    engine,
    addSnapshot(reply) {
      summary.snapshots++;
      const flights: Flight[] = [];
      for (const row of reply.states ?? []) {
        summary.rows++;
        const mapped = stateVectorToFlight(row);
        if (mapped.ok) {
          // A receiver recording keeps the declared emergencies beside the rows.
          const emergency = reply.emergency?.[mapped.flight.icao24];
          if (emergency !== undefined) mapped.flight.emergency = emergency;
          flights.push(mapped.flight);
        } else {
          summary.rowsRejected++;
          const key = mapped.reason.split(":").slice(0, 2).join(":").slice(0, 80);
          summary.rejectReasons[key] = (summary.rejectReasons[key] ?? 0) + 1;
        }
      }
      flights.sort((a, b) =>
        a.time_position_unix - b.time_position_unix ||
        (a.icao24 < b.icao24 ? -1 : a.icao24 > b.icao24 ? 1 : 0)
      );
      for (const flight of flights) {
        seen.add(flight.icao24);
        const result = engine.ingest(flight);
        if (result.status === "accepted") summary.accepted++;
        else summary.ignored++;
        keep(result.events);
      }
      if (reply.time > lastTime) {
        lastTime = reply.time;
        keep(engine.flush(reply.time).events);
      }
    },
    addBadLine() {
      summary.badLines++;
    },
    finish() {
      keep(engine.flush().events);
      const out = [...events.values()].filter((e) => !options.kinds || options.kinds.has(e.kind));
      summary.aircraft = seen.size;
      for (const event of out) {
        summary.eventsByKind[event.kind] = (summary.eventsByKind[event.kind] ?? 0) + 1;
      }
      return { events: out, summary };
    },
  };
}
