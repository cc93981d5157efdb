/**
 * The airports layer's data (`static/airports.json`, made from OurAirports
 * by `scripts/make_assets.ts`): large and medium airports with an IATA
 * code, a grid index for "nearest airport" (anomaly places) and for the
 * airports near the camera when zoomed in. Pure.
 *
 * @module
 */
import { haversineM } from "../geo/mod.ts";

/** `[ident, iata, name, lat, lon, size, country]`; size `L` large, `M` medium. */
export type AirportRow = [string, string, string, number, number, "L" | "M", string];

/** The file's shape. */
export interface AirportsFile {
  /** Provenance line. */
  source: string;
  fields: string[];
  airports: AirportRow[];
}

export interface Airport {
  ident: string;
  iata: string;
  name: string;
  lat: number;
  lon: number;
  large: boolean;
  country: string;
}

/** Camera altitude (fraction of the globe radius) below which airports are shown. */
export const AIRPORTS_MAX_ALTITUDE = 0.45;

const CELL_DEG = 2;

/** Airports with a 2-degree grid for neighbourhood queries. */
export class AirportIndex {
  readonly all: Airport[];
  readonly #grid = new Map<number, Airport[]>();

  constructor(rows: readonly AirportRow[]) {
    this.all = rows.map(([ident, iata, name, lat, lon, size, country]) => ({
      ident,
      iata,
      name,
      lat,
      lon,
      large: size === "L",
      country,
    }));
    for (const a of this.all) {
      const key = cellKey(a.lat, a.lon);
      const cell = this.#grid.get(key);
      if (cell) cell.push(a);
      else this.#grid.set(key, [a]);
    }
  }

  /** Airports within `radiusM` metres of a point, nearest first (large first at equal cells). */
  near(lat: number, lon: number, radiusM: number, limit = Infinity): Airport[] {
    const out: { a: Airport; d: number }[] = [];
    const dLat = radiusM / 111_000;
    const cos = Math.max(0.05, Math.cos(lat * Math.PI / 180));
    const dLon = Math.min(180, dLat / cos);
    for (
      let la = Math.floor((lat - dLat) / CELL_DEG);
      la <= Math.floor((lat + dLat) / CELL_DEG);
      la++
    ) {
      const lonCells = Math.min(
        Math.ceil(360 / CELL_DEG),
        Math.floor((lon + dLon) / CELL_DEG) - Math.floor((lon - dLon) / CELL_DEG) + 1,
      );
      const start = Math.floor((lon - dLon) / CELL_DEG);
      for (let k = 0; k < lonCells; k++) {
        const lo = wrapCell(start + k);
        for (const a of this.#grid.get(la * 1000 + lo) ?? []) {
          const d = haversineM({ lat: lat, lon: lon }, { lat: a.lat, lon: a.lon });
          if (d <= radiusM) out.push({ a, d });
        }
      }
    }
    out.sort((x, y) => x.d - y.d);
    return out.slice(0, limit).map((x) => x.a);
  }

  /** The nearest airport within `maxM` metres (default 150 km), or null. */
  nearest(
    lat: number,
    lon: number,
    maxM = 150_000,
  ): { airport: Airport; distanceM: number } | null {
    const [a] = this.near(lat, lon, maxM, 1);
    return a
      ? { airport: a, distanceM: haversineM({ lat: lat, lon: lon }, { lat: a.lat, lon: a.lon }) }
      : null;
  }

  /**
   * Airports to label for a camera at `altitude` (globe.gl point of view)
   * looking at `(lat, lng)`: none above {@link AIRPORTS_MAX_ALTITUDE}, then
   * the ones within the visible radius, large airports first, at most `max`.
   */
  visible(pov: { lat: number; lng: number; altitude: number }, max = 120): Airport[] {
    if (pov.altitude > AIRPORTS_MAX_ALTITUDE) return [];
    // Visible ground radius grows with the camera height (about 1.2 x height
    // for globe.gl's 50 degree field of view, close to the surface).
    const radiusM = Math.min(2_500_000, Math.max(60_000, pov.altitude * 6_371_000 * 1.2));
    const found = this.near(pov.lat, pov.lng, radiusM);
    const large = found.filter((a) => a.large);
    const medium = pov.altitude < AIRPORTS_MAX_ALTITUDE / 3 ? found.filter((a) => !a.large) : [];
    return [...large, ...medium].slice(0, max);
  }
}

/** A short place for a position: "12 km from Zurich (ZRH)", or the coordinates. */
export function describePlace(
  index: AirportIndex | null,
  lat: number,
  lon: number,
): string {
  const n = index?.nearest(lat, lon);
  if (!n) return `${lat.toFixed(2)}°, ${lon.toFixed(2)}°`;
  const km = n.distanceM / 1000;
  const name = shortName(n.airport.name);
  return km < 3
    ? `at ${name} (${n.airport.iata})`
    : `${km.toFixed(0)} km from ${name} (${n.airport.iata})`;
}

/** Drops the "Airport" / "International Airport" tails that make names long. */
export function shortName(name: string): string {
  return name.replace(/\s+(International\s+)?(Airport|Airfield|Aerodrome)$/i, "").trim() || name;
}

function cellKey(lat: number, lon: number): number {
  return Math.floor(lat / CELL_DEG) * 1000 + wrapCell(Math.floor(lon / CELL_DEG));
}

function wrapCell(c: number): number {
  const n = Math.ceil(360 / CELL_DEG);
  return ((c + n / 2) % n + n) % n - n / 2;
}
