/**
 * The v1 delta frames the tick composes from per-segment pieces (cached per
 * segment and tick, removes without merging the view's upserts, byte counts
 * from the pieces) are byte for byte what encoding a delta computed the
 * plain way gives: from the committed state before and after the tick,
 * filtered by each view's predicate, `JSON.stringify` and the MessagePack
 * library's `Encoder`. On the real Switzerland recording (with derived
 * copies), views of one and several tiles, with and without a filter,
 * aircraft moving between tiles, leaving a filter and removed.
 */
import assert from "node:assert/strict";
import { Encoder } from "@msgpack/msgpack";
import type { Flight } from "../contracts/flight.ts";
import type { DeltaMessage, Subscription } from "../contracts/ws.ts";
import { viewPredicate, viewSpec } from "../lib/hub/buckets.ts";
import { HubCore } from "../lib/hub/core.ts";
import { tileOf } from "../lib/hub/tiles.ts";
import { flightsCopiesForLoad, T0 } from "./_hub_harness.ts";

const library = new Encoder();
const utf8 = new TextEncoder();

/** Views over Switzerland: several tiles, one tile, a filter over several tiles, a filtered world. */
const VIEWS: Subscription[] = [
  { bbox: [45, 5, 48.5, 11] },
  { bbox: [46, 8, 47.5, 11] },
  { bbox: [46, 6.5, 47, 8.5] },
  { bbox: [44, 4, 50, 14], min_altitude_m: 6000 },
  { bbox: [45.5, 5.5, 48, 10.5], on_ground: false, callsign_prefix: "S" },
  { on_ground: false },
];

/**
 * The delta of one view computed the plain way: upserts are the tick's
 * upserts in the view, in tile order (the segments' order) and then arrival
 * order; removes are the aircraft the view saw that it no longer sees, in
 * the order of their previous tile, then upserts before removals (a whole-world
 * view is one segment: arrival order).
 */
function plainDelta(
  before: Map<string, Flight>,
  changes: { upserts: Flight[]; removes: string[] },
  sub: Subscription,
): { upserts: Flight[]; removes: string[] } {
  const inView = viewPredicate(sub);
  const world = viewSpec(sub).tiles === null;
  const tile = (f: Flight) => world ? 0 : tileOf(f.position.lat, f.position.lon);
  const upserts = changes.upserts.filter(inView).map((f, i) => ({ f, i }))
    .sort((a, b) => tile(a.f) - tile(b.f) || a.i - b.i).map((x) => x.f);
  const gone: { id: string; tile: number; i: number }[] = [];
  changes.upserts.forEach((f, i) => {
    const old = before.get(f.icao24);
    if (old && inView(old) && !inView(f)) gone.push({ id: f.icao24, tile: tile(old), i });
  });
  changes.removes.forEach((id, i) => {
    const old = before.get(id);
    if (old && inView(old)) gone.push({ id, tile: tile(old), i: changes.upserts.length + i });
  });
  gone.sort((a, b) => a.tile - b.tile || a.i - b.i);
  return { upserts, removes: gone.map((g) => g.id) };
}

Deno.test("v1 deltas made of per-segment pieces are the bytes of the plainly computed delta", () => {
  const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
  VIEWS.forEach((sub, i) => core.join(i, sub));
  const before = new Map<string, Flight>();
  const seen = { moves: 0, removes: 0, upserts: 0, frames: 0, multiTile: 0 };
  for (let k = 0; k < 40; k++) {
    const flights = flightsCopiesForLoad(k, 0, 2);
    // Some ticks carry few upserts (MessagePack arrays under 16), some all of them.
    for (const f of flights.slice(0, k % 4 === 1 ? 7 : flights.length)) {
      core.ingest(f, { nowSeconds: T0 + 10 * k });
    }
    // And some aircraft go away (relay mode's removes), to come back later.
    if (k % 5 === 3) {
      for (const f of flights.slice(0, 40).filter((_, i) => i % 3 === 0)) core.remove(f.icao24);
    }
    const result = core.tick((T0 + 10 * k) * 1000);
    for (const f of result.changes.upserts) {
      const old = before.get(f.icao24);
      if (
        old && tileOf(old.position.lat, old.position.lon) !== tileOf(f.position.lat, f.position.lon)
      ) {
        seen.moves++;
      }
    }
    for (const d of result.deltas) {
      const i = [...d.bucket.members][0]!;
      const plain = plainDelta(before, result.changes, VIEWS[i]!);
      const body = d.message.message as DeltaMessage;
      const expected = {
        type: "delta",
        seq: result.seq,
        server_time_ms: result.serverTimeMs,
        upserts: plain.upserts,
        removes: plain.removes,
        total: body.total,
      };
      const json = d.message.frame("json") as string;
      // (assert.ok: a diff of two 30 KB frames helps nobody)
      assert.ok(json === JSON.stringify(expected), `view ${i}, tick ${k}: JSON`);
      const msgpack = d.message.frame("msgpack") as Uint8Array;
      const want = library.encode(expected);
      assert.ok(
        msgpack.length === want.length && msgpack.every((b, j) => b === want[j]),
        `view ${i}, tick ${k}: MessagePack`,
      );
      assert.equal(d.message.bytes("json"), utf8.encode(json).length);
      assert.equal(d.message.bytes("msgpack"), msgpack.length);
      assert.deepEqual(body.removes, plain.removes, `view ${i}, tick ${k}: the message's removes`);
      seen.removes += plain.removes.length;
      seen.upserts += plain.upserts.length;
      seen.frames++;
      if (d.bucket.segments.length > 1 && plain.removes.length + plain.upserts.length > 0) {
        seen.multiTile++;
      }
    }
    for (const f of result.changes.upserts) before.set(f.icao24, f);
    for (const id of result.changes.removes) before.delete(id);
  }
  assert.equal(seen.frames, 40 * VIEWS.length);
  assert.ok(
    seen.moves > 0 && seen.removes > 20 && seen.upserts > 1000 && seen.multiTile > 40,
    JSON.stringify(seen),
  );
});
