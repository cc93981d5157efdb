/**
 * The tar1090-style baseline that `deno task load` measures the hub
 * against, served by the same process as the hub: the way readsb/tar1090
 * aggregators serve a live map. Every second the server cuts the hub's
 * aircraft into 3°×3° tiles (tar1090's globe tiles), writes each aircraft
 * as a 112-byte binCraft-like record and compresses each tile with zstd
 * level 1 (npm:@bokuweb/zstd-wasm, the reference zstd library built to
 * WebAssembly); browsers poll the tiles of their view every second, and a
 * zoomed-out view polls the whole-world file (tar1090's
 * `aircraft.binCraft.zst`).
 *
 * Not part of the production web server: only the load harness's server
 * process (bench/load/server.ts) mounts it, at `/bench/tiles`.
 *
 * `GET /bench/tiles?ids=12,13,...` answers the listed tiles, each as a
 * u32 (little endian) length and its zstd frame, concatenated: the same
 * bytes a browser would fetch with one request per tile, without the
 * per-request HTTP headers (which favours the baseline). `?ids=world`
 * answers the whole-world file. `x-built-ms` carries the build time.
 *
 * Record layout (112 bytes, little endian; fields binCraft has that our
 * data lacks, such as NAC/SIL/RSSI/nav modes, stay zero, which also favours
 * the baseline under compression): u32 addr | u32 seen tenths of s ago |
 * i32 lon 1e-6° | i32 lat 1e-6° | i16 baro rate 8 ft/min | i16 geom rate |
 * i16 baro alt 25 ft | i16 geom alt 25 ft | u16 nav alt | u16 nav heading |
 * u16 squawk | u16 gs 0.1 kt | i16 mach | i16 roll | i16 track 0.01° |
 * i16 track rate | i16 mag heading | i16 true heading | i16 wind dir | i16 wind speed |
 * i16 oat | i16 tat | u16 tas | u16 ias | u16 rc | u16 messages | u8 category |
 * u8 nic | u8 flags (bit 0 airborne) | u8 source | char[8] callsign | 52 bytes reserved.
 *
 * @module
 */
import { compress, init } from "@bokuweb/zstd-wasm";
import type { Flight } from "../../contracts/flight.ts";

/** Bytes per aircraft record, as binCraft's. */
export const BINCRAFT_RECORD_BYTES = 112;
/** Tile size, degrees (tar1090's globe tiles). */
export const TILE_DEG = 3;
const COLUMNS = 360 / TILE_DEG;
const ROWS = 180 / TILE_DEG;

/** Index of the tile holding a position. */
export function tileOf(lat: number, lon: number): number {
  const row = Math.min(ROWS - 1, Math.max(0, Math.floor((lat + 90) / TILE_DEG)));
  const col = Math.min(COLUMNS - 1, Math.max(0, Math.floor((lon + 180) / TILE_DEG)));
  return row * COLUMNS + col;
}

/** Tiles covering a bbox `[lamin, lomin, lamax, lomax]` (west of east across the antimeridian). */
export function tilesCovering(bbox: readonly [number, number, number, number]): number[] {
  const [lamin, lomin, lamax, lomax] = bbox;
  const r0 = Math.max(0, Math.floor((lamin + 90) / TILE_DEG));
  const r1 = Math.min(ROWS - 1, Math.floor((lamax + 90) / TILE_DEG));
  const cols: number[] = [];
  const c0 = Math.floor((lomin + 180) / TILE_DEG);
  const c1 = Math.floor((lomax + 180) / TILE_DEG);
  const span = lomin <= lomax ? c1 - c0 : c1 + COLUMNS - c0;
  for (let k = 0; k <= Math.min(span, COLUMNS - 1); k++) cols.push((c0 + k) % COLUMNS);
  const out: number[] = [];
  for (let r = r0; r <= r1; r++) for (const c of cols) out.push(r * COLUMNS + c);
  return out;
}

/** Writes one aircraft as a 112-byte record at `offset`. */
export function writeRecord(
  view: DataView,
  offset: number,
  options: { flight: Flight; nowS: number },
): void {
  const f = options.flight;
  const i16 = (at: number, v: number | null) =>
    view.setInt16(offset + at, v === null ? -32768 : Math.max(-32767, Math.min(32767, v)), true);
  const u16 = (at: number, v: number | null) =>
    view.setUint16(offset + at, v === null ? 0xffff : Math.max(0, Math.min(0xfffe, v)), true);
  view.setUint32(offset, parseInt(f.icao24, 16), true);
  view.setUint32(
    offset + 4,
    Math.max(0, Math.round((options.nowS - f.last_contact_unix) * 10)),
    true,
  );
  view.setInt32(offset + 8, Math.round(f.position.lon * 1e6), true);
  view.setInt32(offset + 12, Math.round(f.position.lat * 1e6), true);
  const fpm = f.vertical_rate_mps === null ? null : Math.round(f.vertical_rate_mps * 196.85 / 8);
  i16(16, fpm);
  i16(18, fpm);
  i16(20, f.altitude_m === null ? null : Math.round(f.altitude_m / 0.3048 / 25));
  i16(22, f.geo_altitude_m === null ? null : Math.round(f.geo_altitude_m / 0.3048 / 25));
  u16(28, f.squawk === null ? null : parseInt(f.squawk, 8));
  u16(30, f.velocity_mps === null ? null : Math.round(f.velocity_mps * 19.4384));
  i16(36, f.heading_deg === null ? null : Math.round(f.heading_deg * 100));
  view.setUint8(offset + 60, f.category);
  view.setUint8(offset + 62, f.on_ground ? 0 : 1);
  view.setUint8(offset + 63, f.position_source);
  const callsign = f.callsign ?? "";
  for (let k = 0; k < 8; k++) {
    view.setUint8(offset + 64 + k, k < callsign.length ? callsign.charCodeAt(k) & 0x7f : 0);
  }
}

/** Options for {@link createBaselineTiles}. */
export interface BaselineTilesOptions {
  /** The aircraft to serve (the hub's committed state). */
  flights: () => Iterable<Flight>;
  /** Unix ms. Default Date.now. */
  now?: () => number;
  /** zstd level. Default 1, as the comparison asks. */
  level?: number;
}

/** The `/bench/tiles` handler; tiles are rebuilt at most once per second, on demand. */
export async function createBaselineTiles(
  options: BaselineTilesOptions,
): Promise<(req: Request) => Response> {
  await init();
  const now = options.now ?? Date.now;
  const level = options.level ?? 1;
  let builtSecond = -1;
  let builtMs = 0;
  let tiles: Map<number, Uint8Array> = new Map();
  let world: Uint8Array = new Uint8Array(0);
  const rebuild = () => {
    const ms = now();
    const second = Math.floor(ms / 1000);
    if (second === builtSecond) return;
    builtSecond = second;
    builtMs = ms;
    const byTile = new Map<number, Flight[]>();
    const all: Flight[] = [];
    for (const f of options.flights()) {
      all.push(f);
      const id = tileOf(f.position.lat, f.position.lon);
      let list = byTile.get(id);
      if (!list) byTile.set(id, list = []);
      list.push(f);
    }
    const encode = (list: Flight[]) => {
      const raw = new Uint8Array(list.length * BINCRAFT_RECORD_BYTES);
      const view = new DataView(raw.buffer);
      list.forEach((flight, k) =>
        writeRecord(view, k * BINCRAFT_RECORD_BYTES, { flight, nowS: ms / 1000 })
      );
      return compress(raw, level);
    };
    tiles = new Map([...byTile].map(([id, list]) => [id, encode(list)]));
    world = encode(all);
  };
  return (req: Request) => {
    const ids = new URL(req.url).searchParams.get("ids") ?? "";
    rebuild();
    const parts = ids === "world"
      ? [world]
      : ids.split(",").filter(Boolean).map((s) => tiles.get(Number(s))).filter((t) =>
        t !== undefined
      );
    let size = 0;
    for (const p of parts) size += 4 + p.length;
    const body = new Uint8Array(size);
    const view = new DataView(body.buffer);
    let at = 0;
    for (const p of parts) {
      view.setUint32(at, p.length, true);
      body.set(p, at + 4);
      at += 4 + p.length;
    }
    return new Response(body as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/octet-stream", "x-built-ms": String(builtMs) },
    });
  };
}
