/**
 * The browser's `skysentinel.v2.bin` decoder (lib/client/v2_table.ts,
 * v2_feed.ts, v2_worker.ts) on the golden frames of contracts/examples/v2bin
 * (the frames the server's tests decode too, so the two sides cannot
 * drift): every frame reads back as the message written next to it, bad
 * frames are refused and resynced, stale and out-of-order frames are
 * dropped before their body is read, and the same runs in a real Web Worker.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { BINARY_SUBPROTOCOL as CONTRACT_BINARY } from "../contracts/ws.ts";
import { BINARY_SUBPROTOCOL, LiveConnection, type SocketLike } from "../lib/client/connection.ts";
import { BinaryFeed, toProtocolAction, type WireAction } from "../lib/client/v2_feed.ts";
import type { ProtocolAction } from "../lib/client/protocol.ts";

interface GoldenFile {
  frames: { name: string; hex: string; message: Record<string, unknown> }[];
}
interface BadFrame {
  name: string;
  hex: string;
  error: string;
}

const dir = new URL("../contracts/examples/v2bin/", import.meta.url);
const golden = JSON.parse(await Deno.readTextFile(new URL("frames.json", dir))) as GoldenFile;
const bad = JSON.parse(await Deno.readTextFile(new URL("bad_frames.json", dir))) as BadFrame[];

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const byId = (a: Flight, b: Flight) => a.icao24.localeCompare(b.icao24);
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** The page's view of one frame's actions, in the golden file's message shape. */
function asMessage(actions: ProtocolAction[]): Record<string, unknown> | null {
  for (const a of actions) {
    switch (a.kind) {
      case "hello":
        return a.hello as unknown as Record<string, unknown>;
      case "anomaly":
        return { type: "anomaly", event: a.event };
      case "snapshot":
        return {
          type: "snapshot",
          seq: a.seq,
          server_time_ms: a.serverTimeMs,
          flights: [...a.flights].sort(byId),
          ...(a.total === undefined ? {} : { total: a.total }),
        };
      case "delta":
        return {
          type: "delta",
          seq: a.seq,
          server_time_ms: a.serverTimeMs,
          upserts: [...a.upserts].sort(byId),
          removes: [...a.removes].sort(),
          ...(a.total === undefined ? {} : { total: a.total }),
        };
    }
  }
  return null;
}

function expected(m: Record<string, unknown>): Record<string, unknown> {
  const e = plain(m);
  if (Array.isArray(e.flights)) (e.flights as Flight[]).sort(byId);
  if (Array.isArray(e.upserts)) (e.upserts as Flight[]).sort(byId);
  if (Array.isArray(e.removes)) (e.removes as string[]).sort();
  return e;
}

Deno.test("v2.bin in the browser: the golden frames decode to the messages written beside them", () => {
  const feed = new BinaryFeed();
  const kinds = new Set<string>();
  for (const frame of golden.frames) {
    const actions = feed.receive(fromHex(frame.hex), 0).map(toProtocolAction);
    const got = asMessage(actions);
    assert.ok(got, `${frame.name}: no message`);
    assert.deepEqual(plain(got), expected(frame.message), frame.name);
    kinds.add(String(got.type));
  }
  assert.deepEqual([...kinds].sort(), ["anomaly", "delta", "hello", "snapshot"]);
  assert.equal(feed.stats.badFrames, 0);
  assert.equal(feed.stats.gaps, 0);
});

Deno.test("v2.bin in the browser: bad frames are refused, counted, and a resync is asked", () => {
  // Each bad frame after the golden snapshot, so a refusal has state to lose.
  const snapshot = golden.frames.find((f) => f.message.type === "snapshot")!;
  for (const b of bad) {
    const feed = new BinaryFeed();
    feed.receive(fromHex(snapshot.hex), 0);
    const actions = feed.receive(fromHex(b.hex), 0);
    assert.equal(feed.stats.badFrames, 1, b.name);
    assert.ok(feed.lastError?.includes(b.error), `${b.name}: ${feed.lastError}`);
    assert.deepEqual(actions, [{ kind: "send", message: { type: "resync" } }], b.name);
    assert.equal(feed.protocol.awaitingSnapshot, true, b.name);
  }
});

Deno.test("v2.bin in the browser: stale and out-of-order frames are dropped before their body is read", () => {
  const frames = golden.frames.map((f) => ({ ...f, bytes: fromHex(f.hex) }));
  const snapshot = frames.find((f) => f.message.type === "snapshot")!;
  // The deltas that follow the first snapshot (the golden file has a second view after them).
  const deltas = frames.filter((f) =>
    f.message.type === "delta" &&
    Number(f.message.seq) < Number(
        frames.findLast((g) => g.message.type === "snapshot")!.message.seq,
      )
  );
  const feed = new BinaryFeed();
  // A delta before any snapshot: dropped, nothing held.
  let out: WireAction[] = feed.receive(deltas[0]!.bytes, 0);
  assert.deepEqual(out.map((a) => a.kind), ["dropped"]);
  assert.equal(feed.table.size, 0);
  feed.receive(snapshot.bytes, 0);
  const held = feed.table.size;
  // Skipping seq 42: a gap, the delta is not applied (its change records would not fit) and
  // a resync is asked.
  out = feed.receive(deltas[1]!.bytes, 0);
  assert.deepEqual(out.map((a) => a.kind), ["dropped", "send"]);
  assert.equal(feed.stats.gaps, 1);
  assert.equal(feed.table.size, held);
  // The snapshot again (the resync's answer), then the deltas in order apply.
  feed.receive(snapshot.bytes, 0);
  for (const d of deltas) {
    assert.ok(feed.receive(d.bytes, 0).some((a) => a.kind === "batch"), d.name);
  }
  // A repeated (stale) delta: dropped, not applied twice.
  out = feed.receive(deltas[1]!.bytes, 0);
  assert.deepEqual(out.map((a) => a.kind), ["dropped"]);
  assert.equal(feed.stats.stale, 1);
});

Deno.test({
  name: "v2.bin in the browser: the same frames through a real Web Worker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const worker = new Worker(new URL("../lib/client/v2_worker.ts", import.meta.url).href, {
      type: "module",
    });
    try {
      const replies: { actions: WireAction[] }[] = [];
      const done = new Promise<void>((resolve) => {
        worker.onmessage = (ev) => {
          replies.push(ev.data);
          if (replies.length === golden.frames.length) resolve();
        };
      });
      for (const frame of golden.frames) {
        const bytes = fromHex(frame.hex);
        worker.postMessage({ op: "frame", data: bytes.buffer, now: 0 }, [bytes.buffer]);
      }
      await done;
      golden.frames.forEach((frame, i) => {
        const got = asMessage(replies[i]!.actions.map(toProtocolAction));
        assert.deepEqual(plain(got), expected(frame.message), frame.name);
      });
    } finally {
      worker.terminate();
    }
  },
});

Deno.test("the connection asks for skysentinel.v2.bin by default and applies its frames", async () => {
  assert.equal(BINARY_SUBPROTOCOL, CONTRACT_BINARY);
  for (const binaryDecoder of ["inline", "worker"] as const) {
    let socket: SocketLike & { protocols: string[]; push(b: Uint8Array): void } | null = null;
    const actions: ProtocolAction[] = [];
    const conn = new LiveConnection({
      url: "ws://x/ws",
      binaryDecoder,
      socket: (_url, protocols) => {
        const s = {
          protocols,
          readyState: 1,
          binaryType: "",
          onopen: null,
          onmessage: null as ((ev: { data: unknown }) => void) | null,
          onclose: null,
          onerror: null,
          send() {},
          close() {},
          push(b: Uint8Array) {
            this.onmessage?.({ data: b.slice().buffer });
          },
        };
        socket = s;
        return s;
      },
    }, { onAction: (a) => actions.push(a), onStatus() {} });
    try {
      conn.start();
      assert.deepEqual(socket!.protocols, [BINARY_SUBPROTOCOL]);
      for (const f of golden.frames) socket!.push(fromHex(f.hex));
      // The worker answers asynchronously.
      for (let i = 0; i < 200 && !actions.some((a) => a.kind === "anomaly"); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const snapshot = actions.find((a) => a.kind === "snapshot");
      const want = golden.frames.find((f) => f.message.type === "snapshot")!.message;
      assert.ok(snapshot && snapshot.kind === "snapshot", binaryDecoder);
      assert.deepEqual(plain([...snapshot.flights].sort(byId)), expected(want).flights);
      const nDeltas = golden.frames.filter((f) => f.message.type === "delta").length;
      assert.equal(actions.filter((a) => a.kind === "delta").length, nDeltas, binaryDecoder);
      assert.equal(conn.status, "live");
      assert.equal(conn.protocolStats.deltas, nDeltas);
    } finally {
      conn.close();
    }
  }
});

/** Contents bits of the first segment's head (docs/protocol.md), or -1 without segments. */
function firstSegmentContents(frame: Uint8Array): number {
  let at = 1;
  const uvarint = () => {
    let v = 0;
    for (let scale = 1;; scale *= 128) {
      const b = frame[at++]!;
      v += (b & 127) * scale;
      if (b < 128) return v;
    }
  };
  for (let k = 0; k < 4; k++) uvarint(); // seq, server_time_ms, total, last_contact reference
  return uvarint() === 0 ? -1 : uvarint() % 16;
}

Deno.test("v2.bin in the browser: indexed whole-world frames while aircraft come and go match the hub's decoder", async () => {
  const { BinaryDecoder, BinaryTracker, composeFrame, FRAME_DELTA, FRAME_SNAPSHOT, timeBase } =
    await import("../lib/hub/v2/mod.ts");
  const { recordedFlights } = await import("./_recordings.ts");
  const rows = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const t0 = rows[0]!.last_contact_unix;
  const tracker = new BinaryTracker();
  const hub = new BinaryDecoder();
  const feed = new BinaryFeed();
  // What the page holds, from the feed's actions.
  const page = new Map<string, Flight>();
  const held = new Map<string, Flight>();
  let indexed = 0;
  for (let k = 0; k < 30; k++) {
    // Each poll's aircraft; those not seen for 30 s leave (a remove), new ones arrive (a full record).
    const poll = rows.filter((f) =>
      f.last_contact_unix >= t0 + 10 * k && f.last_contact_unix < t0 + 10 * (k + 1)
    );
    for (const f of poll) held.set(f.icao24, f);
    const gone = [...held.values()].filter((f) => f.last_contact_unix < t0 + 10 * k - 30)
      .map((f) => f.icao24);
    for (const id of gone) held.delete(id);
    const serverTimeMs = (t0 + 10 * (k + 1)) * 1000;
    const base = timeBase(serverTimeMs);
    const seg = tracker.advance(poll, gone, base, { alone: true });
    const frame = k === 0
      ? composeFrame(FRAME_SNAPSHOT, { seq: k + 1, serverTimeMs }, [tracker.snapshot(base)])
      : composeFrame(FRAME_DELTA, { seq: k + 1, serverTimeMs }, seg ? [seg] : []);
    if (k > 0 && firstSegmentContents(frame) & 8) indexed++;
    hub.decode(frame);
    for (const a of feed.receive(frame, 0).map(toProtocolAction)) {
      if (a.kind === "snapshot") {
        page.clear();
        for (const f of a.flights) page.set(f.icao24, f);
      } else if (a.kind === "delta") {
        for (const id of a.removes) page.delete(id);
        for (const f of a.upserts) page.set(f.icao24, f);
      }
    }
    assert.equal(feed.stats.badFrames, 0, feed.lastError ?? "");
    assert.deepEqual(
      plain([...page.values()].sort(byId)),
      plain(hub.flightObjects().sort(byId)),
      `poll ${k}`,
    );
  }
  assert.equal(feed.stats.deltas, 29);
  assert.ok(indexed > 10, `${indexed} frames were indexed`);
});
