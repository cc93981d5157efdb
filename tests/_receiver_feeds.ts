/**
 * Local receivers for tests and the receiver benchmark: servers that speak
 * the real protocols (Beast and SBS over TCP, aircraft.json and ADS-B
 * Exchange v2 over HTTP) and play data DERIVED from the real 1 s tracks in
 * fixtures/ (each position, altitude, speed, track and callsign is the
 * recording's; only the encoding is ours, via tests/_modes_encoder.ts).
 * Variants: a receiver that drops the connection after a number of frames
 * and one that sends garbage between frames.
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import { encodeBeastFrame } from "../lib/modes/beast.ts";
import { formatSbsLine } from "../lib/sources/sbs.ts";
import { FPM, FT, KT } from "../lib/geo/units.ts";
import { recordedFlights } from "./_recordings.ts";
import {
  encodeAirbornePosition,
  encodeIdentification,
  encodeIdentityReply,
  encodeSurfacePosition,
  encodeVelocity,
} from "./_modes_encoder.ts";

/** The EZY158T approach into Toulouse (406d95), real 1 s OpenSky data. */
export const EZY158T = "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl";

/** One point per second of a real track (rows without altitude or speed kept as they are). */
export async function derivedTrack(
  recording = EZY158T,
  options: { limit?: number; from?: number } = {},
): Promise<Flight[]> {
  const all = await recordedFlights(recording);
  const from = options.from ?? 0;
  return all.slice(from, options.limit === undefined ? undefined : from + options.limit);
}

/**
 * The Beast frames a receiver would send for one track point: a position
 * (even on even seconds, odd on odd ones, so a pair forms within a second),
 * a velocity, and every 5th point an identification and a DF5 squawk.
 */
export function beastFramesFor(f: Flight, index: number, timestamp12mhz: number): Uint8Array[] {
  const odd = index % 2 === 1;
  const out: Uint8Array[] = [];
  const frame = (m: Uint8Array, dt: number) =>
    encodeBeastFrame(m, {
      timestamp12mhz: timestamp12mhz + dt * 12_000,
      signal: 120 + (index % 60),
    });
  if (f.on_ground) {
    out.push(frame(
      encodeSurfacePosition(f.icao24, {
        lat: f.position.lat,
        lon: f.position.lon,
        groundSpeedKt: f.velocity_mps === null ? null : f.velocity_mps / KT,
        trackDeg: f.heading_deg,
      }, odd),
      0,
    ));
  } else {
    out.push(frame(
      encodeAirbornePosition(f.icao24, {
        lat: f.position.lat,
        lon: f.position.lon,
        altitudeFt: (f.altitude_m ?? 0) / FT,
      }, odd),
      0,
    ));
  }
  if (f.velocity_mps !== null && f.heading_deg !== null && !f.on_ground) {
    out.push(frame(
      encodeVelocity(f.icao24, {
        groundSpeedKt: f.velocity_mps / KT,
        trackDeg: f.heading_deg,
        verticalRateFpm: (f.vertical_rate_mps ?? 0) / FPM,
      }),
      3,
    ));
  }
  if (index % 5 === 0) {
    if (f.callsign) out.push(frame(encodeIdentification(f.icao24, f.callsign), 6));
    if (f.squawk) out.push(frame(encodeIdentityReply(f.icao24, f.squawk), 9));
  }
  return out;
}

/** The SBS lines for one track point received at `atMs`: MSG 3, MSG 4, and MSG 1 / 6 every 5th. */
export function sbsLinesFor(f: Flight, index: number, atMs: number): string[] {
  const base = { icao24: f.icao24, atMs };
  const lines = [
    formatSbsLine(f.on_ground ? 2 : 3, {
      ...base,
      altitudeFt: f.altitude_m === null ? undefined : f.altitude_m / FT,
      lat: f.position.lat,
      lon: f.position.lon,
      onGround: f.on_ground,
    }),
  ];
  if (f.velocity_mps !== null) {
    lines.push(formatSbsLine(4, {
      ...base,
      groundSpeedKt: f.velocity_mps / KT,
      trackDeg: f.heading_deg ?? undefined,
      verticalRateFpm: f.vertical_rate_mps === null ? undefined : f.vertical_rate_mps / FPM,
    }));
  }
  if (index % 5 === 0) {
    if (f.callsign) lines.push(formatSbsLine(1, { ...base, callsign: f.callsign }));
    if (f.squawk) lines.push(formatSbsLine(6, { ...base, squawk: f.squawk }));
  }
  return lines;
}

/** A readsb aircraft.json document with these track points, as received at `nowMs`. */
export function aircraftJsonFor(
  flights: Flight[],
  nowMs: number,
  extra: (f: Flight) => Record<string, unknown> = () => ({}),
): Record<string, unknown> {
  return {
    now: nowMs / 1000,
    messages: 1000,
    aircraft: flights.map((f) => ({
      hex: f.icao24,
      type: "adsb_icao",
      flight: f.callsign ? f.callsign.padEnd(8, " ") : undefined,
      alt_baro: f.on_ground
        ? "ground"
        : f.altitude_m === null
        ? undefined
        : Math.round(f.altitude_m / FT),
      alt_geom: f.geo_altitude_m === null ? undefined : Math.round(f.geo_altitude_m / FT),
      gs: f.velocity_mps === null ? undefined : f.velocity_mps / KT,
      track: f.heading_deg ?? undefined,
      baro_rate: f.vertical_rate_mps === null ? undefined : Math.round(f.vertical_rate_mps / FPM),
      squawk: f.squawk ?? undefined,
      category: "A3",
      lat: f.position.lat,
      lon: f.position.lon,
      seen_pos: 0.2,
      seen: 0.1,
      rssi: -12.5,
      mlat: [],
      tisb: [],
      ...extra(f),
    })),
  };
}

/** Options for {@link startTcpFeed}. */
export interface TcpFeedOptions {
  /** One entry per track point: the bytes to send for it. */
  chunks: Uint8Array[];
  /** Between chunks, ms (1000 = the track's real pace). */
  intervalMs: number;
  /** Close each connection after this many chunks (a receiver that drops). */
  dropAfter?: number;
  /** Bytes sent before each chunk (a receiver that sends garbage). */
  garbage?: Uint8Array;
  /** Called with the wall time each chunk was written, for latency measurements. */
  onSent?: (index: number, atMs: number) => void;
}

/** A local TCP receiver playing `chunks`; every new connection continues where the last stopped. */
export interface TcpFeed {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Chunks written so far. */
  readonly sent: number;
  close(): Promise<void>;
}

export function startTcpFeed(options: TcpFeedOptions): TcpFeed {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  let next = 0;
  let closed = false;
  const open = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    let sentHere = 0;
    try {
      while (!closed && next < options.chunks.length) {
        if (options.garbage) await writeAll(conn, options.garbage);
        const index = next++;
        await writeAll(conn, options.chunks[index]!);
        options.onSent?.(index, Date.now());
        sentHere++;
        if (options.dropAfter !== undefined && sentHere >= options.dropAfter) break;
        await new Promise((r) => setTimeout(r, options.intervalMs));
      }
    } catch {
      // the client went away
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        connections++;
        serve(conn);
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections;
    },
    get sent() {
      return next;
    },
    async close() {
      closed = true;
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      await loop;
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let n = 0;
  while (n < bytes.length) n += await conn.write(bytes.subarray(n));
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Beast chunks for a whole track, one per second of it. */
export function beastChunks(track: Flight[]): Uint8Array[] {
  return track.map((f, i) => concatBytes(beastFramesFor(f, i, (i + 1) * 12_000_000)));
}

/** SBS chunks for a whole track; lines stamped with the time the chunk is built. */
export function sbsChunks(track: Flight[], startMs: number): Uint8Array[] {
  const enc = new TextEncoder();
  return track.map((f, i) => enc.encode(sbsLinesFor(f, i, startMs + i * 1000).join("")));
}

/** A local HTTP server answering every GET with `body()` as JSON. */
export function startJsonServer(
  body: () => unknown,
  options: { status?: () => number } = {},
): { url: string; requests: () => number; close: () => Promise<void> } {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    const status = options.status?.() ?? 200;
    const payload = body();
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    return new Response(status === 200 ? text : "busy", {
      status,
      headers: {
        "content-type": "application/json",
        ...(status === 429 ? { "retry-after": "1" } : {}),
      },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}
