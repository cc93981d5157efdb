import assert from "node:assert/strict";
import {
  FlightEnvelope,
  FlightStateEnvelope,
  FlightUpdateEnvelope,
  OpenSkyReply,
  type Source,
} from "../contracts/mod.ts";
import { buildPollMessages, DEFAULT_PRODUCER_TOPICS } from "../lib/opensky/envelope.ts";
import { realReplies, replyWithMalformedRowsDerived } from "./_fake_opensky.ts";

const SOURCE: Source = {
  provider: "opensky",
  mode: "live",
  bbox: [45.82, 5.96, 47.81, 10.49],
  poll_interval_s: 10,
};
const AT = "2026-03-18T09:30:00.000Z";

Deno.test("envelope: every row of a real reply becomes a valid flight_state and flight_update", async () => {
  const [line] = await realReplies();
  const reply = OpenSkyReply.parse(JSON.parse(line!));
  const out = buildPollMessages(reply, { source: SOURCE, producedAt: AT });
  const rows = reply.states!.length;
  assert.equal(out.rejected.length, 0);
  assert.equal(out.flights.length, rows);
  assert.deepEqual(out.batch.map((b) => b.topic), [
    DEFAULT_PRODUCER_TOPICS.state,
    DEFAULT_PRODUCER_TOPICS.updates,
  ]);
  const [state, updates] = out.batch;
  assert.equal(state!.messages.length, rows);
  assert.equal(updates!.messages.length, rows);
  for (let i = 0; i < rows; i++) {
    const s = FlightStateEnvelope.parse(JSON.parse(state!.messages[i]!.value as string));
    const u = FlightUpdateEnvelope.parse(JSON.parse(updates!.messages[i]!.value as string));
    const icao24 = String((reply.states![i] as unknown[])[0]).toLowerCase();
    assert.equal(state!.messages[i]!.key, icao24);
    assert.equal(updates!.messages[i]!.key, icao24);
    assert.equal(s.payload.icao24, icao24);
    assert.deepEqual(s.payload, u.payload);
    assert.deepEqual(s.source, SOURCE);
    assert.equal(s.produced_at, AT);
  }
});

Deno.test("envelope: rows broken on purpose are rejected with reasons; the rest still go out", async () => {
  const [line] = await realReplies();
  const derived = replyWithMalformedRowsDerived(line!);
  const reply = OpenSkyReply.parse(JSON.parse(derived.body));
  const out = buildPollMessages(reply, { source: SOURCE, producedAt: AT });
  assert.equal(out.rejected.length, derived.broken);
  assert.equal(out.flights.length, derived.intact);
  assert.deepEqual(out.rejected.map((r) => r.index), [0, 1, 2, 3]);
  assert.equal(out.rejected[0]!.icao24, null);
  assert.match(out.rejected[0]!.reason, /^state vector: /);
  assert.match(out.rejected[1]!.reason, /no position/);
  assert.equal(out.rejected[1]!.icao24, derived.brokenIcao24[1]);
  assert.match(out.rejected[2]!.reason, /^state vector: /);
  assert.equal(out.rejected[3]!.raw, '"not a state vector"');
  assert.deepEqual(JSON.parse(out.rejected[1]!.raw), reply.states![1]);
});

Deno.test("envelope: states null (empty box) publishes nothing; shifting moves both times", async () => {
  const empty = buildPollMessages({ time: 1, states: null }, { source: SOURCE, producedAt: AT });
  assert.deepEqual(empty, { batch: [], flights: [], rejected: [] });
  const [line] = await realReplies();
  const reply = OpenSkyReply.parse(JSON.parse(line!));
  const plain = buildPollMessages(reply, { source: SOURCE, producedAt: AT });
  const shifted = buildPollMessages(reply, { source: SOURCE, producedAt: AT, shiftSeconds: 1000 });
  const a = plain.flights[0]!;
  const b = shifted.flights[0]!;
  assert.equal(b.time_position_unix - a.time_position_unix, 1000);
  assert.equal(b.last_contact_unix - a.last_contact_unix, 1000);
  // Same input, same bytes.
  const again = buildPollMessages(reply, { source: SOURCE, producedAt: AT });
  assert.deepEqual(again.batch, plain.batch);
});

Deno.test("envelope: flights say where their position came from: opensky live and recorded, replay", async () => {
  const [line] = await realReplies();
  const reply = OpenSkyReply.parse(JSON.parse(line!));
  const sourceOf = (mode: Source["mode"]) => {
    const out = buildPollMessages(reply, { source: { ...SOURCE, mode }, producedAt: AT });
    const sent = out.batch.flatMap((b) =>
      b.messages.map((m) => FlightEnvelope.parse(JSON.parse(m.value as string)).payload)
    );
    assert.equal(sent.length, 2 * reply.states!.length);
    return new Set([...out.flights, ...sent].map((f) => f.source));
  };
  assert.deepEqual(sourceOf("live"), new Set(["opensky"]));
  assert.deepEqual(sourceOf("record"), new Set(["opensky"]));
  assert.deepEqual(sourceOf("replay"), new Set(["replay"]));
});
