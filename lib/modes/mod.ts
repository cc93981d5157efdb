/**
 * Mode S and ADS-B decoding in our own TypeScript: Beast framing, CRC-24
 * parity with single-bit correction, downlink formats 4/5/11/17/18/20/21,
 * CPR position decoding. Pure: bytes in, fields out.
 *
 * @module
 */
export * from "./beast.ts";
export * from "./bits.ts";
export * from "./codes.ts";
export * from "./cpr.ts";
export * from "./crc.ts";
export * from "./message.ts";
