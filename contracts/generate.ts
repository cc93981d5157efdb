/**
 * Builds the generated contract artefacts: JSON Schema files from the zod
 * source, and golden examples from real recorded OpenSky replies. Pure: the
 * caller passes the recording text in and writes the files out
 * (`scripts/contracts.ts`); tests compare the files on disk with a fresh
 * generation so they cannot drift.
 *
 * @module
 */
import { z } from "zod";
import * as c from "./mod.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";

/** Schemas written to `contracts/schemas/<name>.schema.json`. */
export const SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.freeze({
  opensky_reply: c.OpenSkyReply,
  state_vector: c.StateVector,
  flight: c.Flight,
  flight_state_envelope: c.FlightStateEnvelope,
  flight_update_envelope: c.FlightUpdateEnvelope,
  anomaly_event: c.AnomalyEvent,
  alert_rule_input: c.AlertRuleInput,
  alert_rule: c.AlertRule,
  alert_event: c.AlertEvent,
  dead_letter: c.DeadLetter,
  ws_server_message: c.ServerMessage,
  ws_client_message: c.ClientMessage,
  ws_subscription: c.Subscription,
  api_flights: c.FlightsResponse,
  api_flight_detail: c.FlightDetailResponse,
  api_track: c.TrackResponse,
  api_snapshot: c.SnapshotResponse,
  api_anomalies: c.AnomaliesResponse,
  api_error: c.ApiError,
});

/** An example and the schema it must satisfy (good) or fail (bad). */
export interface Example {
  schema: keyof typeof SCHEMAS;
  value: unknown;
  /** Bad examples: a fragment the readable error message must contain. */
  expect_error?: string;
}

/** The recordings the examples are cut from (file names in `fixtures/`). */
export const EXAMPLE_SOURCES = Object.freeze({
  switzerland: "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  ezy158t: "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
});

export function generateSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const json = z.toJSONSchema(schema, { unrepresentable: "any" }) as Record<string, unknown>;
    json.$id = `https://skysentinel.dev/schemas/${name}.schema.json`;
    out[`${name}.schema.json`] = JSON.stringify(json, null, 2) + "\n";
  }
  return out;
}

const iso = (unix: number) => new Date(unix * 1000).toISOString();

function firstReply(text: string): c.OpenSkyReply {
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) throw new Error("recording is empty");
  return c.OpenSkyReply.parse(JSON.parse(line));
}

function replyAt(text: string, unix: number): c.OpenSkyReply {
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const reply = c.OpenSkyReply.parse(JSON.parse(line));
    if (reply.time >= unix) return reply;
  }
  throw new Error(`no reply at or after ${unix}`);
}

function flightOf(row: unknown): c.Flight {
  const result = stateVectorToFlight(row);
  if (!result.ok) throw new Error(result.reason);
  return result.flight;
}

/**
 * Golden (good) and bad examples, keyed by file name. `recordings` maps the
 * names of {@link EXAMPLE_SOURCES} to their text.
 */
export function generateExamples(
  recordings: Record<keyof typeof EXAMPLE_SOURCES, string>,
): { good: Record<string, Example>; bad: Record<string, Example> } {
  const ch = firstReply(recordings.switzerland);
  const rows = (ch.states ?? []).slice(0, 3);
  const reply = { time: ch.time, states: rows };
  const flights = rows.map(flightOf);
  const [f0, f1, f2] = flights as [c.Flight, c.Flight, c.Flight];
  const source = {
    provider: "opensky",
    mode: "replay" as const,
    bbox: [45.82, 5.96, 47.81, 10.49] as [number, number, number, number],
    poll_interval_s: 10,
  };
  const producedAt = iso(ch.time);
  // The EZY158T go-around's lowest point at Toulouse, 16:08:20Z (see fixtures/README.md).
  const low = replyAt(recordings.ezy158t, Date.UTC(2017, 1, 5, 16, 8, 20) / 1000);
  const ezy = flightOf(low.states?.[0]);
  const anomaly: c.AnomalyEvent = {
    id: "example-406d95-go-around",
    kind: "go_around",
    severity: "warning",
    icao24: ezy.icao24,
    callsign: ezy.callsign,
    started_at: iso(low.time - 120),
    ended_at: iso(low.time + 60),
    position: { lat: ezy.position.lat, lon: ezy.position.lon, altitude_m: ezy.altitude_m },
    evidence: { airport: "LFBO", runway: "32R", min_altitude_m: ezy.altitude_m },
  };
  const brokenRow = [...(rows[0] as unknown[])];
  brokenRow[0] = null;
  const brokenReason = stateVectorToFlight(brokenRow);
  const trackReplies = [0, 10, 20].map((s) => replyAt(recordings.ezy158t, low.time + s));
  const track = trackReplies.map((r) => flightOf(r.states?.[0])).map((f) => ({
    ts: iso(f.time_position_unix),
    lat: f.position.lat,
    lon: f.position.lon,
    altitude_m: f.altitude_m,
    velocity_mps: f.velocity_mps,
    heading_deg: f.heading_deg,
    vertical_rate_mps: f.vertical_rate_mps,
    raw: { lat: f.position.lat, lon: f.position.lon, altitude_m: f.altitude_m },
  }));
  const good: Record<string, Example> = {
    "opensky_reply.json": { schema: "opensky_reply", value: reply },
    "state_vector.json": { schema: "state_vector", value: rows[0] },
    "flight.json": { schema: "flight", value: f0 },
    "flight_state_envelope.json": {
      schema: "flight_state_envelope",
      value: {
        schema_version: 1,
        type: "flight_state",
        produced_at: producedAt,
        source,
        payload: f0,
      },
    },
    "flight_update_envelope.json": {
      schema: "flight_update_envelope",
      value: {
        schema_version: 1,
        type: "flight_update",
        produced_at: producedAt,
        source,
        payload: f1,
      },
    },
    "anomaly_event.json": { schema: "anomaly_event", value: anomaly },
    "dead_letter.json": {
      schema: "dead_letter",
      value: {
        schema_version: 1,
        type: "dead_letter",
        at: producedAt,
        source: "producer",
        topic: null,
        key: null,
        reason: brokenReason.ok ? "" : brokenReason.reason,
        raw: JSON.stringify(brokenRow),
      },
    },
    "ws_hello.json": {
      schema: "ws_server_message",
      value: {
        type: "hello",
        protocol: c.PROTOCOL_VERSION,
        server_time_ms: ch.time * 1000,
        encoding: "json",
        delta_interval_ms: 200,
        stale_threshold_s: 60,
        source: "kafka",
      },
    },
    "ws_snapshot.json": {
      schema: "ws_server_message",
      value: { type: "snapshot", seq: 41, server_time_ms: ch.time * 1000, flights },
    },
    "ws_delta.json": {
      schema: "ws_server_message",
      value: {
        type: "delta",
        seq: 42,
        server_time_ms: ch.time * 1000 + 200,
        upserts: [f2],
        removes: [f1.icao24],
      },
    },
    "ws_anomaly.json": { schema: "ws_server_message", value: { type: "anomaly", event: anomaly } },
    "ws_pong.json": {
      schema: "ws_server_message",
      value: { type: "pong", id: 7, server_time_ms: ch.time * 1000 },
    },
    "ws_error.json": {
      schema: "ws_server_message",
      value: { type: "error", code: "bad_message", message: "type: Invalid input" },
    },
    "ws_subscribe.json": {
      schema: "ws_client_message",
      value: {
        type: "subscribe",
        filter: {
          bbox: [45.8, 5.9, 47.9, 10.5],
          min_altitude_m: 3000,
          on_ground: false,
          callsign_prefix: "SWR",
        },
      },
    },
    "ws_resync.json": { schema: "ws_client_message", value: { type: "resync" } },
    "ws_ping.json": { schema: "ws_client_message", value: { type: "ping", id: 7 } },
    "api_flights.json": {
      schema: "api_flights",
      value: { flights, count: flights.length, at: producedAt },
    },
    "api_track.json": {
      schema: "api_track",
      value: {
        icao24: ezy.icao24,
        from: iso(low.time),
        to: iso(low.time + 20),
        points: track,
        resolution: "fine",
        fine_from: iso(low.time - (low.time % 86400)),
      },
    },
    "api_snapshot.json": {
      schema: "api_snapshot",
      value: { at: producedAt, flights, count: flights.length, resolution: "fine" },
    },
    "api_anomalies.json": {
      schema: "api_anomalies",
      value: { anomalies: [anomaly], next_cursor: null },
    },
  };
  const bad: Record<string, Example> = {
    "flight_missing_icao24.json": {
      schema: "flight",
      value: omit(f0, "icao24"),
      expect_error: "icao24",
    },
    "flight_lat_91.json": {
      schema: "flight",
      value: { ...f0, position: { ...f0.position, lat: 91 } },
      expect_error: "position.lat",
    },
    "flight_wrong_types.json": {
      schema: "flight",
      value: { ...f0, altitude_m: "11277.6", on_ground: "no" },
      expect_error: "altitude_m",
    },
    "flight_oversized_callsign.json": {
      schema: "flight",
      value: { ...f0, callsign: "X".repeat(300) },
      expect_error: "callsign",
    },
    "flight_uppercase_icao24.json": {
      schema: "flight",
      value: { ...f0, icao24: f0.icao24.toUpperCase() },
      expect_error: "icao24",
    },
    "state_vector_16_fields.json": {
      schema: "state_vector",
      value: (rows[0] as unknown[]).slice(0, 16),
      expect_error: "expected a state vector of 17 or 18 fields, got 16",
    },
    "envelope_wrong_version.json": {
      schema: "flight_state_envelope",
      value: {
        schema_version: 2,
        type: "flight_state",
        produced_at: producedAt,
        source,
        payload: f0,
      },
      expect_error: "schema_version",
    },
    "ws_subscribe_bad_bbox.json": {
      schema: "ws_client_message",
      value: { type: "subscribe", filter: { bbox: [91, 0, 92, 1] } },
      expect_error: "filter.bbox",
    },
    "ws_unknown_type.json": {
      schema: "ws_client_message",
      value: { type: "shout" },
      expect_error: "type",
    },
  };
  return { good, bad };
}

function omit<T extends object>(value: T, key: keyof T): Partial<T> {
  const copy = { ...value };
  delete copy[key];
  return copy;
}
