/**
 * Numbers as aviation people read them: feet and flight levels, knots,
 * feet per minute, and short ages. Pure.
 *
 * @module
 */

/** Metres to feet. */
export const M_TO_FT = 3.28084;
/** m/s to knots. */
export const MPS_TO_KT = 1.943844;

const nf = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** `35,000 ft` / `FL350` above the transition (18,000 ft), `—` when unknown. */
export function formatAltitude(
  altM: number | null,
  options: { flightLevel?: boolean } = {},
): string {
  if (altM === null) return "—";
  const ft = altM * M_TO_FT;
  if (options.flightLevel && ft >= 18_000) {
    return `FL${String(Math.round(ft / 100)).padStart(3, "0")}`;
  }
  return `${nf.format(Math.round(ft / 25) * 25)} ft`;
}

/** Metres with the unit, for the secondary line. */
export function formatMetres(altM: number | null): string {
  return altM === null ? "—" : `${nf.format(Math.round(altM))} m`;
}

/** `452 kt`. */
export function formatSpeed(mps: number | null): string {
  return mps === null ? "—" : `${nf.format(Math.round(mps * MPS_TO_KT))} kt`;
}

/** `837 km/h`. */
export function formatKmh(mps: number | null): string {
  return mps === null ? "—" : `${nf.format(Math.round(mps * 3.6))} km/h`;
}

/** `+1,200 ft/min`, `0 ft/min` for level flight (within 64 ft/min). */
export function formatVerticalRate(mps: number | null): string {
  if (mps === null) return "—";
  const fpm = mps * M_TO_FT * 60;
  if (Math.abs(fpm) < 64) return "level";
  return `${fpm > 0 ? "+" : "−"}${nf.format(Math.round(Math.abs(fpm) / 50) * 50)} ft/min`;
}

/** `273°`. */
export function formatHeading(deg: number | null): string {
  return deg === null ? "—" : `${String(Math.round(deg) % 360).padStart(3, "0")}°`;
}

/** `4 s`, `2 min`, `1 h 5 min`. */
export function formatAge(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "—";
  const v = Math.max(0, Math.round(s));
  if (v < 60) return `${v} s`;
  if (v < 3600) return `${Math.floor(v / 60)} min`;
  return `${Math.floor(v / 3600)} h ${Math.floor(v % 3600 / 60)} min`;
}

/** `11:42:07Z` of an ISO time or unix seconds. */
export function formatClock(t: string | number): string {
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  return Number.isFinite(d.getTime()) ? `${d.toISOString().slice(11, 19)}Z` : "—";
}
