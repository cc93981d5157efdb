/**
 * SBS / BaseStation CSV (dump1090 and readsb `--net-sbs-port`, usually TCP
 * 30003): one message per CRLF-terminated line, 22 comma-separated fields.
 *
 * ```
 *  1 message type (MSG, plus SEL ID AIR STA CLK which carry no state)
 *  2 transmission type 1-8      3 session id   4 aircraft id   5 hex ident   6 flight id
 *  7 date generated  8 time generated  9 date logged  10 time logged
 * 11 callsign  12 altitude (ft)  13 ground speed (kt)  14 track (deg)  15 lat  16 lon
 * 17 vertical rate (ft/min)  18 squawk  19 alert (squawk changed)  20 emergency
 * 21 SPI  22 is on ground            booleans: -1 true, 0 false (some feeds write 1)
 * ```
 *
 * Which fields each MSG type fills: 1 callsign; 2 surface position (altitude,
 * speed, track, lat, lon, on ground); 3 airborne position (altitude, lat,
 * lon, flags); 4 velocity (speed, track, vertical rate); 5 altitude; 6
 * squawk and altitude; 7 air-to-air altitude; 8 all-call (on ground). An
 * empty field says nothing, so each line is a partial update; the merger
 * assembles them per aircraft.
 *
 * The generated/logged times are receiver wall-clock without a time zone,
 * so updates are stamped with the time the line arrived.
 *
 * @module
 */
import { FPM, FT, KT } from "../geo/units.ts";
import type { AircraftUpdate } from "./types.ts";

/** A line that could not be used. */
export interface SbsReject {
  reason: string;
}

/** A line with no state to carry (SEL, ID, AIR, STA, CLK, blank). */
export const SBS_IGNORED = Symbol("sbs-ignored");

function num(field: string | undefined): number | undefined {
  if (field === undefined || field.trim() === "") return undefined;
  const n = Number(field);
  return Number.isFinite(n) ? n : NaN;
}

function flag(field: string | undefined): boolean | undefined {
  const f = field?.trim();
  if (!f) return undefined;
  if (f === "-1" || f === "1") return true;
  if (f === "0") return false;
  return undefined;
}

/**
 * Parses one line (with or without its CRLF) received at `atMs`. Returns an
 * update, {@link SBS_IGNORED}, or a reject with its reason.
 */
export function parseSbsLine(
  line: string,
  atMs: number,
): AircraftUpdate | typeof SBS_IGNORED | SbsReject {
  const text = line.replace(/\r?\n$/, "").replace(/\r$/, "");
  if (text.trim() === "") return SBS_IGNORED;
  const f = text.split(",");
  const kind = f[0]?.trim();
  if (kind === "SEL" || kind === "ID" || kind === "AIR" || kind === "STA" || kind === "CLK") {
    return SBS_IGNORED;
  }
  if (kind !== "MSG") return { reason: `not an SBS message (starts with ${JSON.stringify(kind)})` };
  if (f.length !== 22) return { reason: `SBS MSG has ${f.length} fields, expected 22` };
  const type = Number(f[1]);
  if (!Number.isInteger(type) || type < 1 || type > 8) {
    return { reason: `SBS transmission type ${JSON.stringify(f[1])} is not 1-8` };
  }
  const hex = f[4]!.trim().toLowerCase();
  if (!/^[0-9a-f]{6}$/.test(hex)) return { reason: `SBS hex ident ${JSON.stringify(f[4])}` };
  const u: AircraftUpdate = { icao24: hex, source: "sbs", atMs };
  const callsign = f[10]!.trim();
  if (callsign) u.callsign = callsign.slice(0, 8);
  const alt = num(f[11]);
  const gs = num(f[12]);
  const track = num(f[13]);
  const lat = num(f[14]);
  const lon = num(f[15]);
  const vr = num(f[16]);
  for (
    const [name, v] of [["altitude", alt], ["speed", gs], ["track", track], ["lat", lat], [
      "lon",
      lon,
    ], ["vertical rate", vr]] as const
  ) {
    if (Number.isNaN(v)) return { reason: `SBS ${name} is not a number` };
  }
  if (alt !== undefined) u.altitude_m = alt * FT;
  if (gs !== undefined) u.velocity_mps = Math.max(0, gs * KT);
  if (track !== undefined) u.heading_deg = ((track % 360) + 360) % 360;
  if (vr !== undefined) u.vertical_rate_mps = vr * FPM;
  if (lat !== undefined || lon !== undefined) {
    if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      return { reason: `SBS position ${f[14]},${f[15]} is not a position` };
    }
    u.position = { lat, lon, atMs };
  }
  const squawk = f[17]!.trim();
  if (squawk) {
    if (!/^[0-7]{4}$/.test(squawk)) return { reason: `SBS squawk ${JSON.stringify(squawk)}` };
    u.squawk = squawk;
  }
  const spi = flag(f[20]);
  if (spi !== undefined) u.spi = spi;
  const ground = flag(f[21]);
  if (ground !== undefined) u.on_ground = ground;
  if (type === 2) u.on_ground = true;
  if (type >= 1 && type <= 4) u.position_source = 0;
  return u;
}

/** Splits a TCP stream into lines; a partial line waits for the next chunk. */
export class LineSplitter {
  #rest = "";
  #decoder = new TextDecoder();

  push(chunk: Uint8Array): string[] {
    const text = this.#rest + this.#decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#rest = lines.pop() ?? "";
    // A peer that never sends a newline must not grow this without bound.
    if (this.#rest.length > 65_536) {
      lines.push(this.#rest);
      this.#rest = "";
    }
    return lines;
  }
}

/** Formats an update as one SBS line with CRLF (for local servers and test data). */
export function formatSbsLine(
  type: number,
  fields: {
    icao24: string;
    atMs: number;
    callsign?: string;
    altitudeFt?: number;
    groundSpeedKt?: number;
    trackDeg?: number;
    lat?: number;
    lon?: number;
    verticalRateFpm?: number;
    squawk?: string;
    onGround?: boolean;
  },
): string {
  const d = new Date(fields.atMs);
  const date = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${
    String(d.getUTCDate()).padStart(2, "0")
  }`;
  const time = d.toISOString().slice(11, 23);
  const b = (v: boolean | undefined) => (v === undefined ? "" : v ? "-1" : "0");
  const o = (v: number | undefined, digits: number) => (v === undefined ? "" : v.toFixed(digits));
  const cols = [
    "MSG",
    String(type),
    "1",
    "1",
    fields.icao24.toUpperCase(),
    "1",
    date,
    time,
    date,
    time,
    fields.callsign ?? "",
    o(fields.altitudeFt, 0),
    o(fields.groundSpeedKt, 1),
    o(fields.trackDeg, 1),
    o(fields.lat, 6),
    o(fields.lon, 6),
    o(fields.verticalRateFpm, 0),
    fields.squawk ?? "",
    type === 3 || type === 6 ? "0" : "",
    type === 3 || type === 6 ? "0" : "",
    type === 3 || type === 6 ? "0" : "",
    b(fields.onGround),
  ];
  return cols.join(",") + "\r\n";
}
