/**
 * The top bar: logo, search (with results to jump to), connection state,
 * aircraft in view and in total, and data freshness.
 *
 * @module
 */
import type { Ref } from "preact";
import type { Flight } from "../contracts/flight.ts";
import { formatAge, formatAltitude, formatClock } from "../lib/client/format.ts";
import { LogoIcon, SearchIcon } from "./Icons.tsx";

export interface TopBarProps {
  mode: "live" | "replay";
  connection: "connecting" | "live" | "reconnecting" | "stopped";
  retryInMs: number | null;
  /** Aircraft drawn (the subscribed viewport). */
  count: number;
  /** Aircraft inside what the camera shows. */
  inView: number;
  /** Aircraft in the whole world (from the hub); null when unknown. */
  total: number | null;
  freshnessS: number | null;
  nowS: number;
  query: string;
  results: Flight[];
  matches: number;
  searchRef?: Ref<HTMLInputElement>;
  onQuery(q: string): void;
  onJump(icao24: string): void;
}

/** The state pill's class and text. */
export function statusOf(p: Pick<TopBarProps, "mode" | "connection" | "retryInMs">): {
  cls: string;
  text: string;
} {
  if (p.mode === "replay") return { cls: "replay", text: "Time travel" };
  switch (p.connection) {
    case "live":
      return { cls: "live", text: "Live" };
    case "reconnecting":
      return {
        cls: "reconnecting",
        text: p.retryInMs ? `Reconnecting in ${Math.ceil(p.retryInMs / 1000)} s` : "Reconnecting",
      };
    case "connecting":
      return { cls: "connecting", text: "Connecting" };
    default:
      return { cls: "offline", text: "Offline" };
  }
}

export function TopBar(p: TopBarProps) {
  const status = statusOf(p);
  const stale = p.mode === "live" && p.freshnessS !== null && p.freshnessS > 30;
  return (
    <header class="topbar">
      <div class="brand">
        <LogoIcon size={22} />
        <span class="brand-name">SkySentinel</span>
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const first = p.results[0];
          if (first) p.onJump(first.icao24);
        }}
      >
        <SearchIcon size={15} />
        <input
          ref={p.searchRef}
          id="search"
          type="search"
          placeholder="Callsign or ICAO24"
          aria-label="Search aircraft by callsign or ICAO 24-bit address (press /)"
          autocomplete="off"
          spellcheck={false}
          value={p.query}
          onInput={(e) => p.onQuery((e.currentTarget as HTMLInputElement).value)}
        />
        <kbd class="hint">/</kbd>
        {p.query.trim() !== "" && (
          <ul
            class="results"
            role="listbox"
            aria-label="Matching aircraft"
            data-matches={p.matches}
          >
            {p.results.length === 0 && <li class="empty">No aircraft matches “{p.query}”</li>}
            {p.results.map((f) => (
              <li key={f.icao24} role="option">
                <button
                  type="button"
                  class="result"
                  data-icao24={f.icao24}
                  onClick={() => p.onJump(f.icao24)}
                >
                  <span class="cs">{f.callsign || "—"}</span>
                  <span class="hex">{f.icao24}</span>
                  <span class="alt">
                    {f.on_ground ? "ground" : formatAltitude(f.altitude_m, { flightLevel: true })}
                  </span>
                </button>
              </li>
            ))}
            {p.matches > p.results.length && (
              <li class="more">{p.matches - p.results.length} more highlighted on the globe</li>
            )}
          </ul>
        )}
      </form>
      <div class="status" aria-live="polite">
        <span class={`pill ${status.cls}`} data-status={status.cls}>
          <span class="dot" />
          {status.text}
        </span>
        <span
          class="count"
          id="aircraft-count"
          data-count={p.count}
          data-in-view={p.inView}
          data-total={p.total ?? ""}
          title={`${p.count.toLocaleString("en-US")} aircraft loaded around the view`}
        >
          <b>{p.inView.toLocaleString("en-US")}</b> in view
          {p.total !== null && <>{" "}of {p.total.toLocaleString("en-US")}</>}
        </span>
        <span class={`fresh ${stale ? "stale" : ""}`} title="Age of the newest position report">
          {p.mode === "replay"
            ? formatClock(p.nowS)
            : p.freshnessS === null
            ? "no data"
            : `data ${formatAge(p.freshnessS)} old`}
        </span>
      </div>
    </header>
  );
}
