/**
 * The page applies `skysentinel.v2.bin` batches without a flight object per
 * aircraft (lib/client/live_feed.ts, v2_feed.ts `BatchReader`,
 * flight_store.ts): frames of the real recording (a snapshot, then the
 * hub's field deltas) go through the real decoding Web Worker into a
 * LiveFeed; the store must end up exactly as when the same frames are
 * materialised into new flight objects and taken by `FlightStore.upsert`
 * (the reference), blends onto new measurements included, while every
 * aircraft that stayed keeps its own objects (written in place) and none is
 * the reader's reused one.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { LiveFeed } from "../lib/client/live_feed.ts";
import type { SocketLike } from "../lib/client/connection.ts";
import { FlightStore } from "../lib/client/flight_store.ts";
import { BinaryFeed, toProtocolAction } from "../lib/client/v2_feed.ts";
import {
  BinaryTracker,
  composeFrame,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  timeBase,
} from "../lib/hub/v2/mod.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";

/** Snapshot of recording step 80, then deltas of steps 81..86 (aircraft gone for 60 s leave). */
function recordedFrames(): { frames: Uint8Array[]; times: number[] } {
  const tracker = new BinaryTracker();
  const frames: Uint8Array[] = [];
  const times: number[] = [];
  const held = new Map<string, Flight>();
  for (let k = 80; k <= 86; k++) {
    const t = replies[k]!.time;
    const serverTimeMs = t * 1000 + 200;
    const base = timeBase(serverTimeMs);
    const upserts = flightsCopiesForLoad(k, 0);
    for (const f of upserts) held.set(f.icao24, f);
    const removes = [...held.values()].filter((f) => f.last_contact_unix < t - 60)
      .map((f) => f.icao24);
    for (const id of removes) held.delete(id);
    const segment = tracker.advance(upserts, removes, base);
    const seq = k - 79;
    frames.push(
      k === 80
        ? composeFrame(FRAME_SNAPSHOT, { seq, serverTimeMs }, [tracker.snapshot(base)])
        : composeFrame(FRAME_DELTA, { seq, serverTimeMs }, segment ? [segment] : []),
    );
    times.push(t);
  }
  return { frames, times };
}

Deno.test({
  name: "v2.bin batches reach the store through the Worker in place, equal to materialised flights",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { frames, times } = recordedFrames();
    let socket: (SocketLike & { push(b: Uint8Array): void }) | null = null;
    let clockMs = times[0]! * 1000;
    let applied = 0;
    const feed = new LiveFeed({
      wsUrl: "ws://x/ws",
      now: () => clockMs,
      socket: () => {
        const s = {
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
    }, { onData: () => void applied++, onAnomaly() {}, onStatus() {} });
    // The reference: the same frames decoded here, every batch as new flight objects.
    const decoder = new BinaryFeed();
    const reference = new FlightStore();
    const wait = async (n: number) => {
      for (let i = 0; i < 3000 && applied < n; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(applied, n, "the worker's batches were applied");
    };
    try {
      assert.equal(feed.connection.decoding, "worker");
      feed.start();
      let kept: Map<string, object[]> | null = null;
      let blended = 0;
      for (const [i, frame] of frames.entries()) {
        clockMs = times[i]! * 1000 + 500;
        socket!.push(frame);
        await wait(i + 1);
        const now = feed.nowS();
        for (const a of decoder.receive(frame, clockMs).map(toProtocolAction)) {
          if (a.kind === "snapshot") reference.replace(a.flights, now);
          if (a.kind === "delta") {
            for (const id of a.removes) reference.remove(id);
            for (const f of a.upserts) reference.upsert(f, now);
          }
        }
        const store = feed.store;
        assert.deepEqual([...store.flights.keys()].sort(), [...reference.flights.keys()].sort());
        for (const [id, t] of store.flights) {
          const r = reference.flights.get(id)!;
          assert.deepEqual(t.flight, r.flight, id);
          assert.deepEqual(t.kinematics, r.kinematics, id);
          // The blend onto the new measurement and the interval, as the reference made them.
          assert.deepEqual(t.correction, r.correction, `${id}: blend`);
          assert.equal(t.intervalS, r.intervalS, `${id}: interval`);
          if (t.correction !== null) blended++;
        }
        if (kept === null) {
          kept = new Map(
            [...store.flights].map((
              [id, t],
            ) => [id, [t, t.flight, t.flight.position, t.kinematics]]),
          );
        }
      }
      // Aircraft present from the snapshot to the end were updated in their own objects.
      let moved = 0;
      for (const [id, t] of feed.store.flights) {
        const k = kept!.get(id);
        if (!k) continue;
        assert.equal(t, k[0]);
        assert.equal(t.flight, k[1], `${id}: a new flight object`);
        assert.equal(t.flight.position, k[2], `${id}: a new position object`);
        assert.equal(t.kinematics, k[3], `${id}: a new kinematics object`);
        if (t.kinematics.t > times[0]!) moved++;
      }
      assert.ok(moved > 10, `only ${moved} aircraft updated in place`);
      assert.ok(blended > 10, `only ${blended} blends compared`);
      // No two aircraft share an object (the reader's reused one is never kept).
      const objects = new Set([...feed.store.flights.values()].map((t) => t.flight));
      assert.equal(objects.size, feed.store.size);
    } finally {
      feed.stop();
    }
  },
});
