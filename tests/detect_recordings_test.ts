/**
 * The detectors on the real recordings, through the same path as
 * `deno task detect`. The expectations are the facts in fixtures/README.md
 * (pinned values such as EDW24's 31 rows without a position, its take-off at
 * 11:04:28Z on runway 16: "Values the tests pin, and how they were checked").
 */
import assert from "node:assert/strict";
import { AnomalyEvent } from "../contracts/anomaly.ts";
import { detectRecordings, loadRunwayIndex } from "../scripts/detect.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const EZY = fixture("opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl");
const TRA = fixture("event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl");
const SWISS = fixture("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
const EDW = fixture("opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl");
const RYR = fixture("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl");

const runways = await loadRunwayIndex();
const ANOMALIES = new Set(["emergency_squawk", "emergency_descent", "go_around", "holding"]);

async function detect(url: URL) {
  const result = await detectRecordings([url], { runways });
  for (const event of result.events) {
    AnomalyEvent.parse(event);
    assertFiniteNumbers(event, event.id);
  }
  return result;
}

function assertFiniteNumbers(value: unknown, where: string): void {
  if (typeof value === "number") assert.ok(Number.isFinite(value), `${where}: ${value}`);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertFiniteNumbers(v, `${where}.${k}`);
  }
}

const ofKind = (events: AnomalyEvent[], kind: string) => events.filter((e) => e.kind === kind);
const between = (iso: string, from: string, to: string) =>
  Date.parse(iso) >= Date.parse(from) && Date.parse(iso) <= Date.parse(to);

Deno.test("detect EZY158T at Toulouse: exactly two go-arounds, no holding, no emergency", async () => {
  const { events, summary } = await detect(EZY);
  assert.equal(summary.rowsRejected, 0);
  assert.ok(summary.ignored > 0, "the recording repeats rows; they are ignored");
  const goArounds = ofKind(events, "go_around");
  assert.equal(goArounds.length, 2, JSON.stringify(goArounds));
  const [first, second] = goArounds as [AnomalyEvent, AnomalyEvent];
  assert.ok(between(first.started_at, "2017-02-05T16:07:30Z", "2017-02-05T16:09:00Z"));
  assert.ok(between(second.started_at, "2017-02-05T16:25:00Z", "2017-02-05T16:27:00Z"));
  for (const ga of goArounds) {
    assert.equal(ga.evidence.airport, "LFBO");
    assert.match(String(ga.evidence.runway), /^32[LR]$/);
    assert.equal(ga.severity, "warning");
    assert.ok((ga.evidence.min_altitude_m as number) < 152 + 300);
    assert.ok((ga.evidence.raw_min_altitude_m as number) <= 191);
    assert.ok((ga.evidence.threshold_distance_m as number) < 10_000);
    assert.ok(ga.ended_at !== null && ga.ended_at > ga.started_at);
  }
  assert.equal(ofKind(events, "holding").length, 0, "circling at 2,134 m is not a holding");
  assert.equal(ofKind(events, "emergency_descent").length, 0);
  assert.equal(ofKind(events, "emergency_squawk").length, 0);
  // The 4 s on_ground touch at 73 m/s during the second attempt is not a landing.
  assert.equal(ofKind(events, "landing").length, 0);
});

Deno.test("detect TRA051: one holding at 15:43-15:54Z, no go-around on the Lelystad runs", async () => {
  const { events } = await detect(TRA);
  const holdings = ofKind(events, "holding");
  assert.equal(holdings.length, 1, JSON.stringify(holdings));
  const h = holdings[0]!;
  assert.ok(between(h.started_at, "2018-05-30T15:43:00Z", "2018-05-30T15:54:00Z"), h.started_at);
  assert.ok(h.ended_at !== null);
  assert.ok(between(h.ended_at, "2018-05-30T15:43:00Z", "2018-05-30T15:54:00Z"), h.ended_at);
  assert.ok(Math.abs(h.evidence.turn_deg as number) >= 540);
  assert.ok(Math.abs((h.evidence.centre_lat as number) - 52.19) < 0.1);
  assert.ok(Math.abs((h.evidence.centre_lon as number) - 6.39) < 0.1);
  assert.ok((h.evidence.min_altitude_m as number) >= 2_550);
  assert.ok((h.evidence.max_altitude_m as number) <= 2_800);
  assert.equal(ofKind(events, "go_around").length, 0);
  assert.equal(ofKind(events, "emergency_descent").length, 0);
  // It ends at Schiphol without ever reporting on_ground: landing from descent + low speed.
  const landings = ofKind(events, "landing");
  assert.equal(landings.length, 1);
  assert.equal(landings[0]!.evidence.airport, "EHAM");
});

Deno.test("detect Switzerland 30 min: HFY312P's vertical-rate spike is no emergency descent", async () => {
  const { events, summary } = await detect(SWISS);
  assert.equal(summary.aircraft, 97);
  for (const kind of ANOMALIES) assert.equal(ofKind(events, kind).length, 0, kind);
  // Every aircraft's flight ends at the end of the input, once.
  assert.equal(ofKind(events, "flight_end").length, 97);
});

Deno.test("detect EDW24 at Zurich: null surface fields handled, one take-off", async () => {
  const { events, summary } = await detect(EDW);
  assert.equal(summary.rowsRejected, 31, "rows without a position");
  const takeoffs = ofKind(events, "takeoff");
  assert.equal(takeoffs.length, 1);
  const t = takeoffs[0]!;
  assert.equal(t.started_at, "2024-04-06T11:04:28.000Z");
  assert.equal(t.evidence.airport, "LSZH");
  assert.equal(t.evidence.runway, "16");
  assert.match(String(t.evidence.session_id), /^4b1901-\d+$/);
  assert.equal(ofKind(events, "landing").length, 0);
  for (const kind of ANOMALIES) assert.equal(ofKind(events, kind).length, 0, kind);
});

Deno.test("detect RYR2RG cruise: no anomalies; a squawk change is not an emergency", async () => {
  const { events } = await detect(RYR);
  for (const kind of ANOMALIES) assert.equal(ofKind(events, kind).length, 0, kind);
  assert.deepEqual(events.map((e) => e.kind), ["flight_end"]);
});

Deno.test("detect: deterministic ids and JSON, kinds filter", async () => {
  const a = await detectRecordings([EZY, EDW], { runways });
  const b = await detectRecordings([EZY, EDW], { runways });
  assert.equal(JSON.stringify(a.events), JSON.stringify(b.events));
  assert.ok(a.events.length >= 5);
  assert.equal(new Set(a.events.map((e) => e.id)).size, a.events.length);
  const filtered = await detectRecordings([EZY, EDW], {
    runways,
    kinds: new Set(["go_around", "holding"]),
  });
  assert.deepEqual(
    filtered.events.map((e) => e.id),
    a.events.filter((e) => e.kind === "go_around").map((e) => e.id),
  );
  // Two recordings merged by time give the same events as each on its own, except that
  // EZY158T's flight now ends by timeout (the 2024 data comes years later) instead of
  // at the end of the input.
  const ezyAlone = await detectRecordings([EZY], { runways });
  const ezyMerged = a.events.filter((e) => e.icao24 === "406d95");
  assert.deepEqual(
    ezyMerged.filter((e) => e.kind !== "flight_end"),
    ezyAlone.events.filter((e) => e.kind !== "flight_end"),
  );
  assert.equal(ofKind(ezyMerged, "flight_end")[0]!.evidence.reason, "timeout");
  assert.equal(ofKind(ezyAlone.events, "flight_end")[0]!.evidence.reason, "end_of_input");
});
