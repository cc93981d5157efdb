/**
 * readsb / dump1090-fa `aircraft.json` (written every second, served by
 * tar1090 at `/data/aircraft.json`) and the ADS-B Exchange v2 API format
 * that community aggregators serve (`/v2/point/{lat}/{lon}/{radius}`).
 *
 * Both list aircraft objects with the same field names:
 *
 * | field | unit / meaning |
 * |---|---|
 * | `hex` | ICAO address; `~` prefix = non-ICAO (TIS-B) address, skipped |
 * | `flight` | callsign, space padded |
 * | `alt_baro` | barometric altitude, feet, or the string `"ground"` |
 * | `alt_geom` | geometric altitude, feet |
 * | `gs` | ground speed, knots |
 * | `track` | track over ground, degrees |
 * | `baro_rate`, `geom_rate` | vertical rate, ft/min |
 * | `squawk` | 4 octal digits |
 * | `emergency` | `none`, `general`, `lifeguard`, `minfuel`, `nordo`, `unlawful`, `downed`, `reserved` |
 * | `category` | emitter category `A0`..`D7` |
 * | `lat`, `lon` | degrees |
 * | `seen_pos` | seconds since the position was received |
 * | `seen` | seconds since any message |
 * | `mlat`, `tisb` | names of the fields that came from MLAT / TIS-B |
 * | `spi` | 0/1 (v2 flags) |
 *
 * aircraft.json's `now` is unix seconds (fractional); v2's is unix
 * milliseconds, with `total` aircraft in `ac`. Older dump1090 files use
 * `altitude`, `speed` and `vert_rate`; those are read too.
 *
 * @module
 */
import { z } from "zod";
import { FPM, FT, KT } from "../geo/units.ts";
import { emitterCategoryToNumber } from "./category.ts";
import {
  type AircraftUpdate,
  EMERGENCY_KINDS,
  type EmergencyKind,
  type SourceKind,
} from "./types.ts";

const finite = z.number().finite();

const AircraftRow = z.object({
  hex: z.string(),
  flight: z.string().optional(),
  alt_baro: z.union([finite, z.literal("ground")]).optional(),
  altitude: z.union([finite, z.literal("ground")]).optional(),
  alt_geom: finite.optional(),
  gs: finite.optional(),
  speed: finite.optional(),
  track: finite.optional(),
  baro_rate: finite.optional(),
  geom_rate: finite.optional(),
  vert_rate: finite.optional(),
  squawk: z.string().optional(),
  emergency: z.string().optional(),
  category: z.string().optional(),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  seen_pos: z.number().min(0).optional(),
  seen: z.number().min(0).optional(),
  mlat: z.array(z.string()).optional(),
  tisb: z.array(z.string()).optional(),
  spi: z.union([z.number(), z.boolean()]).optional(),
});

const AircraftJson = z.object({
  now: finite,
  aircraft: z.array(z.unknown()),
});

const V2Reply = z.object({
  now: finite,
  total: z.number().int().min(0).optional(),
  ac: z.array(z.unknown()).nullable().optional(),
});

/** A row that could not be used. */
export interface RowReject {
  index: number;
  reason: string;
  raw: string;
}

/** The outcome of parsing one document. */
export interface ParsedDocument {
  /** Unix ms of the document (`now`). */
  nowMs: number;
  updates: AircraftUpdate[];
  rejected: RowReject[];
  /** Rows skipped on purpose (non-ICAO addresses). */
  skipped: number;
}

/** Thrown when the document as a whole is not the expected format. */
export class DocumentError extends TypeError {
  override name = "DocumentError";
}

/** Parses a readsb/dump1090-fa aircraft.json body. */
export function parseAircraftJson(body: unknown): ParsedDocument {
  const doc = AircraftJson.safeParse(body);
  if (!doc.success) throw new DocumentError("not an aircraft.json document (needs now, aircraft)");
  return parseRows(doc.data.aircraft, { nowMs: doc.data.now * 1000, source: "aircraft_json" });
}

/** Parses an ADS-B Exchange v2 API reply (`ac`, `now` in ms, `total`). */
export function parseAdsbxV2(body: unknown): ParsedDocument & { total: number | null } {
  const doc = V2Reply.safeParse(body);
  if (!doc.success) throw new DocumentError("not an ADS-B Exchange v2 reply (needs now, ac)");
  // Some servers give seconds: anything before 2001 in ms is really seconds.
  const nowMs = doc.data.now > 1e11 ? doc.data.now : doc.data.now * 1000;
  return {
    ...parseRows(doc.data.ac ?? [], { nowMs, source: "adsbx_v2" }),
    total: doc.data.total ?? null,
  };
}

function parseRows(
  rows: unknown[],
  options: { nowMs: number; source: SourceKind },
): ParsedDocument {
  const updates: AircraftUpdate[] = [];
  const rejected: RowReject[] = [];
  let skipped = 0;
  for (let index = 0; index < rows.length; index++) {
    const raw = rows[index];
    const parsed = AircraftRow.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      rejected.push({
        index,
        reason: `${issue?.path.join(".") || "row"}: ${issue?.message ?? "invalid"}`,
        raw: safeJson(raw),
      });
      continue;
    }
    const r = parsed.data;
    const hex = r.hex.trim().toLowerCase();
    if (hex.startsWith("~")) {
      skipped++;
      continue;
    }
    if (!/^[0-9a-f]{6}$/.test(hex)) {
      rejected.push({
        index,
        reason: `hex ${JSON.stringify(r.hex)} is not an ICAO address`,
        raw: safeJson(raw),
      });
      continue;
    }
    const atMs = options.nowMs - (r.seen ?? 0) * 1000;
    const u: AircraftUpdate = { icao24: hex, source: options.source, atMs };
    if (r.flight !== undefined) u.callsign = r.flight.trim().slice(0, 8) || null;
    const baro = r.alt_baro ?? r.altitude;
    if (baro === "ground") {
      u.on_ground = true;
      u.altitude_m = null;
    } else if (baro !== undefined) {
      u.altitude_m = baro * FT;
      u.on_ground = false;
    }
    if (r.alt_geom !== undefined) u.geo_altitude_m = r.alt_geom * FT;
    const gs = r.gs ?? r.speed;
    if (gs !== undefined) u.velocity_mps = Math.max(0, gs * KT);
    if (r.track !== undefined) u.heading_deg = ((r.track % 360) + 360) % 360;
    const rate = r.baro_rate ?? r.geom_rate ?? r.vert_rate;
    if (rate !== undefined) u.vertical_rate_mps = rate * FPM;
    if (r.squawk !== undefined && /^[0-7]{4}$/.test(r.squawk)) u.squawk = r.squawk;
    if (r.emergency !== undefined) u.emergency = emergencyKind(r.emergency);
    if (r.category !== undefined) u.category = emitterCategoryToNumber(r.category);
    if (r.spi !== undefined) u.spi = Boolean(r.spi);
    if (r.lat !== undefined && r.lon !== undefined) {
      const posAt = options.nowMs - (r.seen_pos ?? r.seen ?? 0) * 1000;
      u.position = { lat: r.lat, lon: r.lon, atMs: posAt };
      u.position_source = r.mlat?.includes("lat") ? 2 : 0;
    }
    updates.push(u);
  }
  return { nowMs: options.nowMs, updates, rejected, skipped };
}

function emergencyKind(value: string): EmergencyKind | null {
  return (EMERGENCY_KINDS as readonly string[]).includes(value) ? value as EmergencyKind : null;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
