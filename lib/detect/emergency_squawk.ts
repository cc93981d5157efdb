/**
 * Emergency squawks: 7500 (unlawful interference), 7600 (radio failure),
 * 7700 (general emergency). Severity critical.
 *
 * Rule (after xoolive/traffic's emergency segments):
 * - onset: the first update squawking one of the codes opens an event with
 *   `ended_at` null, emitted at once;
 * - clearance: the squawk reads another code for at least
 *   {@link CLEAR_AFTER_S} (30 s) of data time: the same event (same id) is
 *   re-emitted with `ended_at` = the first update that showed the other code.
 *   A shorter flicker (a mis-decoded reply) does not end it;
 * - segments split on gaps: if the code has not been seen for more than
 *   {@link SPLIT_GAP_S} (10 min, as traffic splits 7700 segments), the open
 *   event ends at the last update that showed it and a later sighting starts
 *   a new event; a change between two emergency codes also starts a new one;
 * - a null squawk says nothing either way;
 * - when the aircraft stops being tracked the open event ends at the last
 *   update that showed the code (`closed_by` says why).
 *
 * Evidence: `squawk`, `meaning`, `observations` (updates with the code),
 * `last_seen_at`, `duration_s`, `closed_by`.
 *
 * Receivers also report the transponder's declared emergency state (readsb's
 * `emergency`, the flight's optional `emergency` field): a declared state
 * without a 7x00 squawk is handled like a code of its own (`emergency:nordo`
 * ...), with `emergency` in the evidence and `squawk` the code squawked.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import { isoTime, makeEvent } from "./event.ts";
import type { AircraftDetector, CloseReason, Observation } from "./types.ts";

/** Squawk codes and what they mean. */
export const EMERGENCY_SQUAWKS: Readonly<Record<string, string>> = Object.freeze({
  "7500": "unlawful interference",
  "7600": "radio failure",
  "7700": "general emergency",
});
/** Declared emergency states (flight `emergency`) and what they mean. */
export const EMERGENCY_STATES: Readonly<Record<string, string>> = Object.freeze({
  general: "general emergency",
  lifeguard: "lifeguard / medical emergency",
  minfuel: "minimum fuel",
  nordo: "no communications",
  unlawful: "unlawful interference",
  downed: "downed aircraft",
});

/** The code an update shows: a 7x00 squawk first, else the declared state, else the squawk. */
function shownCode(flight: Observation["flight"]): string | null {
  if (flight.squawk !== null && flight.squawk in EMERGENCY_SQUAWKS) return flight.squawk;
  if (flight.emergency !== undefined) return `emergency:${flight.emergency}`;
  return flight.squawk;
}

function meaningOf(code: string): string | undefined {
  return code.startsWith("emergency:")
    ? EMERGENCY_STATES[code.slice("emergency:".length)]
    : EMERGENCY_SQUAWKS[code];
}

/** Another code for this long clears the emergency, s. */
export const CLEAR_AFTER_S = 30;
/** Longer without the code splits it into two events, s. */
export const SPLIT_GAP_S = 600;

interface Segment {
  squawk: string;
  /** The squawk shown at onset (differs from `squawk` for declared states). */
  transponderSquawk: string | null;
  startedAt: number;
  lastSeenAt: number;
  observations: number;
  position: { lat: number; lon: number; altitude_m: number | null };
  callsign: string | null;
  /** First update with another code since the last sighting, or null. */
  otherSince: number | null;
}

/** Per-aircraft emergency-squawk state machine. */
export class EmergencySquawkDetector implements AircraftDetector {
  readonly #icao24: string;
  #open: Segment | null = null;

  constructor(icao24: string) {
    this.#icao24 = icao24;
  }

  update(obs: Observation, out: AnomalyEvent[]): void {
    const squawk = shownCode(obs.flight);
    const open = this.#open;
    if (open !== null && obs.t - open.lastSeenAt > SPLIT_GAP_S) {
      this.#end(open.lastSeenAt, "gap", out);
    }
    if (squawk === null) return;
    const current = this.#open;
    if (meaningOf(squawk) !== undefined) {
      if (current !== null && current.squawk === squawk) {
        current.lastSeenAt = obs.t;
        current.observations++;
        current.otherSince = null;
        if (obs.flight.callsign !== null) current.callsign = obs.flight.callsign;
        return;
      }
      if (current !== null) this.#end(obs.t, "code_changed", out);
      this.#open = {
        squawk,
        transponderSquawk: obs.flight.squawk,
        startedAt: obs.t,
        lastSeenAt: obs.t,
        observations: 1,
        position: { lat: obs.est.lat, lon: obs.est.lon, altitude_m: obs.est.altitude_m },
        callsign: obs.flight.callsign,
        otherSince: null,
      };
      out.push(this.#event(this.#open, null, null));
      return;
    }
    if (current === null) return;
    current.otherSince ??= obs.t;
    if (obs.t - current.otherSince >= CLEAR_AFTER_S) {
      this.#end(current.otherSince, "cleared", out);
    }
  }

  close(reason: CloseReason, _lastSeenUnix: number, out: AnomalyEvent[]): void {
    const open = this.#open;
    if (open === null) return;
    // A pending clearance that had not lasted long enough still marks where the code went.
    this.#end(open.otherSince ?? open.lastSeenAt, reason, out);
  }

  #end(endedAt: number, closedBy: string, out: AnomalyEvent[]): void {
    const open = this.#open;
    if (open === null) return;
    this.#open = null;
    out.push(this.#event(open, endedAt, closedBy));
  }

  #event(seg: Segment, endedAt: number | null, closedBy: string | null): AnomalyEvent {
    return makeEvent({
      kind: "emergency_squawk",
      severity: "critical",
      icao24: this.#icao24,
      callsign: seg.callsign,
      startedAtUnix: seg.startedAt,
      endedAtUnix: endedAt,
      position: seg.position,
      evidence: {
        ...(seg.squawk.startsWith("emergency:")
          ? { squawk: seg.transponderSquawk, emergency: seg.squawk.slice("emergency:".length) }
          : { squawk: seg.squawk }),
        meaning: meaningOf(seg.squawk),
        observations: seg.observations,
        last_seen_at: isoTime(seg.lastSeenAt),
        duration_s: (endedAt ?? seg.lastSeenAt) - seg.startedAt,
        closed_by: closedBy,
      },
    });
  }
}
