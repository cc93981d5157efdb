/**
 * The hub's pure core (lib/hub/) on the real Switzerland recording: cache
 * ordering and staleness, filters, buckets (one encode per bucket per
 * tick), seq, snapshots + deltas = state, client frame decoding, anomalies.
 */
import assert from "node:assert/strict";
import { encode as msgpackEncode, Encoder } from "@msgpack/msgpack";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import {
  type DeltaMessage,
  MAX_CLIENT_FRAME_BYTES,
  type SnapshotMessage,
} from "../contracts/ws.ts";
import { parseRecordingLine } from "../lib/replay/recording.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import {
  AnomalyLog,
  decodeClientFrame,
  encode,
  type EncodeFn,
  FlightCache,
  FlightView,
  HubCore,
  matches,
  subscriptionKey,
  viewPredicate,
} from "../lib/hub/mod.ts";
import { msgpackElements, utf8Length } from "../lib/hub/codec.ts";

const RECORDING = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
);

/** The recording as snapshots of flights, times as recorded. */
function loadRecording(): { time: number; flights: Flight[] }[] {
  return Deno.readTextFileSync(RECORDING).split("\n").filter((l) => l.trim()).map((line) => {
    const parsed = parseRecordingLine(line);
    if (!parsed.ok) throw new Error(parsed.reason);
    const flights = (parsed.reply.states ?? []).flatMap((row) => {
      const r = stateVectorToFlight(row);
      return r.ok ? [r.flight] : [];
    });
    return { time: parsed.reply.time, flights };
  });
}

const snapshots = loadRecording();
const first = snapshots[0]!;
const STALE_S = 60;

function newCore(encodeFn?: EncodeFn) {
  return new HubCore<string>({
    staleAfterSeconds: STALE_S,
    anomalyWindowMs: 3_600_000,
    encode: encodeFn,
  });
}

Deno.test("cache: newer states win; older and equal ones are rejected", () => {
  const cache = new FlightCache({ staleAfterSeconds: STALE_S });
  // One real aircraft at two consecutive recording times.
  const icao = first.flights[0]!.icao24;
  const track = snapshots.map((s) => s.flights.find((f) => f.icao24 === icao)).filter((f) =>
    f !== undefined
  );
  const [a, b] = [track[0]!, track[1]!];
  assert.ok(b.last_contact_unix > a.last_contact_unix);
  const now = { nowSeconds: b.last_contact_unix };
  assert.deepEqual(cache.upsert(a, now), { accepted: true });
  assert.deepEqual(cache.upsert(b, now), { accepted: true });
  assert.deepEqual(cache.upsert(a, now), { accepted: false, reason: "out_of_order" });
  assert.deepEqual(cache.upsert({ ...b }, now), { accepted: false, reason: "duplicate" });
  // A newer contact with an older position is still out of order.
  const olderPosition = {
    ...b,
    last_contact_unix: b.last_contact_unix + 1,
    time_position_unix: a.time_position_unix,
  };
  assert.deepEqual(cache.upsert(olderPosition, now), { accepted: false, reason: "out_of_order" });
  assert.equal(cache.get(icao), b);
  const changes = cache.commit();
  assert.deepEqual(changes.upserts, [b], "one upsert per aircraft per tick, the latest");
  assert.deepEqual(cache.commit().upserts, [], "the change log is per tick");
});

Deno.test("cache: stale aircraft are removed against the wall clock passed in, and reported", () => {
  const cache = new FlightCache({ staleAfterSeconds: STALE_S });
  for (const f of first.flights) cache.upsert(f, { nowSeconds: first.time });
  cache.commit();
  assert.deepEqual(cache.sweepStale(first.time + STALE_S), [], "not stale at the threshold");
  // 10 s later one aircraft reports again; the rest go quiet.
  const keep = snapshots[1]!.flights[0]!;
  cache.upsert(keep, { nowSeconds: first.time + 10 });
  const removed = cache.sweepStale(first.time + STALE_S + 1);
  assert.equal(removed.length, first.flights.length - 1);
  assert.ok(!removed.includes(keep.icao24));
  const changes = cache.commit();
  assert.deepEqual(changes.removes.sort(), [...removed].sort());
  assert.deepEqual(changes.upserts, [keep]);
  assert.equal(cache.committedSize, 1);
  // An update that is already stale when it arrives is refused.
  assert.deepEqual(cache.upsert(first.flights[1]!, { nowSeconds: first.time + 3600 }), {
    accepted: false,
    reason: "stale",
  });
});

Deno.test("cache: an aircraft added and gone between two ticks never shows up", () => {
  const cache = new FlightCache({ staleAfterSeconds: STALE_S });
  const f = first.flights[0]!;
  cache.upsert(f, { nowSeconds: first.time });
  assert.deepEqual(cache.sweepStale(first.time + 3600), [f.icao24]);
  assert.deepEqual(cache.commit(), { upserts: [], removes: [], producedAtMs: [] });
});

Deno.test("filters: bbox, altitude, on_ground, callsign prefix", () => {
  const f = first.flights.find((x) => x.callsign?.startsWith("DLH"))!;
  const { lat, lon } = f.position;
  assert.ok(matches(f, {}));
  assert.ok(matches(f, { bbox: [lat - 0.1, lon - 0.1, lat + 0.1, lon + 0.1] }));
  assert.ok(!matches(f, { bbox: [lat + 0.1, lon - 0.1, lat + 0.2, lon + 0.1] }));
  // A box across the antimeridian (lomin > lomax) excludes Switzerland.
  assert.ok(!matches(f, { bbox: [-90, 170, 90, -170] }));
  assert.ok(matches({ ...f, position: { lat, lon: 179.5 } }, { bbox: [-90, 170, 90, -170] }));
  assert.ok(matches(f, { min_altitude_m: f.altitude_m! - 1, max_altitude_m: f.altitude_m! + 1 }));
  assert.ok(!matches(f, { min_altitude_m: f.altitude_m! + 1 }));
  assert.ok(!matches(f, { max_altitude_m: f.altitude_m! - 1 }));
  assert.ok(matches(f, { on_ground: false }));
  assert.ok(!matches(f, { on_ground: true }));
  assert.ok(matches(f, { callsign_prefix: "dlh" }), "case-insensitive");
  assert.ok(!matches(f, { callsign_prefix: "EZY" }));
  assert.ok(!matches({ ...f, callsign: null }, { callsign_prefix: "D" }));
  // Without altitude, only aircraft on the ground pass altitude bounds.
  const taxiing = { ...f, altitude_m: null, on_ground: true };
  assert.ok(matches(taxiing, { min_altitude_m: 1000 }));
  assert.ok(!matches({ ...taxiing, on_ground: false }, { min_altitude_m: 1000 }));
  assert.ok(!matches(taxiing, { min_altitude_m: 1000, on_ground: false }));
});

Deno.test("filters: equal filters share one canonical key", () => {
  assert.equal(subscriptionKey({}), "all");
  assert.equal(subscriptionKey({ callsign_prefix: "" }), "all");
  assert.equal(subscriptionKey({ bbox: [-90, -180, 90, 180] }), "all");
  assert.equal(
    subscriptionKey({ callsign_prefix: "swr", on_ground: false }),
    subscriptionKey({ on_ground: false, callsign_prefix: "SWR" }),
  );
  assert.notEqual(subscriptionKey({ on_ground: false }), subscriptionKey({ on_ground: true }));
});

Deno.test("tick: one delta per bucket, encoded once per encoding, shared by its clients", () => {
  const calls: string[] = [];
  const counting: EncodeFn = (m, e) => {
    calls.push(`${m.type}:${e}`);
    return encode(m, e);
  };
  const core = newCore(counting);
  const all1 = core.join("a1");
  const all2 = core.join("a2", { callsign_prefix: "" });
  const british1 = core.join("s1", { callsign_prefix: "baw" });
  const british2 = core.join("s2", { callsign_prefix: "BAW" });
  assert.equal(all1, all2);
  assert.equal(british1, british2);
  assert.equal(core.bucketCount, 2);

  for (const f of first.flights) core.ingest(f, { nowSeconds: first.time });
  const tick = core.tick(1_000);
  assert.equal(tick.deltas.length, 2);
  // Every client of a bucket asks for its frame: the encoder runs once per bucket and encoding.
  const frames = new Map<string, unknown[]>();
  for (const { bucket, message } of tick.deltas) {
    for (const enc of ["json", "msgpack"] as const) {
      frames.set(`${bucket.key}:${enc}`, [...bucket.members].map(() => message.frame(enc)));
    }
  }
  assert.deepEqual(calls.sort(), ["delta:json", "delta:json", "delta:msgpack", "delta:msgpack"]);
  for (const list of frames.values()) {
    assert.equal(list.length, 2);
    assert.equal(list[0], list[1], "the same string / byte array object for both clients");
  }
  const britishDelta = tick.deltas.find((d) => d.bucket === british1)!.message
    .message as DeltaMessage;
  assert.ok(britishDelta.upserts.length > 0);
  assert.ok(britishDelta.upserts.every((f) => f.callsign?.startsWith("BAW")));

  // A quiet tick: every bucket gets the same empty delta, encoded once.
  calls.length = 0;
  const quiet = core.tick(1_200);
  assert.equal(quiet.deltas[0]!.message, quiet.deltas[1]!.message);
  for (const d of quiet.deltas) d.message.frame("json");
  assert.deepEqual(calls, ["delta:json"]);
});

Deno.test("tick: seq is global and continuous; snapshots carry the last tick's seq", () => {
  const core = newCore();
  const empty = core.join("x");
  assert.equal((core.snapshotMessage(empty, 0).message as SnapshotMessage).seq, 0);
  core.tick(1);
  core.tick(2);
  core.join("y", { on_ground: true });
  const t = core.tick(3);
  assert.equal(t.seq, 3);
  for (const d of t.deltas) assert.equal((d.message.message as DeltaMessage).seq, 3);
  assert.equal((core.snapshotMessage(empty, 4).message as SnapshotMessage).seq, 3);
});

Deno.test("tick: a client applying snapshot + deltas holds exactly the filtered state, removes included", () => {
  // Replay 40 snapshots (400 s of the recording) into the core; a filtered
  // client joins late; aircraft leave its box and go stale along the way.
  const core = newCore();
  const box: [number, number, number, number] = [46.0, 6.5, 47.2, 8.9];
  // The last box spans two tiles (6-9° and 9-12° east): aircraft cross between them.
  const filters = [{}, { bbox: box }, { bbox: box, min_altitude_m: 11_000 }, {
    bbox: [46.0, 8.0, 47.5, 11.0] as [number, number, number, number],
  }];
  const views = filters.map(() => new Map<string, Flight>());
  let sawRemove = false;
  for (const [i, snap] of snapshots.slice(0, 40).entries()) {
    for (const f of snap.flights) core.ingest(f, { nowSeconds: snap.time });
    core.sweep(snap.time);
    if (i === 5) {
      for (const [k, filter] of filters.entries()) {
        const bucket = core.join(`c${k}`, filter);
        const snapshot = core.snapshotMessage(bucket, 0).message as SnapshotMessage;
        for (const f of snapshot.flights) views[k]!.set(f.icao24, f);
      }
    }
    const tick = core.tick(snap.time * 1000);
    for (const [k] of filters.entries()) {
      const d = tick.deltas.find((x) => x.bucket.members.has(`c${k}`));
      if (!d) continue;
      const delta = d.message.message as DeltaMessage;
      for (const f of delta.upserts) views[k]!.set(f.icao24, f);
      for (const id of delta.removes) {
        assert.ok(views[k]!.delete(id), "only known aircraft are removed");
        sawRemove = true;
      }
    }
    if (i >= 5) {
      for (const [k, filter] of filters.entries()) {
        // A bbox is rounded out to the tiles covering it: the client holds exactly the
        // aircraft of those tiles that pass the rest of the filter, so every exact match too.
        const inView = viewPredicate(filter);
        const expected = core.snapshot({}).filter(inView)
          .sort((a, b) => a.icao24.localeCompare(b.icao24));
        const got = [...views[k]!.values()].sort((a, b) => a.icao24.localeCompare(b.icao24));
        assert.deepEqual(got, expected, `client ${k} at snapshot ${i}`);
        for (const f of core.snapshot(filter)) assert.ok(views[k]!.has(f.icao24));
      }
    }
  }
  assert.ok(sawRemove, "the recording moves aircraft out of the box");
  assert.ok(views[1]!.size > 0 && views[1]!.size < views[0]!.size);
});

Deno.test("codec: client frames are validated with readable errors", () => {
  assert.deepEqual(decodeClientFrame('{"type":"ping","id":7}'), {
    ok: true,
    message: { type: "ping", id: 7 },
  });
  const sub = decodeClientFrame(msgpackEncode({ type: "subscribe", filter: { on_ground: false } }));
  assert.deepEqual(sub, { ok: true, message: { type: "subscribe", filter: { on_ground: false } } });
  const badJson = decodeClientFrame("{nope");
  assert.equal(badJson.ok, false);
  assert.equal(!badJson.ok && badJson.code, "bad_frame");
  const notObject = decodeClientFrame("[1,2]");
  assert.equal(!notObject.ok && notObject.code, "bad_frame");
  const unknown = decodeClientFrame('{"type":"teleport"}');
  assert.equal(!unknown.ok && unknown.code, "bad_message");
  assert.match(!unknown.ok ? unknown.message : "", /type/);
  const badFilter = decodeClientFrame('{"type":"subscribe","filter":{"bbox":[1,2,3]}}');
  assert.equal(!badFilter.ok && badFilter.code, "bad_message");
  const big = decodeClientFrame(`{"type":"ping","id":"${"x".repeat(MAX_CLIENT_FRAME_BYTES)}"}`);
  assert.equal(!big.ok && big.code, "frame_too_large");
  const badMsgpack = decodeClientFrame(new Uint8Array([0xc1]));
  assert.equal(!badMsgpack.ok && badMsgpack.code, "bad_frame");
});

Deno.test("anomalies: deduplicated by id, changes re-sent, window applied", () => {
  const log = new AnomalyLog({ windowMs: 3_600_000 });
  // The one holding of the TRA051 recording (fixtures/README.md).
  const now = Date.parse("2018-05-30T16:00:00Z");
  const event: AnomalyEvent = {
    id: "484506-holding-1527695032",
    kind: "holding",
    severity: "warning",
    icao24: "484506",
    callsign: "TRA051",
    started_at: "2018-05-30T15:43:52.000Z",
    ended_at: null,
    position: { lat: 52.19, lon: 6.39, altitude_m: 2650 },
    evidence: { turn_deg: 645 },
  };
  assert.ok(log.add(event, now));
  assert.equal(log.add({ ...event }, now), null, "same event again");
  assert.ok(log.add({ ...event, ended_at: "2018-05-30T15:53:51.000Z" }, now), "it ended");
  assert.equal(log.size, 1);
  assert.equal(
    log.add({ ...event, id: "old-one-000", started_at: "2018-05-30T13:00:00.000Z" }, now),
    null,
  );
  assert.equal(log.recent(now).length, 1);
  assert.equal(log.recent(now + 2 * 3_600_000).length, 0, "out of the window later");
});

Deno.test("view: snapshot then deltas; a gap waits for the next snapshot, which carries the removes", () => {
  const view = new FlightView();
  const [a, b, c] = first.flights as [Flight, Flight, Flight];
  const t = 0;
  assert.deepEqual(
    view.apply({ type: "delta", seq: 1, server_time_ms: t, upserts: [a], removes: [] }),
    {
      ok: false,
      reason: "no_snapshot",
      expected: null,
      got: 1,
    },
  );
  assert.ok(view.apply({ type: "snapshot", seq: 4, server_time_ms: t, flights: [a, b] }).ok);
  assert.ok(
    view.apply({ type: "delta", seq: 5, server_time_ms: t, upserts: [c], removes: [a.icao24] }).ok,
  );
  const gap = view.apply({ type: "delta", seq: 7, server_time_ms: t, upserts: [], removes: [] });
  assert.deepEqual(gap, { ok: false, reason: "gap", expected: 6, got: 7 });
  assert.equal(view.seq, null);
  assert.equal(
    view.apply({ type: "delta", seq: 8, server_time_ms: t, upserts: [], removes: [] }).ok,
    false,
  );
  const resync = view.apply({ type: "snapshot", seq: 8, server_time_ms: t, flights: [c] });
  assert.deepEqual(resync, { ok: true, upserts: [c], removes: [b.icao24] });
  assert.deepEqual([...view.flights.keys()], [c.icao24]);
});

Deno.test("codec: utf8Length is TextEncoder's byte count (ASCII, accents, emoji, lone surrogates)", () => {
  const pieces = ["a", '{"k":1}', "é", "Côte d'Ivoire", "✈", "😀", "\ud800", "\udc00", "ß€"];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 500; n++) {
    let s = "";
    for (let i = Math.floor(random() * 12); i > 0; i--) {
      s += pieces[Math.floor(random() * pieces.length)];
    }
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
  const world = JSON.stringify({ country: "Türkiye", callsign: "THY1", note: "😀".repeat(3) });
  assert.equal(utf8Length(world), new TextEncoder().encode(world).length);
});

/** Where two byte arrays first differ (-1: equal); cheap to report, unlike a diff of megabytes. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

Deno.test("codec: the fast MessagePack writer gives the library's bytes (real flights, edge values)", () => {
  const library = new Encoder();
  const flights = snapshots.slice(0, 60).flatMap((s) => s.flights);
  assert.ok(flights.length > 1000, `${flights.length} flights`);
  assert.equal(firstDifference(msgpackElements(flights), library.encode(flights).slice(3)), -1);
  const odd: unknown[] = [
    0,
    -0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -(2 ** 53) + 1,
    0.5,
    -1.25,
    NaN,
    Infinity,
    -Infinity,
    1e300,
    null,
    undefined,
    true,
    false,
    "",
    "a".repeat(31),
    "b".repeat(32),
    "c".repeat(255),
    "d".repeat(256),
    "e".repeat(70_000),
    "Türkiye",
    "✈😀",
    "\ud800x",
    [1, [2, [3]]],
    Array.from({ length: 20 }, (_, i) => i),
    { a: 1, b: { c: [null, "x"] } },
    Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
    new Date(0),
    new Uint8Array([1, 2, 3]),
    { position: { lat: 47.45, lon: 8.56 }, on_ground: false },
  ];
  for (const v of odd) {
    assert.equal(firstDifference(msgpackElements([v]), library.encode(v)), -1, String(v));
  }
  assert.equal(firstDifference(msgpackElements(odd), library.encode(odd).slice(3)), -1);
});
