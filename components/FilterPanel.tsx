/**
 * Filters: altitude band and ground/airborne. Applied by the hub (sent as
 * `subscribe`) and locally in time travel.
 *
 * @module
 */
import type { FilterState } from "../lib/client/filters.ts";
import { isDefaultFilter } from "../lib/client/filters.ts";
import { FilterIcon } from "./Icons.tsx";

/** Altitude choices, feet; null is "no bound". */
const LOWER: (number | null)[] = [null, 1_000, 5_000, 10_000, 20_000, 30_000];
const UPPER: (number | null)[] = [5_000, 10_000, 20_000, 30_000, 40_000, null];

export interface FilterPanelProps {
  filter: FilterState;
  open: boolean;
  onToggle(): void;
  onChange(patch: Partial<FilterState>): void;
}

const label = (ft: number | null, none: string) =>
  ft === null ? none : ft >= 18_000 ? `FL${ft / 100}` : `${ft.toLocaleString("en-US")} ft`;

export function FilterPanel(p: FilterPanelProps) {
  const f = p.filter;
  const active = !isDefaultFilter(f);
  return (
    <section class={`card filters ${p.open ? "open" : ""}`} aria-label="Filters">
      <button
        type="button"
        class={`card-head toggle ${active ? "active" : ""}`}
        aria-expanded={p.open}
        onClick={p.onToggle}
      >
        <FilterIcon size={14} />
        <span>Filters</span>
        {active && <span class="badge">on</span>}
      </button>
      {p.open && (
        <div class="card-body">
          <label class="field">
            <span>Above</span>
            <select
              id="filter-min"
              value={String(f.minAltFt)}
              onChange={(e) => {
                const v = (e.currentTarget as HTMLSelectElement).value;
                p.onChange({ minAltFt: v === "null" ? null : Number(v) });
              }}
            >
              {LOWER.map((v) => (
                <option key={String(v)} value={String(v)}>{label(v, "any")}</option>
              ))}
            </select>
          </label>
          <label class="field">
            <span>Below</span>
            <select
              id="filter-max"
              value={String(f.maxAltFt)}
              onChange={(e) => {
                const v = (e.currentTarget as HTMLSelectElement).value;
                p.onChange({ maxAltFt: v === "null" ? null : Number(v) });
              }}
            >
              {UPPER.map((v) => (
                <option key={String(v)} value={String(v)}>{label(v, "any")}</option>
              ))}
            </select>
          </label>
          <div class="checks">
            <label>
              <input
                id="filter-airborne"
                type="checkbox"
                checked={f.airborne}
                onChange={(e) =>
                  p.onChange({ airborne: (e.currentTarget as HTMLInputElement).checked })}
              />
              Airborne
            </label>
            <label>
              <input
                id="filter-ground"
                type="checkbox"
                checked={f.ground}
                onChange={(e) =>
                  p.onChange({ ground: (e.currentTarget as HTMLInputElement).checked })}
              />
              On ground
            </label>
          </div>
          {active && (
            <button
              type="button"
              class="link"
              onClick={() =>
                p.onChange({ minAltFt: null, maxAltFt: null, ground: true, airborne: true })}
            >
              Clear filters
            </button>
          )}
        </div>
      )}
    </section>
  );
}
