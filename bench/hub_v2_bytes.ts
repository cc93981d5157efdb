/**
 * Bytes of `skysentinel.v2.bin` on the load scenario, without sockets:
 * the derived world_load fleet (fixtures/scenarios/world_load.json; copies
 * of real 1 s tracks, labelled derived) fed into the hub's core at 200 ms
 * ticks, one whole-world and many regional views placed as `deno task load`
 * places them (bench/load/viewports.ts), every frame of every view decoded
 * with BinaryDecoder and checked against the hub's state at the end. Beside
 * it, in the same run, the tar1090-style baseline (services/web/
 * baseline_tiles.ts: 112 B records per aircraft, 3° tiles, zstd level 1,
 * polled every 1 s) for the same views. Deterministic apart from zstd's
 * speed, so it shows what a codec change does to the bytes, quickly.
 *
 * `deno run --allow-read bench/hub_v2_bytes.ts [aircraft=10000] [clients=100] [seconds=5]`
 *
 * @module
 */
import { compress, init } from "@bokuweb/zstd-wasm";
import type { Flight } from "../contracts/flight.ts";
import { HubCore } from "../lib/hub/mod.ts";
import { BinaryDecoder, dequantise, quantise } from "../lib/hub/v2/mod.ts";
import { parseScenario } from "../lib/replay/scenario.ts";
import { loadDerivedFleet } from "../services/producer/derived.ts";
import {
  BINCRAFT_RECORD_BYTES,
  tileOf,
  tilesCovering,
  writeRecord,
} from "../services/web/baseline_tiles.ts";
import { planClients } from "./load/viewports.ts";

const arg = (i: number, d: number) => Number(Deno.args[i] ?? d);
const [AIRCRAFT, CLIENTS, SECONDS] = [arg(0, 10_000), arg(1, 100), arg(2, 5)];
const path = new URL("../fixtures/scenarios/world_load.json", import.meta.url).pathname;
const { sources } = parseScenario(await Deno.readTextFile(path), { path });
const fleet = await loadDerivedFleet(sources[0]!.derived!, { aircraft: AIRCRAFT, intervalS: 1 });
let second = Math.floor(Date.now() / 1000);
const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
for (const f of fleet.flightsAt(second - 1)) core.ingest(f, { nowSeconds: second });
core.tick((second - 1) * 1000 + 900);
const plans = planClients(fleet.flightsAt(second - 1).map((f) => f.position), {
  clients: CLIENTS,
  probes: 0,
  worldShare: 0.1,
  mix: { bin: 1, json: 0, msgpack: 0 },
  worldEncodings: ["bin"],
  viewDeg: 10,
});
const decoders = new Map<number, BinaryDecoder>();
for (const p of plans) {
  core.join(p.id, p.bbox ? { bbox: p.bbox } : {});
  const d = new BinaryDecoder();
  const snapshot = core.snapshotMessage(core.bucketOf(p.id)!, (second - 1) * 1000 + 900);
  d.decode(snapshot.frame("bin") as Uint8Array);
  decoders.set(p.id, d);
}

interface Tally {
  bytes: number;
  upserts: number;
  frames: number;
  segments: number;
  heads: number;
}
const tally = (): Tally => ({ bytes: 0, upserts: 0, frames: 0, segments: 0, heads: 0 });
const world = tally();
const regional = tally();
const baseline = { world: 0, regional: 0 };

/** Segment count and the bytes of the frame header and segment heads. */
function framing(b: Uint8Array): { segments: number; heads: number } {
  let at = 1;
  const uvarint = () => {
    let v = 0;
    for (let scale = 1;; scale *= 128) {
      if (at >= b.length) throw new Error("frame ends inside a varint");
      const x = b[at++]!;
      v += (x & 127) * scale;
      if (x < 128) return v;
    }
  };
  for (let k = 0; k < 4; k++) uvarint(); // seq, time, total, last_contact reference
  const segments = uvarint();
  let heads = at;
  for (let i = 0; i < segments; i++) {
    const start = at;
    const head = uvarint();
    if (head % 2) at++; // the contents byte
    heads += at - start;
    at += Math.floor(head / 2);
  }
  return { segments, heads };
}

await init();
const zstdTile = (list: Flight[], nowS: number) => {
  const raw = new Uint8Array(list.length * BINCRAFT_RECORD_BYTES);
  const view = new DataView(raw.buffer);
  list.forEach((flight, k) => writeRecord(view, k * BINCRAFT_RECORD_BYTES, { flight, nowS }));
  return compress(raw, 1).length;
};
for (let s = 0; s < SECONDS; s++, second++) {
  for (let slice = 0; slice < 5; slice++) {
    for (const f of fleet.flightsAt(second, { slice, slices: 5 })) {
      core.ingest(f, { nowSeconds: second + 1 });
    }
    const t = core.tick(second * 1000 + slice * 200 + 137);
    for (const d of t.deltas) {
      const bytes = d.message.frame("bin") as Uint8Array;
      for (const id of d.bucket.members) {
        const m = decoders.get(id)!.decode(bytes) as { upserts: Flight[]; removes: string[] };
        const a = plans[id]!.bbox ? regional : world;
        const f = framing(bytes);
        a.bytes += bytes.length;
        a.upserts += m.upserts.length + m.removes.length;
        a.frames++;
        a.segments += f.segments;
        a.heads += f.heads;
      }
    }
  }
  // The baseline: every view polls its tiles (or the world file) once a second, 4 B per part.
  const all = core.snapshot();
  const byTile = new Map<number, Flight[]>();
  for (const f of all) {
    const k = tileOf(f.position.lat, f.position.lon);
    let list = byTile.get(k);
    if (!list) byTile.set(k, list = []);
    list.push(f);
  }
  const tiles = new Map([...byTile].map(([k, list]) => [k, zstdTile(list, second)]));
  const worldFile = zstdTile(all, second);
  for (const p of plans) {
    if (!p.bbox) baseline.world += worldFile + 4;
    else {
      for (const k of tilesCovering(p.bbox)) {
        const b = tiles.get(k);
        if (b !== undefined) baseline.regional += b + 4;
      }
    }
  }
}

// Every view's decoder holds exactly the hub's quantised state of what it was sent.
const truth = new Map(
  core.snapshot().map((f) => [f.icao24, JSON.stringify(dequantise(quantise(f)))]),
);
let mismatches = 0;
for (const p of plans) {
  const held = decoders.get(p.id)!.flightObjects();
  if (!p.bbox && held.length !== truth.size) mismatches++;
  for (const f of held) if (truth.get(f.icao24) !== JSON.stringify(f)) mismatches++;
}
if (mismatches > 0) throw new Error(`${mismatches} decoded states differ from the hub's`);

const nWorld = plans.filter((p) => !p.bbox).length;
const nRegional = plans.length - nWorld;
const perS = (bytes: number, n: number) => bytes / n / SECONDS;
const kb = (v: number) => (v / 1024).toFixed(2);
const line = (name: string, a: Tally, n: number, base: number) => {
  const ours = perS(a.bytes, n);
  const theirs = perS(base, n);
  console.log(
    `${name}: ${(a.bytes / a.upserts).toFixed(2)} B/upsert (${(a.upserts / a.frames).toFixed(1)} ` +
      `upserts, ${(a.segments / a.frames).toFixed(1)} segments per frame; headers ` +
      `${(a.heads / a.upserts).toFixed(2)} B/upsert), ${kb(ours)} KB/s per client; baseline ` +
      `${kb(theirs)} KB/s: ${(theirs / ours).toFixed(2)}x fewer bytes`,
  );
  return [ours * n, theirs * n];
};
console.log(
  `v2.bin on ${AIRCRAFT} derived aircraft (world_load copies, 1 s), ${nWorld} whole-world and ` +
    `${nRegional} regional views, ${SECONDS} s of 200 ms ticks; every frame decoded and checked`,
);
const [ow, bw] = line("whole world", world, nWorld, baseline.world);
const [or, br] = line("regional", regional, nRegional, baseline.regional);
console.log(
  `all views: ${kb((ow! + or!) / plans.length)} KB/s per client, baseline ` +
    `${kb((bw! + br!) / plans.length)} KB/s: ${
      ((bw! + br!) / (ow! + or!)).toFixed(2)
    }x fewer bytes`,
);
