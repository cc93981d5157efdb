/**
 * A Mode S / ADS-B encoder for test data only: builds DF17 extended
 * squitters (identification, airborne and surface position with CPR,
 * velocity), DF4/DF5 replies with the address overlaid on the parity, and
 * DF11 all-calls, with correct CRC-24 parity. It lets tests and the receiver
 * benchmark turn the real 1 s tracks in fixtures/ into Beast frames
 * ("derived" data); real decoder test vectors live in tests/modes_test.ts.
 *
 * @module
 */
import { encodeCpr } from "../lib/modes/cpr.ts";
import { feetToAltitudeCode12, squawkToIdentity } from "../lib/modes/codes.ts";
import { crc24 } from "../lib/modes/crc.ts";

const CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######";

/** Writes bits MSB first into a byte array (1-based bit positions). */
class BitWriter {
  readonly bytes: Uint8Array;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  put(first: number, length: number, value: number): this {
    for (let i = 0; i < length; i++) {
      const b = Math.floor(value / 2 ** (length - 1 - i)) % 2;
      const pos = first - 1 + i;
      if (b) this.bytes[pos >> 3]! |= 0x80 >> (pos & 7);
    }
    return this;
  }
}

function withParity(w: BitWriter, overlay = 0): Uint8Array {
  const n = w.bytes.length;
  const p = crc24(w.bytes, n - 3) ^ overlay;
  w.bytes[n - 3] = (p >> 16) & 0xff;
  w.bytes[n - 2] = (p >> 8) & 0xff;
  w.bytes[n - 1] = p & 0xff;
  return w.bytes;
}

function df17(icao24: string, typeCode: number): BitWriter {
  return new BitWriter(14).put(1, 5, 17).put(6, 3, 5).put(9, 24, parseInt(icao24, 16)).put(
    33,
    5,
    typeCode,
  );
}

/** DF17 TC4 identification (emitter category set A). */
export function encodeIdentification(icao24: string, callsign: string, category = 3): Uint8Array {
  const w = df17(icao24, 4).put(38, 3, category);
  const padded = callsign.toUpperCase().padEnd(8, " ").slice(0, 8);
  for (let i = 0; i < 8; i++) {
    const code = CHARS.indexOf(padded[i]!);
    w.put(41 + 6 * i, 6, code < 0 ? 32 : code);
  }
  return withParity(w);
}

/** DF17 TC11 airborne position (barometric altitude, 25 ft steps). */
export function encodeAirbornePosition(
  icao24: string,
  pos: { lat: number; lon: number; altitudeFt: number },
  odd: boolean,
): Uint8Array {
  const cpr = encodeCpr(pos, { odd });
  const w = df17(icao24, 11).put(41, 12, feetToAltitudeCode12(pos.altitudeFt)).put(
    54,
    1,
    odd ? 1 : 0,
  )
    .put(55, 17, cpr.lat).put(72, 17, cpr.lon);
  return withParity(w);
}

/** DF17 TC7 surface position; speed as a movement code in 1 kt steps (15-70 kt band) or 0.5 kt below. */
export function encodeSurfacePosition(
  icao24: string,
  pos: { lat: number; lon: number; groundSpeedKt: number | null; trackDeg: number | null },
  odd: boolean,
): Uint8Array {
  const cpr = encodeCpr(pos, { odd, surface: true });
  const gs = pos.groundSpeedKt;
  let mov = 0;
  if (gs !== null) {
    if (gs < 0.125) mov = 1;
    else if (gs < 1) mov = 2 + Math.floor((gs - 0.125) / 0.125);
    else if (gs < 2) mov = 9 + Math.floor((gs - 1) / 0.25);
    else if (gs < 15) mov = 13 + Math.floor((gs - 2) / 0.5);
    else if (gs < 70) mov = 39 + Math.floor(gs - 15);
    else if (gs < 100) mov = 94 + Math.floor((gs - 70) / 2);
    else if (gs < 175) mov = 109 + Math.floor((gs - 100) / 5);
    else mov = 124;
  }
  const w = df17(icao24, 7).put(38, 7, mov);
  if (pos.trackDeg !== null) w.put(45, 1, 1).put(46, 7, Math.round(pos.trackDeg * 128 / 360) % 128);
  w.put(54, 1, odd ? 1 : 0).put(55, 17, cpr.lat).put(72, 17, cpr.lon);
  return withParity(w);
}

/** DF17 TC19 subtype 1 ground speed velocity with barometric vertical rate. */
export function encodeVelocity(
  icao24: string,
  v: { groundSpeedKt: number; trackDeg: number; verticalRateFpm: number },
): Uint8Array {
  const rad = v.trackDeg * Math.PI / 180;
  const east = v.groundSpeedKt * Math.sin(rad);
  const north = v.groundSpeedKt * Math.cos(rad);
  const vr = Math.round(Math.abs(v.verticalRateFpm) / 64);
  const w = df17(icao24, 19).put(38, 3, 1)
    .put(46, 1, east < 0 ? 1 : 0).put(47, 10, Math.min(1023, Math.round(Math.abs(east)) + 1))
    .put(57, 1, north < 0 ? 1 : 0).put(58, 10, Math.min(1023, Math.round(Math.abs(north)) + 1))
    .put(68, 1, 1).put(69, 1, v.verticalRateFpm < 0 ? 1 : 0).put(70, 9, Math.min(511, vr + 1));
  return withParity(w);
}

/** DF5 surveillance identity reply: squawk, address overlaid on the parity. */
export function encodeIdentityReply(icao24: string, squawk: string): Uint8Array {
  const w = new BitWriter(7).put(1, 5, 5).put(20, 13, squawkToIdentity(squawk));
  return withParity(w, parseInt(icao24, 16));
}

/** DF4 surveillance altitude reply (25 ft steps), address overlaid on the parity. */
export function encodeAltitudeReply(icao24: string, altitudeFt: number): Uint8Array {
  const ac12 = feetToAltitudeCode12(altitudeFt);
  const ac13 = ((ac12 & 0xfc0) << 1) | (ac12 & 0x3f);
  const w = new BitWriter(7).put(1, 5, 4).put(20, 13, ac13);
  return withParity(w, parseInt(icao24, 16));
}

/** DF11 all-call reply (CA 5, interrogator code 0). */
export function encodeAllCall(icao24: string): Uint8Array {
  const w = new BitWriter(7).put(1, 5, 11).put(6, 3, 5).put(9, 24, parseInt(icao24, 16));
  return withParity(w);
}

/** DF17 TC28 subtype 1 aircraft status: emergency/priority state (0-7) and squawk. */
export function encodeAircraftStatus(
  icao24: string,
  status: { emergencyState: number; squawk: string },
): Uint8Array {
  const w = df17(icao24, 28).put(38, 3, 1).put(41, 3, status.emergencyState)
    .put(44, 13, squawkToIdentity(status.squawk));
  return withParity(w);
}
