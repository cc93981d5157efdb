/**
 * Costs of the hub's pure core: a tick (commit + per-bucket deltas), encoding
 * deltas and snapshots in JSON, MessagePack and `skysentinel.v2.bin`, filter
 * matching and client frame decoding. It also prints bytes per aircraft
 * upsert (frame overhead included) for the three encodings on realistic
 * deltas cut from the real recordings.
 *
 * Data: real OpenSky recordings, scaled with derived copies for load: each
 * copy of a real track gets a new icao24 scattered over the 24-bit space
 * (as real addresses are, so address coding is not flattered) and a fixed
 * position offset; callsigns, speeds and altitudes stay real.
 *
 * `deno bench -A bench/hub_core_bench.ts`
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import type { Subscription } from "../contracts/ws.ts";
import { compileFilter, decodeClientFrame, encode, HubCore } from "../lib/hub/mod.ts";
import {
  BinaryDecoder,
  BinaryTracker,
  composeFrame,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  timeBase,
} from "../lib/hub/v2/mod.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { parseRecordingLine } from "../lib/replay/recording.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

/** A recording's replies as flights per reply, in order. */
function replies(name: string): { time: number; flights: Flight[] }[] {
  return Deno.readTextFileSync(fixture(name)).split("\n").filter((l) => l.trim()).map((line) => {
    const parsed = parseRecordingLine(line);
    if (!parsed.ok) throw new Error(parsed.reason);
    const flights: Flight[] = [];
    for (const row of parsed.reply.states ?? []) {
      const r = stateVectorToFlight(row);
      if (r.ok) flights.push(r.flight);
    }
    return { time: parsed.reply.time, flights };
  });
}

/** A derived copy's address: the real one moved by copy number, scattered over 24 bits. */
const copyIcao = (icao24: string, copy: number) =>
  ((parseInt(icao24, 16) + copy * 0x9e3779) % 0x1000000).toString(16).padStart(6, "0");

/** Copy `c` of `f`: new address, position moved by a fixed offset per copy. */
function copyOf(f: Flight, c: number, timeShift = 0): Flight {
  const lat = Math.max(-89, Math.min(89, f.position.lat + ((c % 7) - 3) * 8));
  const lon = ((f.position.lon + Math.floor(c / 7) * 11.7 + 540) % 360) - 180;
  return {
    ...f,
    icao24: copyIcao(f.icao24, c),
    position: { lat, lon },
    time_position_unix: f.time_position_unix + timeShift,
    last_contact_unix: f.last_contact_unix + timeShift,
  };
}

// --- data ----------------------------------------------------------------------------

const swiss = replies("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
const COPIES = Math.ceil(10_000 / Math.max(...swiss.map((r) => r.flights.length)));
const swissCopies = (k: number) =>
  swiss[k]!.flights.flatMap((f) => range(COPIES, (c) => copyOf(f, c)));
const shift = Math.floor(Date.now() / 1000) - swiss[0]!.time;
const nowSeconds = Math.floor(Date.now() / 1000);
const full = swissCopies(0).map((f) => ({
  ...f,
  time_position_unix: f.time_position_unix + shift,
  last_contact_unix: f.last_contact_unix + shift,
}));
/** One tick's share of a poll: polls every 10 s, ticks every 200 ms. */
const perTick = Math.ceil(full.length / 50);

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

// --- bytes per upsert ----------------------------------------------------------------

interface DeltaCase {
  name: string;
  before: Flight[];
  after: Flight[];
  removes: string[];
  serverTimeMs: number;
}

/** Bytes per upsert of one delta frame in each encoding, frame overhead included. */
function bytesPerUpsert(c: DeltaCase): Record<"json" | "msgpack" | "v2.bin", number> {
  const message = {
    type: "delta" as const,
    seq: 1_000,
    server_time_ms: c.serverTimeMs,
    upserts: c.after,
    removes: c.removes,
  };
  const tracker = new BinaryTracker(c.before);
  const segment = tracker.advance(c.after, c.removes, timeBase(c.serverTimeMs));
  const bin = composeFrame(
    FRAME_DELTA,
    { seq: 1_000, serverTimeMs: c.serverTimeMs },
    segment ? [segment] : [],
  );
  // The decoder must read it back (the figure is for a frame that works).
  const decoder = new BinaryDecoder();
  const snap = new BinaryTracker(c.before).snapshot(timeBase(c.serverTimeMs - 200));
  decoder.decode(
    composeFrame(FRAME_SNAPSHOT, { seq: 999, serverTimeMs: c.serverTimeMs - 200 }, [snap]),
  );
  const decoded = decoder.decode(bin) as { upserts: unknown[] };
  if (decoded.upserts.length !== c.after.length) throw new Error(`${c.name}: decode mismatch`);
  const n = c.after.length + c.removes.length;
  return {
    json: new TextEncoder().encode(encode(message, "json") as string).length / n,
    msgpack: (encode(message, "msgpack") as Uint8Array).length / n,
    "v2.bin": bin.length / n,
  };
}

const cases: DeltaCase[] = [];
{
  // Switzerland, 10 s polls: a tick carrying 1/50 of the next poll, and one carrying all of it.
  const before = swissCopies(30);
  const byId = new Map(before.map((f) => [f.icao24, f]));
  const after = swissCopies(31).filter((f) => byId.has(f.icao24));
  const t = swiss[31]!.time * 1000 + 150;
  cases.push({
    name: `Switzerland 10 s poll, ${before.length} aircraft (derived copies), tick of ${perTick}`,
    before,
    after: after.slice(0, perTick),
    removes: [],
    serverTimeMs: t,
  });
  cases.push({
    name: `Switzerland 10 s poll, whole poll of ${after.length} in one tick`,
    before,
    after,
    removes: [],
    serverTimeMs: t,
  });
}
{
  // 1 s tracks: 4 real aircraft, 2,000 derived copies at different offsets in their tracks,
  // each updated every 1 s; a 200 ms tick carries a fifth of them.
  const tracks = [
    "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
    "event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl",
    "opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl",
    "opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl",
  ].map((name) => replies(name).flatMap((r) => r.flights.slice(0, 1)));
  const before: Flight[] = [];
  const after: Flight[] = [];
  for (let c = 0; c < 500; c++) {
    for (const track of tracks) {
      const i = (c * 7) % (track.length - 1);
      const a = track[i]!;
      const b = track[i + 1]!;
      // Shift every copy onto one clock: copy time = track time + offset so the tick's times agree.
      const dt = 1_700_000_000 - a.last_contact_unix;
      // Only updates the hub's cache takes (newer than the last state).
      if (
        b.last_contact_unix <= a.last_contact_unix && b.time_position_unix <= a.time_position_unix
      ) {
        continue;
      }
      before.push(copyOf(a, c, dt));
      after.push(copyOf(b, c, dt));
    }
  }
  const t = (1_700_000_000 + 2) * 1000;
  const tick = Math.ceil(after.length / 5);
  cases.push({
    name: `1 s tracks, ${before.length} aircraft (derived copies), tick of ${tick}`,
    before,
    after: after.slice(0, tick),
    removes: [],
    serverTimeMs: t,
  });
  cases.push({
    name: `1 s tracks, tick of ${tick} and 20 removes`,
    before,
    after: after.slice(20, tick),
    removes: before.slice(0, 20).map((f) => f.icao24),
    serverTimeMs: t,
  });
}
console.log("bytes per aircraft upsert (or remove), frame overhead included:");
console.log("  json      msgpack   v2.bin    case");
for (const c of cases) {
  const b = bytesPerUpsert(c);
  console.log(
    `  ${b.json.toFixed(1).padEnd(9)} ${b.msgpack.toFixed(1).padEnd(9)} ${
      b["v2.bin"].toFixed(1).padEnd(9)
    } ${c.name}`,
  );
}
{
  const snapFlights = swissCopies(30);
  const t = swiss[30]!.time * 1000;
  const bin = composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs: t }, [
    new BinaryTracker(snapFlights).snapshot(timeBase(t)),
  ]);
  const message = { type: "snapshot" as const, seq: 1, server_time_ms: t, flights: snapFlights };
  console.log(
    `snapshot of ${snapFlights.length} aircraft: json ${
      (encode(message, "json") as string).length
    } B, msgpack ${(encode(message, "msgpack") as Uint8Array).length} B, v2.bin ${bin.length} B (${
      (bin.length / snapFlights.length).toFixed(1)
    } B/aircraft)`,
  );
}

// --- tiles: the core with many viewports ---------------------------------------------

/** Regional viewports (about 12° × 16°) centred on aircraft, so they sit where the traffic is. */
function viewports(n: number, flights: Flight[]): Subscription[] {
  return Array.from({ length: n }, (_, i) => {
    const f = flights[(i * 7919) % flights.length]!;
    const lat = Math.max(-84, Math.min(78, f.position.lat - 6));
    const lon = Math.max(-180, Math.min(164, f.position.lon - 8));
    return { bbox: [lat, lon, lat + 12, lon + 16] as [number, number, number, number] };
  });
}

/** A core holding `flights`, with one world view and `views` regional ones, binary trackers on. */
function tiledCore(flights: Flight[], views: number): HubCore<number> {
  const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
  for (const f of flights) core.ingest(f, { nowSeconds });
  core.tick(Date.now());
  core.join(0);
  viewports(views, flights).forEach((sub, i) => core.join(i + 1, sub));
  // Binary clients start every segment's tracker with their first snapshot.
  for (let i = 0; i <= views; i++) core.snapshotMessage(core.bucketOf(i)!, Date.now()).frame("bin");
  return core;
}

/** The next poll of every aircraft (as the real recording moves them), times shifted like `full`. */
const nextPoll: Flight[] = (() => {
  const ahead = new Map(swissCopies(1).map((f) => [f.icao24, f]));
  return full.flatMap((f) => {
    const a = ahead.get(f.icao24);
    return a
      ? [{
        ...a,
        time_position_unix: a.time_position_unix + shift,
        last_contact_unix: a.last_contact_unix + shift,
      }]
      : [];
  });
})();

for (const share of [50, 5]) {
  // One 200 ms tick through a tiled core: 1/50 of the aircraft (10 s polls) or 1/5 (1 s updates,
  // the load scenario's rhythm). Bytes per upsert of each view's v2.bin frame, header included.
  const core = tiledCore(full, 100);
  const tick = Math.ceil(nextPoll.length / share);
  for (const f of nextPoll.slice(0, tick)) core.ingest(f, { nowSeconds });
  const t = core.tick(Date.now());
  let worldBytes = 0, worldChanges = 0, regionalBytes = 0, regionalChanges = 0, regional = 0;
  for (const d of t.deltas) {
    const bytes = (d.message.frame("bin") as Uint8Array).length;
    if (d.bucket.world) [worldBytes, worldChanges] = [bytes, d.changes];
    else if (d.changes > 0) {
      regionalBytes += bytes;
      regionalChanges += d.changes;
      regional++;
    }
  }
  console.log(
    `tiled core, ${full.length} aircraft, 1 world + 100 regional views, ${core.segmentCount} segments, ` +
      `tick of ${tick} upserts: v2.bin world ${(worldBytes / worldChanges).toFixed(1)} B/upsert; ` +
      `${regional} regional views with changes ${
        (regionalBytes / regionalChanges).toFixed(1)
      } B/upsert ` +
      `(${(regionalChanges / Math.max(1, regional)).toFixed(0)} upserts per frame)`,
  );
}

for (const views of [10, 100, 1000]) {
  for (const encoding of ["bin", "json", "msgpack"] as const) {
    if (encoding !== "bin" && views !== 100) continue;
    const core = tiledCore(full, views);
    const update = updater(core);
    Deno.bench({
      name:
        `tiled tick: ${perTick} upserts, 1 world + ${views} regional views, ${encoding} frames for all`,
      group: "tiled tick",
      fn() {
        update(perTick);
        for (const { message } of core.tick(Date.now()).deltas) message.frame(encoding);
      },
    });
  }
}

// --- timings -------------------------------------------------------------------------

const FILTERS: Subscription[] = [
  { bbox: [35, -10, 60, 30] },
  { callsign_prefix: "EZY" },
  { min_altitude_m: 11_000 },
  { bbox: [45, 5, 48, 11], on_ground: false },
];

function coreWith(buckets: number): HubCore<number> {
  const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
  core.join(0);
  for (let i = 1; i < buckets; i++) core.join(i, FILTERS[(i - 1) % FILTERS.length]);
  for (const f of full) core.ingest(f, { nowSeconds });
  core.tick(0);
  return core;
}

/** Ingests `count` of the aircraft (rolling), each newer than its last update. */
function updater(core: HubCore<number>) {
  let n = 0;
  let offset = 0;
  return (count: number) => {
    n++;
    for (let i = 0; i < count; i++) {
      const f = full[(offset + i) % full.length]!;
      core.ingest({
        ...f,
        time_position_unix: f.time_position_unix + n,
        last_contact_unix: f.last_contact_unix + n,
      }, { nowSeconds });
    }
    offset = (offset + count) % full.length;
  };
}

for (const buckets of [1, 5]) {
  const core = coreWith(buckets);
  const update = updater(core);
  Deno.bench({
    name: `tick: ${perTick} upserts of ${full.length} aircraft, ${buckets} bucket(s), no encoding`,
    group: "tick",
    fn() {
      update(perTick);
      core.tick(0);
    },
  });
}

for (const encoding of ["json", "msgpack"] as const) {
  const core = coreWith(5);
  const update = updater(core);
  Deno.bench({
    name: `poll tick: all ${full.length} aircraft updated, 5 buckets, encoded ${encoding}`,
    group: "poll tick",
    fn() {
      update(full.length);
      for (const { message } of core.tick(0).deltas) message.frame(encoding);
    },
  });
}

const delta = {
  type: "delta" as const,
  seq: 1,
  server_time_ms: Date.now(),
  upserts: full.slice(0, perTick),
  removes: [],
};
const snapshot = { type: "snapshot" as const, seq: 1, server_time_ms: Date.now(), flights: full };
for (const encoding of ["json", "msgpack"] as const) {
  Deno.bench({
    name: `encode a delta of ${perTick} flights, ${encoding}`,
    group: "encode delta",
    baseline: encoding === "json",
    fn: () => void encode(delta, encoding),
  });
  Deno.bench({
    name: `encode a snapshot of ${full.length} flights, ${encoding}`,
    group: "encode snapshot",
    baseline: encoding === "json",
    fn: () => void encode(snapshot, encoding),
  });
}
{
  // v2.bin: advancing a tracker by one tick's upserts (quantise, diff, encode the segment).
  const tracker = new BinaryTracker(full);
  let n = 0;
  Deno.bench({
    name: `encode a delta of ${perTick} flights, v2.bin (tracker advance + frame)`,
    group: "encode delta",
    fn() {
      n++;
      const upserts = full.slice(0, perTick).map((f) => ({
        ...f,
        time_position_unix: f.time_position_unix + n,
        last_contact_unix: f.last_contact_unix + n,
      }));
      const base = timeBase(Date.now());
      composeFrame(FRAME_DELTA, { seq: n, serverTimeMs: Date.now() }, [
        tracker.advance(upserts, [], base)!,
      ]);
    },
  });
  Deno.bench({
    name: `encode a snapshot of ${full.length} flights, v2.bin`,
    group: "encode snapshot",
    fn() {
      composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs: Date.now() }, [
        tracker.snapshot(timeBase(Date.now())),
      ]);
    },
  });
  const frame = composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs: Date.now() }, [
    tracker.snapshot(timeBase(Date.now())),
  ]);
  Deno.bench({
    name: `decode a snapshot of ${full.length} flights, v2.bin (BinaryDecoder, flight objects)`,
    fn: () => void new BinaryDecoder().decode(frame),
  });
}

const bboxAltitude = compileFilter({ bbox: [35, -10, 60, 30], min_altitude_m: 11_000 });
Deno.bench({
  name: `filter: ${full.length} flights against a bbox + altitude filter`,
  fn() {
    let n = 0;
    for (const f of full) if (bboxAltitude(f)) n++;
    if (n < 0) throw new Error("unreachable");
  },
});

const subscribe = JSON.stringify({ type: "subscribe", filter: FILTERS[0] });
Deno.bench({
  name: "decodeClientFrame: a subscribe message",
  fn: () => void decodeClientFrame(subscribe),
});
