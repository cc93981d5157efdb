/**
 * Runway ends from the OurAirports `runways.csv` (public domain), and a grid
 * index to find the ends near a position quickly.
 *
 * The parser is pure and takes the CSV text: the caller reads the file. Each
 * CSV row is one runway with a low (`le_`) and a high (`he_`) end; each end
 * with coordinates becomes one {@link RunwayEnd} whose heading points along
 * the landing direction. Rows without coordinates for an end (helipads,
 * strips nobody surveyed) give nothing for that end; closed runways are
 * skipped. A missing heading is computed from the two ends; a missing
 * elevation is taken from the other end, else left null.
 *
 * @module
 */
import { FT } from "../geo/units.ts";
import { haversineM, initialBearingDeg } from "../geo/sphere.ts";
import { normalizeDeg } from "../geo/angles.ts";

/** One landing direction of a runway. */
export interface RunwayEnd {
  /** Airport ident, e.g. `LFBO`. */
  airport: string;
  /** Runway end ident, e.g. `32R`. */
  runway: string;
  /** Threshold (runway end) latitude, degrees. */
  lat: number;
  /** Threshold longitude, degrees. */
  lon: number;
  /** Threshold elevation, metres above mean sea level; null when unknown. */
  elevation_m: number | null;
  /** True heading of the landing direction, degrees. */
  heading_deg: number;
  /** Runway length, metres; null when unknown. */
  length_m: number | null;
  /** Displaced threshold, metres from the runway end; 0 when none. */
  displaced_threshold_m: number;
}

/** Result of {@link parseRunwaysCsv}. */
export interface ParsedRunways {
  ends: RunwayEnd[];
  /** Data rows read. */
  rows: number;
  /** Rows that gave no end (no coordinates, closed, malformed). */
  skipped: number;
}

const REQUIRED = [
  "airport_ident",
  "length_ft",
  "closed",
  "le_ident",
  "le_latitude_deg",
  "le_longitude_deg",
  "le_elevation_ft",
  "le_heading_degT",
  "le_displaced_threshold_ft",
  "he_ident",
  "he_latitude_deg",
  "he_longitude_deg",
  "he_elevation_ft",
  "he_heading_degT",
  "he_displaced_threshold_ft",
] as const;

/**
 * Parses the OurAirports runways CSV. Throws a `SyntaxError` when the header
 * lacks a required column; bad rows are counted in `skipped`.
 */
export function parseRunwaysCsv(text: string): ParsedRunways {
  const records = parseCsv(text);
  const header = records.next();
  if (header.done) throw new SyntaxError("runways CSV: empty");
  const col = new Map(header.value.map((name, i) => [name.trim(), i]));
  for (const name of REQUIRED) {
    if (!col.has(name)) throw new SyntaxError(`runways CSV: no column "${name}"`);
  }
  const at = (row: string[], name: (typeof REQUIRED)[number]) => row[col.get(name)!] ?? "";
  const ends: RunwayEnd[] = [];
  let rows = 0;
  let skipped = 0;
  for (const row of records) {
    if (row.length === 1 && row[0] === "") continue;
    rows++;
    if (at(row, "closed") === "1") {
      skipped++;
      continue;
    }
    const le = endOf(row, at, "le");
    const he = endOf(row, at, "he");
    if (le === null && he === null) {
      skipped++;
      continue;
    }
    const lengthFt = num(at(row, "length_ft"));
    const length = lengthFt === null ? null : lengthFt * FT;
    for (const [self, other] of [[le, he], [he, le]] as const) {
      if (self === null) continue;
      let heading = self.heading;
      if (heading === null && other !== null && haversineM(self, other) > 1) {
        heading = initialBearingDeg(self, other);
      }
      if (heading === null) continue;
      ends.push({
        airport: at(row, "airport_ident"),
        runway: self.ident,
        lat: self.lat,
        lon: self.lon,
        elevation_m: self.elevationFt !== null
          ? self.elevationFt * FT
          : other?.elevationFt != null
          ? other.elevationFt * FT
          : null,
        heading_deg: normalizeDeg(heading),
        length_m: length,
        displaced_threshold_m: (self.displacedFt ?? 0) * FT,
      });
    }
  }
  return { ends, rows, skipped };
}

interface RawEnd {
  ident: string;
  lat: number;
  lon: number;
  elevationFt: number | null;
  heading: number | null;
  displacedFt: number | null;
}

function endOf(
  row: string[],
  at: (row: string[], name: (typeof REQUIRED)[number]) => string,
  side: "le" | "he",
): RawEnd | null {
  const lat = num(at(row, `${side}_latitude_deg`));
  const lon = num(at(row, `${side}_longitude_deg`));
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return {
    ident: at(row, `${side}_ident`),
    lat,
    lon,
    elevationFt: num(at(row, `${side}_elevation_ft`)),
    heading: num(at(row, `${side}_heading_degT`)),
    displacedFt: num(at(row, `${side}_displaced_threshold_ft`)),
  };
}

function num(text: string): number | null {
  if (text.trim() === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines. */
function* parseCsv(text: string): Generator<string[]> {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const row: string[] = [];
    while (true) {
      let field = "";
      if (text[i] === '"') {
        i++;
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else {
            field += c;
            i++;
          }
        }
        // Anything between the closing quote and the delimiter is kept as is.
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") field += text[i++];
      } else {
        const start = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") i++;
        field = text.slice(start, i);
      }
      row.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      break;
    }
    yield row;
  }
}

/** A runway end found near a position, with its distance. */
export interface NearbyRunwayEnd {
  end: RunwayEnd;
  /** Great-circle distance from the query position to the threshold, m. */
  distance_m: number;
}

/** Grid index of runway ends; build with {@link createRunwayIndex}. */
export interface RunwayIndex {
  readonly size: number;
  /** Ends within `radiusM` of the position, nearest first. */
  near(lat: number, lon: number, radiusM: number): NearbyRunwayEnd[];
}

/** Options for {@link createRunwayIndex}. */
export interface RunwayIndexOptions {
  /** Grid cell size, degrees. Default 1. */
  cellDeg?: number;
}

const M_PER_DEG_LAT = 111_195;

/** Buckets the ends by a lat/lon grid so a query scans only the cells around it. */
export function createRunwayIndex(
  ends: readonly RunwayEnd[],
  options: RunwayIndexOptions = {},
): RunwayIndex {
  const cell = options.cellDeg ?? 1;
  const lonCells = Math.round(360 / cell);
  const buckets = new Map<number, RunwayEnd[]>();
  const keyOf = (latCell: number, lonCell: number) =>
    latCell * lonCells + (((lonCell % lonCells) + lonCells) % lonCells);
  for (const end of ends) {
    const key = keyOf(Math.floor(end.lat / cell), Math.floor(end.lon / cell));
    let bucket = buckets.get(key);
    if (bucket === undefined) buckets.set(key, bucket = []);
    bucket.push(end);
  }
  return {
    size: ends.length,
    near(lat, lon, radiusM) {
      const dLat = radiusM / M_PER_DEG_LAT;
      const cosLat = Math.cos((Math.min(89, Math.abs(lat) + dLat) * Math.PI) / 180);
      const dLon = Math.min(180, dLat / Math.max(cosLat, 1e-6));
      const out: NearbyRunwayEnd[] = [];
      const lat0 = Math.floor((lat - dLat) / cell);
      const lat1 = Math.floor((lat + dLat) / cell);
      const lon0 = Math.floor((lon - dLon) / cell);
      const lon1 = Math.min(lon0 + lonCells - 1, Math.floor((lon + dLon) / cell));
      const here = { lat, lon };
      // Equirectangular distance is within 1 % of the great circle at these ranges: a
      // cheap reject with a margin, before the haversine.
      const kx = M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);
      const reject = (radiusM * 1.02 + 100) ** 2;
      for (let a = lat0; a <= lat1; a++) {
        for (let b = lon0; b <= lon1; b++) {
          const bucket = buckets.get(keyOf(a, b));
          if (bucket === undefined) continue;
          for (const end of bucket) {
            if (Math.abs(end.lat - lat) > dLat) continue;
            let dLonDeg = Math.abs(end.lon - lon);
            if (dLonDeg > 180) dLonDeg = 360 - dLonDeg;
            const dy = (end.lat - lat) * M_PER_DEG_LAT;
            const dx = dLonDeg * kx;
            if (dx * dx + dy * dy > reject) continue;
            const d = haversineM(here, end);
            if (d <= radiusM) out.push({ end, distance_m: d });
          }
        }
      }
      return out.sort((x, y) =>
        x.distance_m - y.distance_m || compare(x.end.airport, y.end.airport) ||
        compare(x.end.runway, y.end.runway)
      );
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
