/**
 * lib/detect/event.ts `isoTime` (the worker formats one per update) against its definition,
 * `new Date(Math.round(unix * 1000)).toISOString()`: same text on the times of a real
 * recording, on seeded random times (days apart, within one day, within one minute, so that
 * the cached minute, the cached day and a new day are all taken), on edges (rounding to the millisecond, negative times, the
 * ends of the Date range), and the same RangeError outside it.
 */
import assert from "node:assert/strict";
import { isoTime } from "../lib/detect/event.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { seededRandom } from "./_prng.ts";

const reference = (unix: number) => new Date(Math.round(unix * 1000)).toISOString();

Deno.test("isoTime gives Date#toISOString's text on real, random and edge times", async () => {
  const times: number[] = [];
  const file = await Deno.open("fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  for await (const item of readRecording(file.readable)) {
    if (item.kind !== "snapshot") continue;
    for (const s of (item.reply.states ?? []) as unknown[][]) {
      for (const i of [3, 4]) if (typeof s[i] === "number") times.push(s[i] as number);
    }
  }
  assert.ok(times.length > 10_000, `only ${times.length} times from the recording`);
  const random = seededRandom(7);
  // Years -4000 to 8000, a new day nearly every time (the Date path).
  for (let i = 0; i < 50_000; i++) times.push((random() - 0.5) * 2e11);
  // Within three days, in order of generation: the cached day mostly (the fast path).
  for (let i = 0; i < 100_000; i++) times.push(1.5e9 + random() * 86_400 * 3);
  // Rounding to the millisecond, times before 1970 included.
  for (let i = 0; i < 50_000; i++) {
    times.push(Math.floor(1.5e9 + random() * 1e5) + random() * 0.002);
  }
  for (let i = 0; i < 50_000; i++) times.push(-1e6 + random() * 1e4);
  // In order, 137 ms apart: the same minute as the previous call mostly, then the next one.
  for (let i = 0; i < 50_000; i++) times.push(1.5e9 - 3000 + i * 0.137);
  times.push(
    0,
    -0,
    0.0004,
    0.0005,
    -0.0005,
    -0.0015,
    -1,
    -86_400,
    -86_400.001,
    86_399.9995,
    1533123456.7895,
    253402300799.999,
    253402300800, // year 10000: an extended year
    -62167219200.001, // before year 0
    8.64e12, // the last time a Date holds
    -8.64e12,
  );
  let fast = 0;
  let day = NaN;
  for (const t of times) {
    assert.equal(isoTime(t), reference(t), `isoTime(${t})`);
    const d = Math.floor(Math.round(t * 1000) / 86_400_000);
    if (d === day) fast++;
    day = d;
  }
  // Most went the way that formats the time of day itself (the previous call's day).
  assert.ok(fast > 100_000, `${fast} times on the previous call's day`);
  for (const bad of [NaN, Infinity, -Infinity, 8.64e12 + 0.4, 8.64e12 + 1, -8.64e12 - 0.6]) {
    isoTime(8.64e12); // the cached day is the last one
    assert.throws(() => reference(bad), RangeError);
    assert.throws(() => isoTime(bad), RangeError, `isoTime(${bad})`);
  }
});
