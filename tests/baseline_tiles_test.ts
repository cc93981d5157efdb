/**
 * The tar1090-style baseline of `deno task load`: 112-byte binCraft-like
 * records in 3° tiles, each a real zstd frame (level 1), served as
 * length-prefixed frames.
 */
import assert from "node:assert/strict";
import { decompress } from "@bokuweb/zstd-wasm";
import type { Flight } from "../contracts/flight.ts";
import {
  BINCRAFT_RECORD_BYTES,
  createBaselineTiles,
  tileOf,
  tilesCovering,
} from "../services/web/baseline_tiles.ts";
import { recordedFlights } from "./_recordings.ts";

Deno.test("baseline tiles: 3° tiles, across the antimeridian too", () => {
  assert.equal(tileOf(0, 0), 30 * 120 + 60);
  assert.deepEqual(tilesCovering([0, 0, 2.9, 5.9]), [30 * 120 + 60, 30 * 120 + 61]);
  const wrap = tilesCovering([0, 178, 1, -178]);
  assert.deepEqual(wrap, [30 * 120 + 119, 30 * 120 + 0]);
});

Deno.test("baseline tiles: each tile is a zstd frame of 112-byte records of its aircraft", async () => {
  const flights = await latestFlights();
  const nowMs = (flights[0]!.last_contact_unix + 2) * 1000;
  const handler = await createBaselineTiles({ flights: () => flights, now: () => nowMs });
  const ids = [...new Set(flights.map((f) => tileOf(f.position.lat, f.position.lon)))];
  const res = handler(new Request(`http://x/bench/tiles?ids=${ids.join(",")}`));
  const body = new Uint8Array(await res.arrayBuffer());
  const view = new DataView(body.buffer);
  let records = 0;
  const addrs = new Set<number>();
  for (let at = 0; at < body.length;) {
    const len = view.getUint32(at, true);
    const frame = body.subarray(at + 4, at + 4 + len);
    assert.deepEqual([...frame.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "zstd magic number");
    const raw = decompress(frame);
    assert.equal(raw.length % BINCRAFT_RECORD_BYTES, 0);
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let r = 0; r < raw.length; r += BINCRAFT_RECORD_BYTES) {
      addrs.add(rv.getUint32(r, true));
      records++;
    }
    at += 4 + len;
  }
  assert.equal(records, flights.length);
  assert.deepEqual([...addrs].sort(), flights.map((f) => parseInt(f.icao24, 16)).sort());
  const world = new Uint8Array(
    await handler(new Request("http://x/bench/tiles?ids=world")).arrayBuffer(),
  );
  const raw = decompress(world.subarray(4));
  assert.equal(raw.length, flights.length * BINCRAFT_RECORD_BYTES);
  // Compressed, as the comparison requires (zeros of fields our data lacks compress well).
  assert.ok(world.length < raw.length / 2, `${world.length} of ${raw.length} bytes`);
});

/** The last state of each aircraft of the real Switzerland recording (97 aircraft). */
async function latestFlights(): Promise<Flight[]> {
  const byId = new Map<string, Flight>();
  for (const f of await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl")) {
    byId.set(f.icao24, f);
  }
  return [...byId.values()];
}
