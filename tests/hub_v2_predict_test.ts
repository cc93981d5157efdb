/**
 * The predictions of `skysentinel.v2.bin` change records
 * (lib/hub/v2/predict.ts, docs/protocol.md "Predictions"): integer trig
 * tables, dead reckoning on real 1 s tracks
 * (small records, and the decoder follows the encoder exactly), and the
 * world count the hub puts in its frames.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { HubCore } from "../lib/hub/mod.ts";
import {
  BinaryDecoder,
  BinaryTracker,
  composeFrame,
  cosLat,
  cosTrack,
  dequantise,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  fromTrackFrame,
  quantise,
  sinTrack,
  timeBase,
  toTrackFrame,
  TRIG_ONE,
} from "../lib/hub/v2/mod.ts";
import { recordedFlights } from "./_recordings.ts";

Deno.test("predict: integer sine and cosine are the circle's to 1/32768", () => {
  for (let h = 0; h < 3600; h++) {
    const rad = h * Math.PI / 1800;
    assert.ok(Math.abs(sinTrack(h) - Math.sin(rad) * TRIG_ONE) <= 0.5 + 1e-6, `sin ${h}`);
    assert.ok(Math.abs(cosTrack(h) - Math.cos(rad) * TRIG_ONE) <= 0.5 + 1e-6, `cos ${h}`);
  }
  assert.equal(cosLat(0), TRIG_ONE);
  assert.equal(cosLat(-6_000_000), Math.round(TRIG_ONE / 2)); // cos 60°
  assert.equal(cosLat(9_000_000), 0);
});

Deno.test("predict: the along-track frame of a residual is undone exactly, and a move's own jitter lies along it", () => {
  const a: [number, number] = [0, 0];
  const b: [number, number] = [0, 0];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor(seed / 2 ** 31 * (2 * n + 1)) - n;
  };
  for (let i = 0; i < 20_000; i++) {
    // Moves of up to 60 s at 2,000 m/s near the pole, residuals up to a wrapped longitude.
    const p = i % 7 === 0 ? 0 : rand(i % 3 === 0 ? 20 : 200_000);
    const q = i % 11 === 0 ? 0 : rand(i % 5 === 0 ? 20 : 2_000_000);
    const x = rand(i % 2 ? 50 : 9_000_000);
    const y = rand(i % 2 ? 50 : 18_000_000);
    toTrackFrame(p, q, x, y, a);
    fromTrackFrame(p, q, a[0], a[1], b);
    assert.deepEqual(b, [x, y], `move ${p},${q} residual ${x},${y}`);
  }
  // 30 units too far along a move to the north-east, south-west or due west: nothing across it.
  for (const [p, q] of [[300, 400], [-300, -400], [0, -500]] as const) {
    const len = Math.hypot(p, q);
    toTrackFrame(p, q, Math.round(30 * p / len), Math.round(30 * q / len), a);
    assert.ok(Math.abs(Math.abs(a[0]) - 30) <= 1 && Math.abs(a[1]) <= 1, `${p},${q}: ${a}`);
  }
});

/** Bytes of the uvarint at the start of `b`. */
function varintLength(b: Uint8Array): number {
  let n = 1;
  while (b[n - 1]! >= 0x80) n++;
  return n;
}

/** A real 1 s track through one tracker and decoder: bytes per change record, checked exactly. */
async function streamTrack(file: string): Promise<{ records: number; bytes: number }> {
  const rows = await recordedFlights(file);
  const tracker = new BinaryTracker();
  const decoder = new BinaryDecoder();
  let seq = 0;
  let bytes = 0;
  let records = 0;
  let lastLc = -Infinity;
  for (const f of rows) {
    // The hub's cache takes only newer states.
    if (f.last_contact_unix <= lastLc) continue;
    lastLc = f.last_contact_unix;
    const serverTimeMs = f.last_contact_unix * 1000 + 300;
    const base = timeBase(serverTimeMs);
    const segment = tracker.advance([f], [], base);
    seq++;
    const frame = seq === 1
      ? composeFrame(FRAME_SNAPSHOT, { seq, serverTimeMs }, [tracker.snapshot(base)])
      : composeFrame(FRAME_DELTA, { seq, serverTimeMs }, segment ? [segment] : []);
    decoder.decode(frame);
    assert.equal(decoder.seq, seq);
    const held = decoder.flights.get(parseInt(f.icao24, 16));
    assert.ok(held, `${file}: aircraft held at ${f.last_contact_unix}`);
    // Exactly what the encoder quantised: predictions agree bit for bit.
    assert.deepEqual(
      dequantise(held),
      dequantise(quantise(f)),
      `${file} at ${f.last_contact_unix}`,
    );
    if (seq > 1 && segment) {
      // The segment head and the icao24 (24 bits; a lone record has no identifier order) are
      // framing, not the record (its padding to the byte is counted).
      bytes += segment.length - varintLength(segment) - 3;
      records++;
    }
  }
  return { records, bytes };
}

Deno.test("predict: real 1 s tracks cost a few bytes per second, and the decoder follows them exactly", async () => {
  // Measured with the predictions: RYR2RG 4.35 B, EZY158T 5.80 B per record (mask, last_contact
  // and the fields); with dead reckoning and climb off (plain deltas) 5.31 B and 6.95 B. Layout
  // revision 3 (bit-packed records, position residuals along and across the move): 3.88 B and
  // 5.80 B, each record's padding to the byte included (one aircraft per segment; about 0.5 B).
  for (
    const [file, most] of [
      ["opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", 4.8],
      ["opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl", 6.4],
    ] as const
  ) {
    const { records, bytes } = await streamTrack(file);
    assert.ok(records > 500, `${file}: ${records} records`);
    const per = bytes / records;
    console.log(`${file}: ${per.toFixed(2)} B per change record (${records})`);
    assert.ok(per <= most, `${file}: ${per.toFixed(2)} B per change record, at most ${most}`);
  }
});

Deno.test("hub core: v2.bin frames carry the world count (snapshots always, deltas when it changed)", async () => {
  const rows = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const first = rows.filter((f) => f.last_contact_unix === rows[0]!.last_contact_unix);
  const nowSeconds = rows[0]!.last_contact_unix + 5;
  const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 60_000 });
  const world = new Map<string, Flight>();
  for (const f of rows.slice(0, 40)) {
    core.ingest(f, { nowSeconds });
    world.set(f.icao24, f);
  }
  let t = nowSeconds * 1000;
  core.tick(t);
  // A regional view that holds only a part of the world.
  const f0 = first[0]!;
  core.join(1, {
    bbox: [
      f0.position.lat - 0.5,
      f0.position.lon - 0.5,
      f0.position.lat + 0.5,
      f0.position.lon + 0.5,
    ],
  });
  const decoder = new BinaryDecoder();
  const snap = decoder.decode(
    core.snapshotMessage(core.bucketOf(1)!, t).frame("bin") as Uint8Array,
  ) as { flights: Flight[]; total?: number };
  assert.equal(snap.total, world.size);
  assert.ok(snap.flights.length < world.size, "the view holds less than the world");
  // Nothing changed: the delta leaves the count out (unchanged).
  const delta = (ms: number) => {
    const d = core.tick(ms).deltas.find((x) => x.bucket === core.bucketOf(1))!;
    return decoder.decode(d.message.frame("bin") as Uint8Array) as { total?: number };
  };
  assert.equal(delta(t += 200).total, undefined);
  // One more aircraft somewhere in the world (outside the view, too): the next delta says so.
  const newcomer = rows.find((f) => !world.has(f.icao24))!;
  core.ingest(newcomer, { nowSeconds });
  assert.equal(delta(t += 200).total, world.size + 1);
  assert.equal(delta(t += 200).total, undefined);
  assert.equal(decoder.seq, core.seq);
});

Deno.test("a whole-world segment identifies its change records by index among the aircraft held", async () => {
  const rows = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const t0 = rows[0]!.last_contact_unix;
  const byId = new Map<string, Flight>();
  for (const f of rows) if (f.last_contact_unix < t0 + 10) byId.set(f.icao24, f);
  const before = [...byId.values()];
  // The next poll of every other aircraft (as the recording has it): a dense tick.
  const next = new Map<string, Flight>();
  for (const f of rows) {
    if (f.last_contact_unix >= t0 + 10 && f.last_contact_unix < t0 + 20 && byId.has(f.icao24)) {
      next.set(f.icao24, f);
    }
  }
  const after = [...next.values()].filter((_, i) => i % 2 === 0);
  assert.ok(before.length > 30 && after.length > 10, `${before.length} / ${after.length}`);
  const serverTimeMs = (t0 + 20) * 1000;
  const base = timeBase(serverTimeMs);
  const sizes: number[] = [];
  for (const alone of [true, false]) {
    const tracker = new BinaryTracker(before);
    const snapshot = composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs: serverTimeMs - 200 }, [
      tracker.snapshot(timeBase(serverTimeMs - 200)),
    ]);
    const segment = tracker.advance(after, [], base, { alone })!;
    sizes.push(segment.length);
    const decoder = new BinaryDecoder();
    decoder.decode(snapshot);
    decoder.decode(composeFrame(FRAME_DELTA, { seq: 2, serverTimeMs }, [segment]));
    for (const f of after) {
      assert.deepEqual(
        dequantise(decoder.flights.get(parseInt(f.icao24, 16))!),
        dequantise(quantise(f)),
      );
    }
    assert.equal(decoder.flights.size, before.length);
  }
  // Index gaps (a few bits each among the held aircraft) against icao24 gaps over 24 bits.
  console.log(`indexed ${sizes[0]} B, with icao24 gaps ${sizes[1]} B (${after.length} changes)`);
  assert.ok(sizes[0]! < sizes[1]! - after.length, `${sizes[0]} vs ${sizes[1]}`);
});
