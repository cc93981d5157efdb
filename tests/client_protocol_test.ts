/**
 * The browser's protocol client (lib/client/protocol.ts, connection.ts,
 * decode.ts) without a browser: seq handling, resync on gaps, reconnect
 * with backoff, MessagePack decoding of real recorded flights.
 */
import assert from "node:assert/strict";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import {
  JSON_SUBPROTOCOL as CONTRACT_JSON,
  MSGPACK_SUBPROTOCOL as CONTRACT_MSGPACK,
} from "../contracts/ws.ts";
import type { ServerMessage } from "../contracts/ws.ts";
import { backoffDelay } from "../lib/backoff.ts";
import {
  JSON_SUBPROTOCOL,
  LiveConnection,
  MSGPACK_SUBPROTOCOL,
  type SocketLike,
} from "../lib/client/connection.ts";
import { decodeServerFrame } from "../lib/client/decode.ts";
import { type ProtocolAction, ProtocolState } from "../lib/client/protocol.ts";
import { FlightView } from "../lib/hub/view.ts";
import { flightsCopiesForLoad } from "./_hub_harness.ts";

const flights = flightsCopiesForLoad(0, 0);
const snap = (seq: number): ServerMessage => ({
  type: "snapshot",
  seq,
  server_time_ms: 1,
  flights,
});
const delta = (seq: number): ServerMessage => ({
  type: "delta",
  seq,
  server_time_ms: 1,
  upserts: flights.slice(0, 2),
  removes: [],
});
const kinds = (a: ProtocolAction[]) =>
  a.map((x) =>
    x.kind === "dropped"
      ? `dropped:${x.reason}`
      : x.kind === "send"
      ? `send:${x.message.type}`
      : x.kind
  );

Deno.test("the subprotocol names repeated in the client equal the contract's", () => {
  assert.equal(MSGPACK_SUBPROTOCOL, CONTRACT_MSGPACK);
  assert.equal(JSON_SUBPROTOCOL, CONTRACT_JSON);
});

Deno.test("deltas apply in order on top of a snapshot; stale ones are dropped", () => {
  const p = new ProtocolState();
  assert.deepEqual(kinds(p.receive(delta(5), 0)), ["dropped:before_snapshot"]);
  assert.deepEqual(kinds(p.receive(snap(10), 0)), ["snapshot"]);
  assert.deepEqual(kinds(p.receive(delta(11), 0)), ["delta"]);
  assert.deepEqual(kinds(p.receive(delta(11), 0)), ["dropped:stale"]);
  assert.deepEqual(kinds(p.receive(delta(9), 0)), ["dropped:stale"]);
  assert.deepEqual(kinds(p.receive(delta(12), 0)), ["delta"]);
  assert.deepEqual(kinds(p.receive(snap(8), 0)), ["dropped:stale"]);
  assert.equal(p.seq, 12);
  assert.equal(p.stats.stale, 3);
});

Deno.test("a gap asks for resync once, drops deltas until the snapshot, asks again after a timeout", () => {
  const p = new ProtocolState({ resyncTimeoutMs: 5000 });
  p.receive(snap(1), 0);
  assert.deepEqual(kinds(p.receive(delta(3), 100)), ["dropped:gap", "send:resync"]);
  assert.deepEqual(kinds(p.receive(delta(4), 200)), ["dropped:before_snapshot"]);
  assert.deepEqual(kinds(p.poll(1000)), []);
  assert.deepEqual(kinds(p.receive(delta(5), 5200)), ["dropped:before_snapshot", "send:resync"]);
  assert.deepEqual(kinds(p.receive(snap(6), 5300)), ["snapshot"]);
  assert.deepEqual(kinds(p.receive(delta(7), 5400)), ["delta"]);
  assert.equal(p.stats.gaps, 1);
  assert.equal(p.stats.resyncs, 2);
});

Deno.test("after subscribe, deltas of the old filter are dropped until the new snapshot", () => {
  const p = new ProtocolState();
  p.receive(snap(1), 0);
  p.subscribed();
  assert.deepEqual(kinds(p.receive(delta(2), 0)), ["dropped:before_snapshot"]);
  assert.deepEqual(kinds(p.receive(snap(2), 0)), ["snapshot"]);
  assert.deepEqual(kinds(p.receive(delta(3), 0)), ["delta"]);
});

Deno.test("frames decode from JSON and MessagePack alike; malformed ones are refused", () => {
  const m = snap(3);
  const fromJson = decodeServerFrame(JSON.stringify(m));
  const fromPack = decodeServerFrame(msgpackEncode(m));
  assert.ok(fromJson.ok && fromPack.ok);
  assert.deepEqual(fromPack.message, fromJson.message);
  assert.equal((fromPack.message as { flights: unknown[] }).flights.length, flights.length);
  assert.equal(decodeServerFrame("not json").ok, false);
  assert.equal(decodeServerFrame(JSON.stringify({ type: "delta", seq: "x" })).ok, false);
  assert.equal(decodeServerFrame(JSON.stringify({ type: "nope" })).ok, false);
  const bad = decodeServerFrame(JSON.stringify({ ...m, flights: [...flights, { icao24: "abc" }] }));
  assert.ok(bad.ok);
  assert.equal((bad.message as { flights: unknown[] }).flights.length, flights.length);
});

Deno.test("backoff doubles from 500 ms up to 30 s with bounded jitter", () => {
  assert.equal(backoffDelay(0, {}, 0.5), 500);
  assert.equal(backoffDelay(1, {}, 0.5), 1000);
  assert.equal(backoffDelay(3, {}, 0.5), 4000);
  assert.equal(backoffDelay(20, {}, 0.5), 30_000);
  assert.equal(backoffDelay(20, {}, 1), 30_000);
  assert.equal(backoffDelay(2, {}, 0), 1500);
  assert.equal(backoffDelay(2, {}, 1), 2500);
});

/** A socket the test drives by hand. */
class FakeSocket implements SocketLike {
  readyState = 0;
  binaryType = "blob";
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: unknown[] = [];
  constructor(readonly url: string, readonly protocols: string[]) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(m: ServerMessage) {
    this.onmessage?.({ data: msgpackEncode(m).slice().buffer });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

Deno.test("the connection speaks MessagePack, resyncs on a gap, re-subscribes after reconnecting with backoff", () => {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let nextId = 1;
  const statuses: string[] = [];
  const actions: string[] = [];
  const conn = new LiveConnection({
    url: "ws://x/ws",
    encoding: "msgpack",
    socket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    now: () => 0,
    setTimer: (fn, ms) => {
      timers.push({ fn, ms, id: nextId });
      return nextId++;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  }, {
    onAction: (a) => actions.push(kinds([a])[0]!),
    onStatus: (s) => statuses.push(s),
  });
  conn.subscribe({ min_altitude_m: 3000 });
  conn.start();
  const s1 = sockets[0]!;
  assert.deepEqual(s1.protocols, [MSGPACK_SUBPROTOCOL]);
  s1.open();
  s1.push({
    type: "hello",
    protocol: 1,
    server_time_ms: 0,
    encoding: "msgpack",
    delta_interval_ms: 200,
    stale_threshold_s: 60,
    source: "memory",
  });
  assert.deepEqual(s1.sent, [{ type: "subscribe", filter: { min_altitude_m: 3000 } }]);
  s1.push(snap(4));
  s1.push(delta(5));
  s1.push(delta(7));
  assert.deepEqual(s1.sent.at(-1), { type: "resync" });
  s1.push(snap(7));
  s1.push(delta(8));
  assert.deepEqual(actions, [
    "hello",
    "snapshot",
    "delta",
    "dropped:gap",
    "send:resync",
    "snapshot",
    "delta",
  ]);

  // The link dies: reconnect after the backoff delay, then subscribe again.
  s1.drop();
  assert.equal(conn.status, "reconnecting");
  const retry = timers.find((t) => t.ms === 500);
  assert.ok(retry, `a 500 ms retry timer among ${timers.map((t) => t.ms)}`);
  retry.fn();
  const s2 = sockets[1]!;
  s2.open();
  s2.drop();
  assert.ok(timers.some((t) => t.ms === 1000), "second attempt waits twice as long");
  timers.find((t) => t.ms === 1000)!.fn();
  const s3 = sockets[2]!;
  s3.open();
  s3.push({
    type: "hello",
    protocol: 1,
    server_time_ms: 0,
    encoding: "msgpack",
    delta_interval_ms: 200,
    stale_threshold_s: 60,
    source: "memory",
  });
  assert.deepEqual(s3.sent, [{ type: "subscribe", filter: { min_altitude_m: 3000 } }]);
  assert.equal(conn.status, "live");
  assert.deepEqual(statuses.filter((s, i) => s !== statuses[i - 1]), [
    "connecting",
    "live",
    "reconnecting",
    "live",
  ]);
  conn.stop();
  assert.equal(conn.status, "stopped");
});

Deno.test("one seq rule: the relay's FlightView and the browser's ProtocolState agree frame by frame", () => {
  const view = new FlightView();
  const browser = new ProtocolState();
  const delta = (seq: number): ServerMessage => ({
    type: "delta",
    seq,
    server_time_ms: 1,
    upserts: [],
    removes: [],
  });
  // Before a snapshot, in order, repeated, a gap, a late stale snapshot, the resync snapshot.
  const frames = [delta(3), snap(5), delta(6), delta(6), delta(9), delta(10), snap(7), snap(9)];
  const seen = frames.map((m) => {
    const v = view.apply(m as Parameters<FlightView["apply"]>[0], 0);
    const applied = browser.receive(m, 0).some((a) => a.kind === "snapshot" || a.kind === "delta");
    assert.equal(v.ok, applied, `frame ${m.type} ${(m as { seq: number }).seq}`);
    return v.ok ? "apply" : v.reason;
  });
  assert.deepEqual(seen, [
    "no_snapshot",
    "apply",
    "apply",
    "stale",
    "gap",
    "no_snapshot",
    "apply", // awaited after the gap: any snapshot is taken
    "apply",
  ]);
  assert.equal(view.seq, 9);
  assert.equal(browser.seq, 9);
});
