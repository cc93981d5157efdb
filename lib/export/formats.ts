/**
 * Export encodings of history, written piece by piece so that a trail or a
 * whole day of traffic streams out without being held in memory: each
 * encoder has a head, a function per point and a tail.
 *
 * - GeoJSON (RFC 7946): a FeatureCollection of Point features, coordinates
 *   `[lon, lat, altitude_m]` (smoothed), the time and the other values in
 *   `properties`; for `deno task export`, GeoJSON lines: one Feature per line.
 * - CSV (RFC 4180): a header line, then one line per point, `\r\n` ended.
 * - KML 2.2: a Placemark with a LineString (smoothed, absolute altitude) and
 *   the range as its TimeSpan.
 *
 * Pure: no I/O.
 *
 * @module
 */
import type { TrackPoint } from "../../contracts/api.ts";
import type { Flight } from "../../contracts/flight.ts";

/** The formats `GET /api/flights/{icao24}/track?format=` answers besides JSON. */
export const TRACK_FORMATS = ["geojson", "csv", "kml"] as const;
export type TrackFormat = (typeof TRACK_FORMATS)[number];

/** Content types of {@link TRACK_FORMATS}. */
export const CONTENT_TYPES: Record<TrackFormat, string> = {
  geojson: "application/geo+json",
  csv: "text/csv; charset=utf-8; header=present",
  kml: "application/vnd.google-earth.kml+xml",
};

/** What a trail's encoding knows before its first point. */
export interface TrackMeta {
  icao24: string;
  /** ISO 8601. */
  from: string;
  to: string;
  resolution: string;
}

/** Head, per-point body and tail of one encoding. */
export interface TrackEncoder {
  head: string;
  point(p: TrackPoint, index: number): string;
  tail: string;
}

/** Columns of the track CSV, in order. */
export const TRACK_CSV_COLUMNS = [
  "icao24",
  "ts",
  "lat",
  "lon",
  "altitude_m",
  "velocity_mps",
  "heading_deg",
  "vertical_rate_mps",
  "raw_lat",
  "raw_lon",
  "raw_altitude_m",
] as const;

/** The encoder for `format`. */
export function trackEncoder(format: TrackFormat, meta: TrackMeta): TrackEncoder {
  switch (format) {
    case "geojson":
      return {
        head: `{"type":"FeatureCollection","properties":${
          JSON.stringify({ ...meta, coordinates: "lon, lat, smoothed altitude_m" })
        },"features":[\n`,
        point: (p, i) => (i > 0 ? ",\n" : "") + JSON.stringify(trackFeature(meta.icao24, p)),
        tail: "\n]}\n",
      };
    case "csv":
      return {
        head: TRACK_CSV_COLUMNS.join(",") + "\r\n",
        point: (p) =>
          [
            meta.icao24,
            p.ts,
            p.lat,
            p.lon,
            p.altitude_m,
            p.velocity_mps,
            p.heading_deg,
            p.vertical_rate_mps,
            p.raw.lat,
            p.raw.lon,
            p.raw.altitude_m,
          ].map(csvCell).join(",") + "\r\n",
        tail: "",
      };
    case "kml":
      return {
        head: `<?xml version="1.0" encoding="UTF-8"?>\n` +
          `<kml xmlns="http://www.opengis.net/kml/2.2"><Document>` +
          `<name>${xml(meta.icao24)} ${xml(meta.from)} to ${xml(meta.to)}</name>` +
          `<description>resolution: ${xml(meta.resolution)}</description>` +
          `<Placemark><name>${xml(meta.icao24)}</name>` +
          `<TimeSpan><begin>${xml(meta.from)}</begin><end>${xml(meta.to)}</end></TimeSpan>` +
          `<LineString><altitudeMode>absolute</altitudeMode><coordinates>\n`,
        point: (p) => `${p.lon},${p.lat},${p.altitude_m ?? 0}\n`,
        tail: `</coordinates></LineString></Placemark></Document></kml>\n`,
      };
  }
}

/** One point as a GeoJSON Feature. */
export function trackFeature(icao24: string, p: TrackPoint) {
  const coordinates = p.altitude_m === null ? [p.lon, p.lat] : [p.lon, p.lat, p.altitude_m];
  return {
    type: "Feature" as const,
    geometry: { type: "Point" as const, coordinates },
    properties: {
      icao24,
      ts: p.ts,
      altitude_m: p.altitude_m,
      velocity_mps: p.velocity_mps,
      heading_deg: p.heading_deg,
      vertical_rate_mps: p.vertical_rate_mps,
      raw_lat: p.raw.lat,
      raw_lon: p.raw.lon,
      raw_altitude_m: p.raw.altitude_m,
    },
  };
}

/** A CSV cell: empty for null, quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function xml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * A stream of encoded text from an encoder and batches of points (a
 * database cursor): nothing is held beyond one batch.
 */
export function encodeStream(
  encoder: TrackEncoder,
  batches: AsyncIterable<readonly TrackPoint[]>,
): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder();
  const iterator = batches[Symbol.asyncIterator]();
  let index = 0;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(bytes.encode(encoder.head));
        return;
      }
      const next = await iterator.next();
      if (next.done) {
        if (encoder.tail) controller.enqueue(bytes.encode(encoder.tail));
        controller.close();
        return;
      }
      let text = "";
      for (const p of next.value) text += encoder.point(p, index++);
      if (text) controller.enqueue(bytes.encode(text));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/** A position of `deno task export` (see services/web/history.ts `ExportRow`). */
export interface ExportPoint {
  flight: Flight;
  lat: number;
  lon: number;
  altitude_m: number | null;
  tier: string;
}

/** Columns of the export CSV, in order. */
export const EXPORT_CSV_COLUMNS = [
  "ts",
  "icao24",
  "callsign",
  "lat",
  "lon",
  "altitude_m",
  "raw_lat",
  "raw_lon",
  "raw_altitude_m",
  "geo_altitude_m",
  "velocity_mps",
  "heading_deg",
  "vertical_rate_mps",
  "on_ground",
  "squawk",
  "origin_country",
  "source",
  "tier",
] as const;

/** One line of the export CSV (`\r\n` ended). */
export function exportCsvLine(p: ExportPoint): string {
  const f = p.flight;
  return [
    unixIso(f.time_position_unix),
    f.icao24,
    f.callsign,
    p.lat,
    p.lon,
    p.altitude_m,
    f.position.lat,
    f.position.lon,
    f.altitude_m,
    f.geo_altitude_m,
    f.velocity_mps,
    f.heading_deg,
    f.vertical_rate_mps,
    f.on_ground,
    f.squawk,
    f.origin_country,
    (f as Flight & { source?: string }).source ?? null,
    p.tier,
  ].map(csvCell).join(",") + "\r\n";
}

/**
 * One line of GeoJSON lines: a Point Feature at the smoothed position, the
 * flight object as received in `properties.flight`.
 */
export function exportFeatureLine(p: ExportPoint): string {
  const coordinates = p.altitude_m === null ? [p.lon, p.lat] : [p.lon, p.lat, p.altitude_m];
  return JSON.stringify({
    type: "Feature",
    geometry: { type: "Point", coordinates },
    properties: {
      icao24: p.flight.icao24,
      ts: unixIso(p.flight.time_position_unix),
      tier: p.tier,
      flight: p.flight,
    },
  }) + "\n";
}

function unixIso(unix: number): string {
  return new Date(unix * 1000).toISOString();
}
