/**
 * The hub's tick scheduling (services/web/hub_ticker.ts) on a hand-driven
 * clock: ticks follow the ingest, never closer than the minimum interval
 * but for a rare early tick that realigns them on a feed, with a heartbeat when nothing changes; and, on a real hub and socket, an
 * update goes out without waiting for a heartbeat.
 *
 * Nothing asserts on wall-clock timing: the unit tests move a fake clock, the
 * socket test only waits (bounded) for what a fixed timer would deliver a minute later.
 */
import assert from "node:assert/strict";
import { TickScheduler, type TickTimers } from "../services/web/hub_ticker.ts";
import { connect, flightsCopiesForLoad, serveHub, T0, waitFor } from "./_hub_harness.ts";

/** Timers on a clock the test moves. */
class FakeTimers implements TickTimers {
  t = 0;
  #next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  set = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  };
  clear = (id: number) => void this.pending.delete(id);
  /** Moves the clock to `to`, firing the timers due on the way, in order. */
  advance(to: number): void {
    for (;;) {
      const due = [...this.pending].filter(([, p]) => p.at <= to).sort((a, b) => a[1].at - b[1].at);
      if (due.length === 0) break;
      const [id, p] = due[0]!;
      this.pending.delete(id);
      this.t = p.at;
      p.fn();
    }
    this.t = to;
  }
}

/**
 * Feeds a part at each time `at(k)` gives (until null) and checks that each
 * ticked once before the next; returns how long each waited for its tick.
 */
function feed(
  s: TickScheduler,
  timers: FakeTimers,
  ticks: number[],
  at: (k: number) => number | null,
): number[] {
  const waits: number[] = [];
  for (let k = 0, t = at(0); t !== null; t = at(++k)) {
    timers.advance(t);
    const before = ticks.length;
    s.wake();
    timers.advance(t + 199);
    assert.equal(ticks.length, before + 1, `part ${k} ticked once`);
    waits.push(ticks.at(-1)! - t);
  }
  return waits;
}

function scheduler() {
  const timers = new FakeTimers();
  const ticks: number[] = [];
  const s: TickScheduler = new TickScheduler({
    minIntervalMs: 200,
    heartbeatMs: 1000,
    timers,
    tick: () => {
      ticks.push(timers.t);
      s.ticked();
    },
  });
  return { s, timers, ticks };
}

Deno.test("ticker: the first change after a quiet spell goes out at once; then no closer than the interval but for one early tick per 10 intervals", () => {
  const { s, timers, ticks } = scheduler();
  s.start();
  timers.advance(500);
  assert.deepEqual(ticks, []);
  s.wake(); // a batch arrives: tick after the current task, not at the next 200 ms boundary
  s.wake();
  timers.advance(500);
  assert.deepEqual(ticks, [500]);
  timers.advance(550);
  s.wake(); // 50 ms later: the one early tick allowed (it realigns the ticks on a feed)
  s.wake();
  timers.advance(550);
  assert.deepEqual(ticks, [500, 550]);
  timers.advance(600);
  s.wake(); // 50 ms later again: waits for the minimum interval
  timers.advance(749);
  assert.deepEqual(ticks, [500, 550]);
  timers.advance(750);
  assert.deepEqual(ticks, [500, 550, 750]);
  // A feed every 200 ms, late by varying amounts: a late batch goes out as it comes, and the
  // next interval still counts from where the late one's began (1150, not 1160).
  for (const at of [955, 1160, 1350]) {
    timers.advance(at);
    s.wake();
    timers.advance(at);
  }
  timers.advance(1400);
  assert.deepEqual(ticks, [500, 550, 750, 955, 1160, 1350]);
  // 10 intervals after the early tick, another may come early.
  timers.advance(2600);
  s.wake();
  timers.advance(2600);
  timers.advance(2650);
  s.wake();
  timers.advance(2650);
  assert.deepEqual(ticks.slice(-2), [2600, 2650]);
});

Deno.test("ticker: a feed of the interval's period landing just after the ticks is realigned onto them", () => {
  // A stray change ticks at 995; then a feed every 200 ms from 1000. Without the early tick every
  // part would wait 195 ms for the tick the stray change placed (the phase lock of #10).
  const { s, timers, ticks } = scheduler();
  s.start();
  timers.advance(995);
  s.wake();
  timers.advance(995);
  const waits = feed(s, timers, ticks, (k) => k < 50 ? 1000 + k * 200 : null);
  assert.deepEqual([...new Set(waits)], [0], `waits ${waits.join(",")}`);
});

Deno.test("ticker: a part late by most of an interval does not hold back the parts after it", () => {
  // A busy event loop delays one part of a 200 ms feed by 120 ms. Counting the next interval
  // from that late tick would make each following part wait 120 ms until the next early tick.
  const { s, timers, ticks } = scheduler();
  s.start();
  timers.advance(995);
  s.wake(); // a stray change, then the feed from 1000: the early tick realigns (and is spent)
  timers.advance(995);
  const arrivals = Array.from({ length: 9 }, (_, k) => 1000 + k * 200 + (k === 2 ? 120 : 0));
  const waits: number[] = [];
  arrivals.forEach((at, k) => {
    timers.advance(at);
    const before = ticks.length;
    s.wake();
    timers.advance((arrivals[k + 1] ?? at + 200) - 1);
    assert.equal(ticks.length, before + 1, `part ${k} ticked once: ${ticks}`);
    waits.push(ticks.at(-1)! - at);
  });
  assert.deepEqual(waits, [0, 0, 0, 0, 0, 0, 0, 0, 0], `waits ${waits.join(",")}`);
});

Deno.test("ticker: a continuous trickle gets at most 10% more ticks than the interval allows", () => {
  const { s, timers, ticks } = scheduler();
  s.start();
  for (let t = 0; t < 20_000; t++) {
    timers.advance(t);
    s.wake();
  }
  timers.advance(20_000);
  // 20 s at one per 200 ms is 100 ticks; one early tick per 2 s adds at most 10.
  assert.ok(ticks.length >= 100 && ticks.length <= 111, `${ticks.length} ticks`);
  for (let k = 2; k < ticks.length; k++) {
    assert.ok(ticks[k]! - ticks[k - 2]! >= 200, `ticks ${ticks.slice(k - 2, k + 1)}`);
  }
});

Deno.test("ticker: timers that fire late do not slide the ticks off a feed that comes every 200 ms", () => {
  // Every timer fires 2 ms late (as real ones do, by a ms or so): counting the interval from the
  // late run would make each tick 2 ms later than the last, until batches waited ~200 ms again.
  const timers = new FakeTimers();
  const set = timers.set;
  timers.set = (fn, ms) => set(fn, ms + 2);
  const ticks: number[] = [];
  const s: TickScheduler = new TickScheduler({
    minIntervalMs: 200,
    heartbeatMs: 1000,
    timers,
    tick: () => {
      ticks.push(timers.t);
      s.ticked();
    },
  });
  s.start();
  // A fixed grid, with a little jitter.
  const waits = feed(s, timers, ticks, (k) => k < 100 ? 10_000 + k * 200 + (k % 2) : null);
  assert.ok(Math.max(...waits) <= 4, `waits ${waits.join(",")}`);
});

Deno.test("ticker: a heartbeat tick when nothing changes; now() ticks at once; stop ends it", () => {
  const { s, timers, ticks } = scheduler();
  s.start();
  timers.advance(2500);
  assert.deepEqual(ticks, [1000, 2000]);
  s.now(); // a relay forwarding an upstream frame
  assert.deepEqual(ticks, [1000, 2000, 2500]);
  timers.advance(3400);
  assert.deepEqual(ticks, [1000, 2000, 2500]); // the heartbeat counts from the last tick
  timers.advance(3500);
  assert.deepEqual(ticks, [1000, 2000, 2500, 3500]);
  s.stop();
  s.wake();
  s.now();
  timers.advance(10_000);
  assert.deepEqual(ticks, [1000, 2000, 2500, 3500]);
  assert.equal(timers.pending.size, 0);
});

Deno.test("ticker: a tick that throws does not stop the ticking", () => {
  const timers = new FakeTimers();
  let calls = 0;
  const s = new TickScheduler({
    minIntervalMs: 200,
    heartbeatMs: 1000,
    timers,
    tick: () => {
      calls++;
      throw new Error("boom");
    },
  });
  s.start();
  assert.throws(() => timers.advance(1000), /boom/);
  assert.equal(timers.pending.size, 1);
  assert.throws(() => timers.advance(2000), /boom/);
  assert.equal(calls, 2);
  s.stop();
});

Deno.test("hub: an ingested update reaches a client without waiting for the heartbeat", async () => {
  // The heartbeat is a minute away: only an ingest-driven tick delivers within the wait.
  const served = serveHub({ heartbeatMs: 60_000 });
  const shift = Math.floor(Date.now() / 1000) - T0;
  const client = await connect(served.url);
  try {
    await client.next("snapshot");
    for (const k of [0, 1, 2]) {
      const flights = flightsCopiesForLoad(k, shift);
      for (const f of flights) served.hub.ingest(f);
      const want = flights[0]!;
      await waitFor(
        () => client.view.flights.get(want.icao24)?.last_contact_unix === want.last_contact_unix,
        `update ${k} on the client`,
        20_000,
      );
    }
  } finally {
    await client.close();
    await served.close();
  }
});
