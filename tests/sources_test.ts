/**
 * Receiver and aggregator parsers, the Mode S tracker and the merger, on
 * data DERIVED from the real EZY158T 1 s track (fixtures/, OpenSky): the
 * recording's positions, altitudes, speeds and callsign encoded as Beast
 * frames, SBS lines and aircraft.json documents (tests/_receiver_feeds.ts).
 */
import assert from "node:assert/strict";
import { Flight } from "../contracts/flight.ts";
import { haversineM } from "../lib/geo/sphere.ts";
import { BeastReader, decodeModeS } from "../lib/modes/mod.ts";
import { parseAdsbxV2, parseAircraftJson } from "../lib/sources/aircraft_json.ts";
import { FlightMerger } from "../lib/sources/merge.ts";
import { ModeSTracker } from "../lib/sources/modes_tracker.ts";
import { parseSbsLine, SBS_IGNORED } from "../lib/sources/sbs.ts";
import type { AircraftUpdate } from "../lib/sources/types.ts";
import { netPermissions, parseSourceUrl } from "../lib/sources/url.ts";
import { aircraftJsonFor, beastFramesFor, derivedTrack, sbsLinesFor } from "./_receiver_feeds.ts";
import {
  encodeAirbornePosition,
  encodeAircraftStatus,
  encodeIdentityReply,
} from "./_modes_encoder.ts";

const T0 = Date.parse("2026-03-18T09:30:00.000Z");
// 200 s of the approach, airborne, descending through 9,000 m.
const track = await derivedTrack(undefined, { limit: 200 });

Deno.test("SBS: derived lines of a real track merge into the track's state vectors", () => {
  const merger = new FlightMerger();
  const out: Flight[] = [];
  track.forEach((f, i) => {
    const at = T0 + i * 1000;
    for (const line of sbsLinesFor(f, i, at)) {
      assert.ok(line.endsWith("\r\n"));
      assert.equal(line.trimEnd().split(",").length, 22);
      const u = parseSbsLine(line, at);
      assert.ok(u !== SBS_IGNORED && !("reason" in u), line);
      merger.apply(u);
    }
    out.push(...merger.flush(at));
  });
  assert.equal(out.length, track.length);
  for (let i = 0; i < track.length; i++) {
    const want = track[i]!;
    const got = Flight.parse(out[i]);
    assert.equal(got.source, "sbs");
    assert.ok(haversineM(got.position, want.position) < 1, `point ${i}`);
    assert.ok(Math.abs(got.altitude_m! - want.altitude_m!) < 0.2, `altitude ${i}`);
    assert.ok(Math.abs(got.velocity_mps! - want.velocity_mps!) < 0.06, `speed ${i}`);
    assert.equal(got.callsign, "EZY158T");
    assert.equal(got.squawk, "1000");
  }
});

Deno.test("SBS: booleans -1/0, ignored kinds, and bad lines with their reason", () => {
  const at = T0;
  const ground = parseSbsLine(
    "MSG,2,1,1,4B1901,1,2024/04/06,10:44:00.000,2024/04/06,10:44:00.000,,,12.0,95.6,47.453500,8.554800,,,,,,-1\r\n",
    at,
  );
  assert.ok(ground !== SBS_IGNORED && !("reason" in ground));
  assert.equal(ground.on_ground, true);
  const air = parseSbsLine(
    "MSG,3,1,1,406D95,1,2017/02/05,15:45:00.000,2017/02/05,15:45:00.000,,36000,,,44.918840,1.820000,,,0,0,0,0",
    at,
  );
  assert.ok(air !== SBS_IGNORED && !("reason" in air));
  assert.equal(air.on_ground, false);
  assert.equal(air.spi, false);
  assert.equal(parseSbsLine("STA,,1,1,406D95,1,,,,,PL", at), SBS_IGNORED);
  assert.equal(parseSbsLine("\r\n", at), SBS_IGNORED);
  const bad = [
    "MSG,3,1,1,406D95,1,,,,,,36000", // 12 fields
    "MSG,9,1,1,406D95,1,,,,,,,,,,,,,,,,",
    "MSG,3,1,1,XYZ123,1,,,,,,,,,,,,,,,,",
    "MSG,3,1,1,406D95,1,,,,,,high,,,,,,,,,,",
    "MSG,3,1,1,406D95,1,,,,,,,,,95.0,1.0,,,,,,",
    "\u0000\u0001garbage",
  ];
  for (const line of bad) {
    const r = parseSbsLine(line, at);
    assert.ok(r !== SBS_IGNORED && "reason" in r, line);
  }
});

Deno.test("aircraft.json: feet, knots, ft/min to SI; alt_baro ground; seen_pos; emergency; non-ICAO skipped", () => {
  const f = track[0]!;
  const doc = aircraftJsonFor([f], T0, () => ({ emergency: "minfuel" }));
  (doc.aircraft as unknown[]).push(
    { hex: "4b1901", alt_baro: "ground", lat: 47.4535, lon: 8.5548, seen_pos: 3, seen: 1 },
    { hex: "~2a0001", lat: 47, lon: 8 },
    { hex: "zzzzzz", lat: 47, lon: 8 },
    { hex: "4b1902", alt_baro: "very high" },
  );
  const parsed = parseAircraftJson(doc);
  assert.equal(parsed.updates.length, 2);
  assert.equal(parsed.skipped, 1);
  assert.equal(parsed.rejected.length, 2);
  const [a, g] = parsed.updates as [AircraftUpdate, AircraftUpdate];
  assert.equal(a.source, "aircraft_json");
  assert.ok(Math.abs(a.altitude_m! - f.altitude_m!) < 0.31); // rounded to whole feet
  assert.ok(Math.abs(a.velocity_mps! - f.velocity_mps!) < 1e-6);
  assert.equal(a.position!.atMs, T0 - 200);
  assert.equal(a.atMs, T0 - 100);
  assert.equal(a.emergency, "minfuel");
  assert.equal(a.category, 4); // A3 = large
  assert.equal(g.on_ground, true);
  assert.equal(g.altitude_m, null);
  assert.equal(g.position!.atMs, T0 - 3000);
  assert.throws(() => parseAircraftJson({ aircraft: "no" }));
});

Deno.test("ADS-B Exchange v2: ac, now in ms, total", () => {
  const doc = aircraftJsonFor(track.slice(0, 1), T0);
  const v2 = { ac: doc.aircraft, now: T0, total: 1, ctime: T0, ptime: 12, msg: "No error" };
  const parsed = parseAdsbxV2(v2);
  assert.equal(parsed.total, 1);
  assert.equal(parsed.nowMs, T0);
  assert.equal(parsed.updates[0]!.source, "adsbx_v2");
  assert.equal(parsed.updates[0]!.position!.atMs, T0 - 200);
  assert.equal(parseAdsbxV2({ ac: null, now: T0, total: 0 }).updates.length, 0);
});

Deno.test("merger: freshest position wins, nothing moves back in time, fields filled from another source", () => {
  const m = new FlightMerger();
  const a = track[10]!;
  const b = track[11]!;
  m.apply({
    icao24: a.icao24,
    source: "beast",
    atMs: T0 + 1000,
    position: { ...b.position, atMs: T0 + 1000 },
  });
  // An aggregator a few seconds behind reports an older position and a callsign.
  m.apply({
    icao24: a.icao24,
    source: "adsbx_v2",
    atMs: T0 - 2000,
    position: { ...a.position, atMs: T0 - 2000 },
    callsign: "EZY158T",
    altitude_m: 9000,
  });
  let f = m.get(a.icao24, T0 + 1000)!;
  assert.deepEqual(f.position, b.position);
  assert.equal(f.source, "beast");
  assert.equal(f.callsign, "EZY158T"); // filled from the other source
  assert.equal(f.altitude_m, 9000);
  assert.equal(m.stats.stalePositions, 1);
  // A newer altitude replaces it; an older one does not.
  m.apply({ icao24: a.icao24, source: "sbs", atMs: T0 + 1500, altitude_m: 8990 });
  m.apply({ icao24: a.icao24, source: "adsbx_v2", atMs: T0 - 1000, altitude_m: 9100 });
  assert.equal(m.get(a.icao24, T0 + 1500)!.altitude_m, 8990);
  // Outside the window a filled field is no longer given out.
  f = m.get(a.icao24, T0 + 1000 + 20_000)!;
  assert.equal(f.altitude_m, null);
  assert.equal(f.callsign, "EZY158T");
  assert.equal(m.get(a.icao24, T0 + 1000 + 61_000), null, "position older than 60 s");
});

Deno.test("Mode S tracker: derived Beast frames of a real track decode within 10 m of it", () => {
  const tracker = new ModeSTracker({ receiver: { lat: 43.629, lon: 1.364 } }); // LFBO
  const merger = new FlightMerger();
  const reader = new BeastReader();
  let worst = 0;
  let positions = 0;
  track.forEach((f, i) => {
    const at = T0 + i * 1000;
    for (const bytes of beastFramesFor(f, i, i * 12_000_000)) {
      for (const frame of reader.push(bytes).frames) {
        const d = decodeModeS(frame.payload);
        assert.ok(d.ok);
        const u = tracker.ingest(d.message, at);
        if (u) merger.apply(u);
        if (u?.position) {
          positions++;
          worst = Math.max(worst, haversineM(u.position, f.position));
        }
      }
    }
  });
  assert.equal(positions, track.length - 1, "every point after the first pair");
  assert.ok(worst < 10, `worst ${worst.toFixed(2)} m`);
  const last = merger.get(track[0]!.icao24, T0 + (track.length - 1) * 1000)!;
  assert.equal(last.callsign, "EZY158T");
  assert.equal(last.squawk, "1000");
  assert.equal(last.source, "beast");
  assert.ok(Math.abs(last.altitude_m! - track.at(-1)!.altitude_m!) < 7.7); // 25 ft steps
  assert.equal(tracker.positionOutcomes.global, 1);
});

Deno.test("Mode S tracker: unconfirmed DF5 addresses, implausible jumps and out-of-range pairs are refused", () => {
  const f = track[0]!;
  const tracker = new ModeSTracker({ receiver: { lat: 43.629, lon: 1.364 }, maxRangeM: 400_000 });
  const ingest = (m: Uint8Array, at: number) => {
    const d = decodeModeS(m);
    assert.ok(d.ok);
    return tracker.ingest(d.message, at);
  };
  // DF5 from an address never heard in DF17: its address may be noise.
  assert.equal(ingest(encodeIdentityReply(f.icao24, "7700"), T0), null);
  assert.equal(tracker.unconfirmedAddresses, 1);
  const p = { ...f.position, altitudeFt: 30_000 };
  ingest(encodeAirbornePosition(f.icao24, p, false), T0);
  assert.ok(ingest(encodeAirbornePosition(f.icao24, p, true), T0 + 500)?.position);
  assert.equal(ingest(encodeIdentityReply(f.icao24, "7700"), T0 + 600)?.squawk, "7700");
  // 1 s later 50 km away: refused, and the reference is dropped.
  const far = { lat: p.lat + 0.45, lon: p.lon, altitudeFt: 30_000 };
  assert.equal(
    ingest(encodeAirbornePosition(f.icao24, far, false), T0 + 1500)?.position,
    undefined,
  );
  assert.equal(tracker.positionOutcomes.implausible_speed, 1);
  // A pair 900 km from the receiver: out of range.
  const t2 = new ModeSTracker({ receiver: { lat: 43.629, lon: 1.364 }, maxRangeM: 400_000 });
  const remote = { lat: 51.47, lon: -0.45, altitudeFt: 30_000 };
  for (const [odd, dt] of [[false, 0], [true, 500]] as const) {
    const d = decodeModeS(encodeAirbornePosition("4ca7b5", remote, odd));
    assert.ok(d.ok);
    assert.equal(t2.ingest(d.message, T0 + dt)?.position, undefined);
  }
  assert.equal(t2.positionOutcomes.out_of_range, 1);
});

Deno.test("SOURCES URLs: every kind, v2 rate, and what --allow-net must grant", () => {
  const specs = [
    "opensky:",
    "replay:fixtures/x.jsonl",
    "sbs://192.168.1.20:30003",
    "beast://[::1]:30005",
    "http://pi.local:8080/data/aircraft.json",
    "v2+https://api.example.net/v2/point/47.4/8.5/50?rate=0.5",
  ].map(parseSourceUrl);
  assert.deepEqual(specs.map((s) => s.kind), [
    "opensky",
    "replay",
    "sbs",
    "beast",
    "aircraft_json",
    "adsbx_v2",
  ]);
  const v2 = specs[5]!;
  assert.ok(v2.kind === "adsbx_v2");
  assert.equal(v2.intervalMs, 2000);
  assert.equal(v2.url, "https://api.example.net/v2/point/47.4/8.5/50");
  assert.deepEqual(netPermissions(specs), [
    "192.168.1.20:30003",
    "[::1]:30005",
    "pi.local:8080",
    "api.example.net",
  ]);
  for (
    const bad of ["sbs://host", "beast://h:99999", "ftp://x", "replay:", "v2+https://x/v2?rate=0"]
  ) {
    assert.throws(() => parseSourceUrl(bad), TypeError, bad);
  }
});

Deno.test("Mode S tracker: derived surface frames of the real EDW24 taxi at Zurich decode against the receiver", async () => {
  // On-ground rows of the recording (null speed and track included, as real surface data has).
  const taxi = (await derivedTrack("opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl"))
    .filter((f) => f.on_ground).slice(0, 120);
  assert.ok(taxi.length >= 60);
  const reader = new BeastReader();
  const withRef = new ModeSTracker({ receiver: { lat: 47.4582, lon: 8.5555 } }); // LSZH
  const withoutRef = new ModeSTracker();
  let worst = 0;
  let fixes = 0;
  taxi.forEach((f, i) => {
    for (const bytes of beastFramesFor(f, i, i * 12_000_000)) {
      for (const frame of reader.push(bytes).frames) {
        const d = decodeModeS(frame.payload);
        assert.ok(d.ok);
        const at = T0 + i * 1000;
        assert.equal(withoutRef.ingest(d.message, at)?.position, undefined);
        const u = withRef.ingest(d.message, at);
        if (u?.position) {
          fixes++;
          assert.equal(u.on_ground, true);
          worst = Math.max(worst, haversineM(u.position, f.position));
        }
      }
    }
  });
  assert.equal(fixes, taxi.length - 1);
  assert.ok(worst < 10, `worst ${worst.toFixed(2)} m`);
  assert.ok(withoutRef.positionOutcomes.needs_reference > 0);
});

Deno.test("Mode S tracker: a TC28 emergency state becomes the flight's emergency, state 0 clears it", () => {
  const f = track[0]!;
  const tracker = new ModeSTracker({ receiver: null });
  const ingest = (m: Uint8Array, at: number) => {
    const d = decodeModeS(m);
    assert.ok(d.ok);
    return tracker.ingest(d.message, at);
  };
  const p = { ...f.position, altitudeFt: 30_000 };
  ingest(encodeAirbornePosition(f.icao24, p, false), T0);
  ingest(encodeAirbornePosition(f.icao24, p, true), T0 + 500);
  const nordo = ingest(
    encodeAircraftStatus(f.icao24, { emergencyState: 4, squawk: "7600" }),
    T0 + 600,
  );
  assert.deepEqual([nordo?.emergency, nordo?.squawk], ["nordo", "7600"]);
  const cleared = ingest(
    encodeAircraftStatus(f.icao24, { emergencyState: 0, squawk: "1000" }),
    T0 + 700,
  );
  assert.equal(cleared?.emergency, null);
  const reserved = ingest(
    encodeAircraftStatus(f.icao24, { emergencyState: 7, squawk: "1000" }),
    T0 + 800,
  );
  assert.equal(reserved?.emergency, undefined);
  // Through the merger, as the producer publishes it: the flight declares it.
  const merger = new FlightMerger();
  merger.apply(ingest(encodeAirbornePosition(f.icao24, p, false), T0 + 900)!);
  merger.apply(nordo!);
  assert.equal(merger.get(f.icao24, T0 + 1000)?.emergency, "nordo");
});
