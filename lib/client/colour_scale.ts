/**
 * Altitude colour scale of the aircraft markers and the legend: warm near
 * the ground, green through the climb, cyan to violet at cruise levels, the
 * palette flight-tracking sites use. Ground traffic and ghosts (aircraft
 * extrapolated for a long time) have colours of their own. Pure.
 *
 * @module
 */

/** RGB, each 0..1. */
export type Rgb = [number, number, number];

/** One stop of the scale: altitude in metres, hue (degrees), saturation and lightness (0..1). */
export interface ColourStop {
  altM: number;
  h: number;
  s: number;
  l: number;
}

/** The stops, ascending in altitude. Above the last one the colour stays. */
export const ALTITUDE_STOPS: readonly ColourStop[] = [
  { altM: 0, h: 18, s: 1, l: 0.55 },
  { altM: 600, h: 32, s: 1, l: 0.55 },
  { altM: 1800, h: 52, s: 1, l: 0.52 },
  { altM: 3600, h: 90, s: 0.85, l: 0.5 },
  { altM: 6000, h: 140, s: 0.8, l: 0.5 },
  { altM: 9000, h: 185, s: 0.9, l: 0.52 },
  { altM: 11000, h: 215, s: 1, l: 0.62 },
  { altM: 13000, h: 285, s: 0.9, l: 0.68 },
];

/** Aircraft reporting on ground. */
export const GROUND_COLOUR: Rgb = [0.62, 0.66, 0.72];
/** Airborne without altitude. */
export const UNKNOWN_ALTITUDE_COLOUR: Rgb = [0.9, 0.9, 0.9];
/** What ghosts fade towards (a dim blue-grey that reads as "not current" on the dark globe). */
export const GHOST_COLOUR: Rgb = [0.3, 0.36, 0.46];
/** Search matches and the selected aircraft. */
export const HIGHLIGHT_COLOUR: Rgb = [1, 1, 1];
/** Emergency squawks. */
export const EMERGENCY_COLOUR: Rgb = [1, 0.15, 0.2];

/** HSL (h degrees, s and l 0..1) to RGB 0..1. */
export function hslToRgb(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1
    ? [c, x, 0]
    : hp < 2
    ? [x, c, 0]
    : hp < 3
    ? [0, c, x]
    : hp < 4
    ? [0, x, c]
    : hp < 5
    ? [x, 0, c]
    : [c, 0, x];
  const m = l - c / 2;
  return [r + m, g + m, b + m];
}

/** Colour of an airborne aircraft at `altM` metres (interpolated in HSL between stops). */
export function altitudeColour(altM: number): Rgb {
  const stops = ALTITUDE_STOPS;
  const first = stops[0]!;
  if (!(altM > first.altM)) return hslToRgb(first.h, first.s, first.l);
  for (let i = 1; i < stops.length; i++) {
    const b = stops[i]!;
    if (altM <= b.altM) {
      const a = stops[i - 1]!;
      const f = (altM - a.altM) / (b.altM - a.altM);
      return hslToRgb(a.h + (b.h - a.h) * f, a.s + (b.s - a.s) * f, a.l + (b.l - a.l) * f);
    }
  }
  const last = stops[stops.length - 1]!;
  return hslToRgb(last.h, last.s, last.l);
}

/** Marker colour of an aircraft: ground, unknown altitude, or by altitude. */
export function aircraftColour(altM: number | null, onGround: boolean): Rgb {
  if (onGround) return GROUND_COLOUR;
  if (altM === null) return UNKNOWN_ALTITUDE_COLOUR;
  return altitudeColour(altM);
}

/** `a` mixed towards `b` by `f` (0..1), written into `out`. */
export function mix(a: Rgb, b: Rgb, f: number, out: Rgb = [0, 0, 0]): Rgb {
  out[0] = a[0] + (b[0] - a[0]) * f;
  out[1] = a[1] + (b[1] - a[1]) * f;
  out[2] = a[2] + (b[2] - a[2]) * f;
  return out;
}

/** `#rrggbb` of an RGB colour. */
export function toHex(c: Rgb): string {
  const h = (v: number) =>
    Math.round(Math.max(0, Math.min(1, v)) * 255).toString(16).padStart(2, "0");
  return `#${h(c[0])}${h(c[1])}${h(c[2])}`;
}

/** A CSS linear-gradient (left to right, 0 m to the top stop) for the legend bar. */
export function legendGradient(): string {
  const top = ALTITUDE_STOPS[ALTITUDE_STOPS.length - 1]!.altM;
  const parts = ALTITUDE_STOPS.map((s) =>
    `${toHex(hslToRgb(s.h, s.s, s.l))} ${(s.altM / top * 100).toFixed(1)}%`
  );
  return `linear-gradient(90deg, ${parts.join(", ")})`;
}

/** Legend ticks: feet (the unit pilots and spotters use) and where they sit on the bar, 0..1. */
export function legendTicks(): { label: string; at: number }[] {
  const top = ALTITUDE_STOPS[ALTITUDE_STOPS.length - 1]!.altM;
  return [0, 10_000, 20_000, 30_000, 40_000].map((ft) => ({
    label: ft === 0 ? "0" : `${ft / 1000}k`,
    at: Math.min(1, ft * 0.3048 / top),
  }));
}
