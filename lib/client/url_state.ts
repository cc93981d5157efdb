/**
 * The shareable part of the view in the URL hash:
 * `#sel=4b1901&view=cockpit&lat=46.8&lng=8.2&alt=0.35&t=2018-08-01T11:40:00Z&speed=10&q=SWR`.
 * Parsing is forgiving (a bad value is ignored, never thrown); formatting
 * leaves out defaults so links stay short. Pure.
 *
 * @module
 */

/** What the hash holds. Every field optional. */
export interface UrlState {
  /** Selected aircraft, icao24. */
  sel?: string;
  /** `cockpit` follows the selected aircraft; `globe` (default) is free. */
  view?: "globe" | "cockpit";
  /** Camera point of view: lat, lng (degrees) and altitude (fraction of the globe radius). */
  lat?: number;
  lng?: number;
  alt?: number;
  /** Time travel: the replayed instant, ISO 8601 UTC; absent means live. */
  t?: string;
  /** Time travel speed multiplier. */
  speed?: number;
  /** Search query. */
  q?: string;
}

const ICAO = /^[0-9a-f]{6}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

/** Reads a hash (with or without the leading `#`). */
export function parseHash(hash: string): UrlState {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const out: UrlState = {};
  const sel = params.get("sel")?.toLowerCase();
  if (sel && ICAO.test(sel)) out.sel = sel;
  const view = params.get("view");
  if (view === "cockpit" || view === "globe") out.view = view;
  const lat = finite(params.get("lat"), -90, 90);
  const lng = finite(params.get("lng"), -180, 180);
  const alt = finite(params.get("alt"), 0.001, 20);
  if (lat !== undefined && lng !== undefined) {
    out.lat = lat;
    out.lng = lng;
  }
  if (alt !== undefined) out.alt = alt;
  const t = params.get("t");
  if (t && ISO.test(t) && Number.isFinite(Date.parse(t))) out.t = new Date(t).toISOString();
  const speed = finite(params.get("speed"), 0.1, 600);
  if (speed !== undefined) out.speed = speed;
  const q = params.get("q");
  if (q) out.q = q.slice(0, 16);
  return out;
}

/** Writes a hash (with the leading `#`, or `""` when empty). */
export function formatHash(state: UrlState): string {
  const params = new URLSearchParams();
  if (state.sel) params.set("sel", state.sel);
  if (state.view === "cockpit") params.set("view", "cockpit");
  if (state.lat !== undefined && state.lng !== undefined) {
    params.set("lat", state.lat.toFixed(3));
    params.set("lng", state.lng.toFixed(3));
  }
  if (state.alt !== undefined) params.set("alt", state.alt.toFixed(3));
  if (state.t) params.set("t", state.t.replace(/\.000Z$/, "Z"));
  if (state.speed !== undefined && state.speed !== 1) params.set("speed", String(state.speed));
  if (state.q) params.set("q", state.q);
  const s = params.toString();
  return s === "" ? "" : `#${s}`;
}

function finite(v: string | null, min: number, max: number): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
}
