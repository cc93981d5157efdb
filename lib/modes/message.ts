/**
 * Decodes one Mode S reply (56 or 112 bits) into its fields: the downlink
 * formats a flight map needs (DF4/20 altitude, DF5/21 identity, DF11
 * all-call, DF17/18 extended squitter) and, inside DF17/18, the ADS-B type
 * codes for identification (1-4), surface position (5-8), airborne position
 * (9-18 barometric, 20-22 GNSS height), airborne velocity (19) and aircraft
 * status (28 subtype 1: the emergency/priority state readsb reports as
 * `emergency`, and the squawk).
 *
 * Parity: DF11/17/18 must have a clean syndrome (DF17/18 after at most one
 * corrected bit; DF11 may carry an interrogator code in the low 7 bits).
 * DF0/4/5/16/20/21 overlay the address on the parity, so the recovered
 * address is only as good as the caller's list of known aircraft: the
 * result says `addressFromParity` and the caller decides.
 *
 * Units are those of the standard (feet, knots, ft/min); conversion to SI
 * happens where state vectors are built.
 *
 * @module
 */
import { bit, bits } from "./bits.ts";
import { altitudeCode12ToFeet, altitudeCode13ToFeet, identityToSquawk } from "./codes.ts";
import type { CprFrame } from "./cpr.ts";
import { correctSingleBit, syndrome } from "./crc.ts";

/** DO-260B identification character set (6-bit codes); `#` marks an invalid code. */
const CALLSIGN_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######";

/** Fields of one reply; only what the format and type code carry is set. */
export interface ModeSMessage {
  /** Downlink format 0-24. */
  df: number;
  /** ICAO address, 6 lower-case hex digits. */
  icao24: string;
  /** True for DF0/4/5/16/20/21, whose address is recovered from the parity and unconfirmed. */
  addressFromParity: boolean;
  /** The bit (0-based) fixed by single-bit correction, or null. */
  correctedBit: number | null;
  /** ADS-B type code (DF17/18 only). */
  typeCode?: number;
  /** Callsign with padding trimmed. */
  callsign?: string;
  /** Emitter category set (TC 1-4 = D, C, B, A) and category (CA 0-7), e.g. `A3`. */
  emitterCategory?: string;
  /** Barometric altitude, feet. */
  altitudeFt?: number | null;
  /** GNSS height, feet (TC 20-22). */
  gnssAltitudeFt?: number | null;
  /** GNSS minus barometric altitude, feet (velocity messages). */
  gnssBaroDiffFt?: number | null;
  /** CPR frame of a position message. */
  cpr?: CprFrame;
  /** Surface position message. */
  surface?: boolean;
  /** Ground speed, knots. */
  groundSpeedKt?: number | null;
  /** Track over ground, degrees from true north. */
  trackDeg?: number | null;
  /** Magnetic heading, degrees (airspeed velocity subtypes). */
  headingDeg?: number | null;
  /** Airspeed, knots, and which (IAS or TAS). */
  airspeedKt?: number | null;
  airspeedType?: "IAS" | "TAS";
  /** Vertical rate, ft/min, positive up; and its source. */
  verticalRateFpm?: number | null;
  verticalRateSource?: "baro" | "gnss";
  /** Squawk, 4 octal digits (DF5/21). */
  squawk?: string;
  /** Flight status (DF4/5/20/21): on ground, alert, SPI. */
  onGround?: boolean | null;
  alert?: boolean;
  spi?: boolean;
  /** DF17 surveillance status (TC 9-18): 1 permanent alert (emergency), 2 temporary alert, 3 SPI. */
  surveillanceStatus?: number;
  /**
   * Emergency/priority status (TC 28 subtype 1, DO-260B): 0 none, 1 general, 2 lifeguard
   * (medical), 3 minimum fuel, 4 no communications, 5 unlawful interference, 6 downed, 7 reserved.
   */
  emergencyState?: number;
}

/** Why a reply was rejected. */
export type ModeSReject =
  | "bad_length"
  | "crc"
  | "unsupported_df";

/** The outcome of {@link decodeModeS}. */
export type ModeSResult =
  | { ok: true; message: ModeSMessage }
  | { ok: false; reason: ModeSReject; df: number };

function hex6(n: number): string {
  return n.toString(16).padStart(6, "0");
}

/**
 * Decodes one reply. `correct` enables single-bit error correction for
 * DF17/18 (default true).
 */
export function decodeModeS(raw: Uint8Array, options: { correct?: boolean } = {}): ModeSResult {
  const df = raw.length > 0 ? raw[0]! >> 3 : -1;
  const expectLong = df >= 16;
  if ((expectLong && raw.length !== 14) || (!expectLong && raw.length !== 7)) {
    return { ok: false, reason: "bad_length", df };
  }
  switch (df) {
    case 17:
    case 18: {
      const fixed = (options.correct ?? true)
        ? correctSingleBit(raw)
        : (syndrome(raw) === 0 ? { message: raw, correctedBit: null } : null);
      if (!fixed) return { ok: false, reason: "crc", df };
      const m = fixed.message;
      // DF18 with CF other than 0/1/6 carries TIS-B/ADS-R with non-ICAO or other layouts.
      if (df === 18 && ![0, 1, 6].includes(bits(m, 6, 3))) {
        return { ok: false, reason: "unsupported_df", df };
      }
      const message: ModeSMessage = {
        df,
        icao24: hex6(bits(m, 9, 24)),
        addressFromParity: false,
        correctedBit: fixed.correctedBit,
      };
      decodeExtendedSquitter(m, message);
      return { ok: true, message };
    }
    case 11: {
      // Parity XOR interrogator code: II/SI in the low 7 bits, the rest must be clean.
      if ((syndrome(raw) & 0xffff80) !== 0) return { ok: false, reason: "crc", df };
      return {
        ok: true,
        message: {
          df,
          icao24: hex6(bits(raw, 9, 24)),
          addressFromParity: false,
          correctedBit: null,
        },
      };
    }
    case 0:
    case 4:
    case 16:
    case 20: {
      const message = parityAddressed(raw, df);
      message.altitudeFt = altitudeCode13ToFeet(bits(raw, 20, 13));
      if (df === 4 || df === 20) flightStatus(raw, message);
      else message.onGround = bit(raw, 6) === 1; // VS bit of DF0/16
      return { ok: true, message };
    }
    case 5:
    case 21: {
      const message = parityAddressed(raw, df);
      message.squawk = identityToSquawk(bits(raw, 20, 13));
      flightStatus(raw, message);
      return { ok: true, message };
    }
    default:
      return { ok: false, reason: "unsupported_df", df };
  }
}

function parityAddressed(raw: Uint8Array, df: number): ModeSMessage {
  return { df, icao24: hex6(syndrome(raw)), addressFromParity: true, correctedBit: null };
}

/** FS (bits 6-8): 0/2 airborne, 1/3 ground, 4/5 either; 2-4 alert; 4/5 SPI. */
function flightStatus(raw: Uint8Array, message: ModeSMessage): void {
  const fs = bits(raw, 6, 3);
  message.onGround = fs === 1 || fs === 3 ? true : fs === 0 || fs === 2 ? false : null;
  message.alert = fs >= 2 && fs <= 4;
  message.spi = fs === 4 || fs === 5;
}

function decodeExtendedSquitter(m: Uint8Array, out: ModeSMessage): void {
  const tc = bits(m, 33, 5);
  out.typeCode = tc;
  if (tc >= 1 && tc <= 4) {
    const ca = bits(m, 38, 3);
    out.emitterCategory = `${"DCBA"[tc - 1]}${ca}`;
    let callsign = "";
    for (let i = 0; i < 8; i++) callsign += CALLSIGN_CHARS[bits(m, 41 + 6 * i, 6)];
    out.callsign = callsign.trim();
  } else if (tc >= 5 && tc <= 8) {
    out.surface = true;
    out.onGround = true;
    out.groundSpeedKt = surfaceMovementKt(bits(m, 38, 7));
    out.trackDeg = bit(m, 45) === 1 ? bits(m, 46, 7) * 360 / 128 : null;
    out.cpr = { odd: bit(m, 54) === 1, lat: bits(m, 55, 17), lon: bits(m, 72, 17) };
  } else if ((tc >= 9 && tc <= 18) || (tc >= 20 && tc <= 22)) {
    out.surface = false;
    out.onGround = false;
    out.surveillanceStatus = bits(m, 38, 2);
    const alt = bits(m, 41, 12);
    if (tc <= 18) out.altitudeFt = altitudeCode12ToFeet(alt);
    // TC 20-22: GNSS height in the same 12-bit layout (as dump1090-fa and readsb read it).
    else out.gnssAltitudeFt = altitudeCode12ToFeet(alt);
    out.cpr = { odd: bit(m, 54) === 1, lat: bits(m, 55, 17), lon: bits(m, 72, 17) };
  } else if (tc === 19) {
    decodeVelocity(m, out);
  } else if (tc === 28 && bits(m, 38, 3) === 1) {
    // Aircraft status, emergency/priority: state in ME bits 9-11, Mode A code in 12-24 (the
    // DF5 identity layout), as pyModeS's bds61 and readsb read it. Subtype 2 (ACAS RA) is skipped.
    out.emergencyState = bits(m, 41, 3);
    out.squawk = identityToSquawk(bits(m, 44, 13));
  }
}

function decodeVelocity(m: Uint8Array, out: ModeSMessage): void {
  const subtype = bits(m, 38, 3);
  if (subtype === 1 || subtype === 2) {
    const factor = subtype === 2 ? 4 : 1; // supersonic
    const vew = bits(m, 47, 10);
    const vns = bits(m, 58, 10);
    if (vew === 0 || vns === 0) {
      out.groundSpeedKt = null;
      out.trackDeg = null;
    } else {
      const east = (bit(m, 46) === 1 ? -1 : 1) * (vew - 1) * factor;
      const north = (bit(m, 57) === 1 ? -1 : 1) * (vns - 1) * factor;
      out.groundSpeedKt = Math.hypot(east, north);
      const track = Math.atan2(east, north) * 180 / Math.PI;
      out.trackDeg = track < 0 ? track + 360 : track;
    }
  } else if (subtype === 3 || subtype === 4) {
    const factor = subtype === 4 ? 4 : 1;
    out.headingDeg = bit(m, 46) === 1 ? bits(m, 47, 10) * 360 / 1024 : null;
    const as = bits(m, 58, 10);
    out.airspeedKt = as === 0 ? null : (as - 1) * factor;
    out.airspeedType = bit(m, 57) === 1 ? "TAS" : "IAS";
  } else {
    return;
  }
  const vr = bits(m, 70, 9);
  out.verticalRateSource = bit(m, 68) === 1 ? "baro" : "gnss";
  out.verticalRateFpm = vr === 0 ? null : (bit(m, 69) === 1 ? -1 : 1) * (vr - 1) * 64;
  const diff = bits(m, 82, 7);
  out.gnssBaroDiffFt = diff === 0 ? null : (bit(m, 81) === 1 ? -1 : 1) * (diff - 1) * 25;
}

/** Surface movement code (DO-260B Table 2.2.3.2.4.2) to knots: the low end of each step. */
export function surfaceMovementKt(code: number): number | null {
  if (code === 0 || code >= 125) return null; // no information / reserved
  if (code === 1) return 0; // stopped
  if (code <= 8) return 0.125 + (code - 2) * 0.125;
  if (code <= 12) return 1 + (code - 9) * 0.25;
  if (code <= 38) return 2 + (code - 13) * 0.5;
  if (code <= 93) return 15 + (code - 39);
  if (code <= 108) return 70 + (code - 94) * 2;
  if (code <= 123) return 100 + (code - 109) * 5;
  return 175; // 124: 175 kt or more
}
