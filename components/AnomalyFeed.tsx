/**
 * The anomaly feed: newest first, emergencies marked; a click flies to the
 * aircraft. Routine session events (take-off, landing) can be hidden.
 *
 * @module
 */
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import { isRoutine, kindLabel } from "../lib/client/anomalies.ts";
import { formatAge, formatClock } from "../lib/client/format.ts";
import { AlertIcon } from "./Icons.tsx";

export interface AnomalyFeedProps {
  events: AnomalyEvent[];
  nowS: number;
  open: boolean;
  showRoutine: boolean;
  /** Where an event happened, in words (nearest airport). */
  place(e: AnomalyEvent): string;
  onToggle(): void;
  onRoutine(show: boolean): void;
  onFocus(id: string): void;
}

export function AnomalyFeed(p: AnomalyFeedProps) {
  const shown = (p.showRoutine ? p.events : p.events.filter((e) => !isRoutine(e))).slice(0, 60);
  const critical = p.events.filter((e) => e.severity === "critical" && e.ended_at === null).length;
  return (
    <section class={`card feed ${p.open ? "open" : ""}`} aria-label="Anomalies">
      <button type="button" class="card-head toggle" aria-expanded={p.open} onClick={p.onToggle}>
        <AlertIcon size={14} />
        <span>Anomalies</span>
        <span class="badge" data-anomaly-count={p.events.length}>{p.events.length}</span>
        {critical > 0 && <span class="badge critical">{critical} active</span>}
      </button>
      {p.open && (
        <div class="card-body">
          <label class="routine">
            <input
              type="checkbox"
              checked={p.showRoutine}
              onChange={(e) => p.onRoutine((e.currentTarget as HTMLInputElement).checked)}
            />
            show take-offs and landings
          </label>
          {shown.length === 0 && <p class="note">No anomalies in the last 24 hours.</p>}
          <ol class="events" id="anomaly-list">
            {shown.map((e) => (
              <li key={e.id}>
                <button
                  type="button"
                  class={`event sev-${e.severity}`}
                  data-anomaly-id={e.id}
                  data-icao24={e.icao24}
                  onClick={() => p.onFocus(e.id)}
                >
                  <span class="kind">{kindLabel(e.kind)}</span>
                  <span class="who">{e.callsign || e.icao24}</span>
                  <span class="when" title={e.started_at}>
                    {formatClock(e.started_at)}
                    {e.ended_at === null
                      ? " · ongoing"
                      : ` · ${formatAge(p.nowS - Date.parse(e.started_at) / 1000)} ago`}
                  </span>
                  <span class="where">{p.place(e)}</span>
                </button>
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
