import assert from "node:assert/strict";
import { readRecording, type RecordingItem, scanRecordingSpan } from "../lib/replay/recording.ts";
import { parseScenario } from "../lib/replay/scenario.ts";
import { dueAtMs, replayShiftSeconds } from "../lib/replay/schedule.ts";
import { mergeTimelines, placeOnTimeline, type TimedItem } from "../lib/replay/timeline.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES);
const SWISS = "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl";
const FULL_DAY = "states_switzerland_2018-08-01_fullday_10s.jsonl.gz";
const DEMO = new URL("scenarios/demo.json", FIXTURES).pathname;

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      // Several chunks, so that line splitting across chunk borders is exercised.
      for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
      controller.close();
    },
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function open(name: string): Promise<ReadableStream<Uint8Array>> {
  return (await Deno.open(fixture(name))).readable;
}

Deno.test("replay: reads the 30-minute recording as 180 snapshots in order", async () => {
  const items = await collect(readRecording(await open(SWISS)));
  assert.equal(items.length, 180);
  assert.ok(items.every((i) => i.kind === "snapshot"));
  const times = items.map((i) => (i as Extract<RecordingItem, { kind: "snapshot" }>).reply.time);
  assert.equal(times[0], 1533123000);
  assert.equal(times[179], 1533124790);
});

Deno.test("replay: streams the gzip full-day file (6,120 snapshots)", async () => {
  const span = await scanRecordingSpan(await open(FULL_DAY), { gzip: true });
  assert.equal(span.lines, 6120);
  let snapshots = 0;
  let rows = 0;
  for await (const item of readRecording(await open(FULL_DAY), { gzip: true })) {
    assert.equal(item.kind, "snapshot");
    if (item.kind === "snapshot") {
      snapshots++;
      rows += item.reply.states?.length ?? 0;
    }
  }
  assert.equal(snapshots, 6120);
  assert.equal(rows, 139_098);
});

Deno.test("replay: a gzip file cut short yields its readable lines, then says truncated", async () => {
  const bytes = await Deno.readFile(fixture(FULL_DAY));
  const cut = bytes.slice(0, Math.floor(bytes.length / 3));
  const items = await collect(readRecording(streamOf(cut), { gzip: true }));
  const last = items.at(-1)!;
  assert.equal(last.kind, "truncated");
  const snapshots = items.filter((i) => i.kind === "snapshot");
  assert.ok(snapshots.length > 1000, `only ${snapshots.length} snapshots recovered`);
  assert.ok(items.every((i) => i.kind !== "bad_line"));
});

Deno.test("replay: a bad line in a recording is reported with its line number, the rest plays", async () => {
  const lines = (await Deno.readTextFile(fixture(SWISS))).split("\n").slice(0, 3);
  // Derived data: a real recording with one line replaced and one blank line.
  const text = [lines[0], "{not json", "", lines[1], '{"time":"x","states":[]}', lines[2]].join(
    "\r\n",
  );
  const items = await collect(readRecording(streamOf(new TextEncoder().encode(text))));
  assert.deepEqual(items.map((i) => [i.kind, i.line]), [
    ["snapshot", 1],
    ["bad_line", 2],
    ["snapshot", 4],
    ["bad_line", 5],
    ["snapshot", 6],
  ]);
  assert.match((items[1] as { reason: string }).reason, /not JSON/);
  assert.match((items[3] as { reason: string }).reason, /time/);
});

Deno.test("replay: the demo scenario resolves its four real recordings", async () => {
  const { scenario, sources } = parseScenario(await Deno.readTextFile(DEMO), { path: DEMO });
  assert.equal(scenario.name, "demo");
  assert.deepEqual(sources.map((s) => s.label), ["switzerland", "EZY158T", "TRA051", "EDW24"]);
  for (const source of sources) assert.ok((await Deno.stat(source.path)).isFile, source.path);
});

async function demoTimeline(label: string): Promise<TimedItem[]> {
  const { sources } = parseScenario(await Deno.readTextFile(DEMO), { path: DEMO });
  const index = sources.findIndex((s) => s.label === label);
  const s = sources[index]!;
  const file = await Deno.open(s.path);
  return await collect(
    placeOnTimeline(readRecording(file.readable), {
      source: index,
      offsetS: s.offsetS,
      skipS: s.skipS,
      durationS: s.durationS,
    }),
  );
}

function row(item: TimedItem): unknown[] {
  assert.equal(item.item.kind, "snapshot");
  return (item.item as Extract<RecordingItem, { kind: "snapshot" }>).reply.states![0] as unknown[];
}

Deno.test("replay: in the demo the first EZY158T go-around comes 2-3 minutes in", async () => {
  const timeline = await demoTimeline("EZY158T");
  assert.equal(timeline[0]!.at, 0);
  assert.equal(timeline[0]!.intervalS, 1);
  // Lowest point of the first 10 minutes (baro altitude, index 7) = the first go-around.
  const early = timeline.filter((t) => t.at <= 600);
  const lowest = early.reduce((a, b) => ((row(b)[7] as number) < (row(a)[7] as number) ? b : a));
  const recorded = (lowest.item as Extract<RecordingItem, { kind: "snapshot" }>).reply.time;
  assert.equal(new Date(recorded * 1000).toISOString(), "2017-02-05T16:08:20.000Z");
  assert.ok(lowest.at >= 120 && lowest.at <= 180, `go-around at ${lowest.at} s`);
  assert.ok(timeline.at(-1)!.at <= 2100);
});

Deno.test("replay: in the demo the TRA051 holding starts a few minutes in", async () => {
  const timeline = await demoTimeline("TRA051");
  const holdingStart = Date.parse("2018-05-30T15:43:52Z") / 1000;
  const first = timeline.find((t) =>
    (t.item as Extract<RecordingItem, { kind: "snapshot" }>).reply.time >= holdingStart
  )!;
  assert.ok(first.at >= 120 && first.at <= 300, `holding at ${first.at} s`);
  assert.ok(timeline.at(-1)!.at <= 1800);
});

Deno.test("replay: the merge is ordered by time, ties by source, and repeatable", async () => {
  const run = async () => {
    const { sources } = parseScenario(await Deno.readTextFile(DEMO), { path: DEMO });
    const timelines = await Promise.all(
      sources.map(async (s, source) =>
        placeOnTimeline(readRecording((await Deno.open(s.path)).readable), {
          source,
          offsetS: s.offsetS,
          skipS: s.skipS,
          durationS: 120, // two minutes of each are enough here
        })
      ),
    );
    return (await collect(mergeTimelines(timelines))).map((t) => [t.at, t.source]);
  };
  const a = await run();
  for (let i = 1; i < a.length; i++) {
    const [at0, s0] = a[i - 1]!;
    const [at1, s1] = a[i]!;
    assert.ok(at0! < at1! || (at0 === at1 && s0! <= s1!), `out of order at ${i}`);
  }
  assert.deepEqual(new Set(a.map(([, s]) => s)), new Set([0, 1, 2, 3]));
  assert.deepEqual(await run(), a);
});

Deno.test("replay: pacing and shifting arithmetic", () => {
  assert.equal(dueAtMs(1000, { atS: 10, speed: 1 }), 11_000);
  assert.equal(dueAtMs(1000, { atS: 10, speed: 10 }), 2_000);
  assert.equal(dueAtMs(1000, { atS: 10, speed: 0 }), 1000);
  // A snapshot recorded at t plays at start + at: its times become that.
  assert.equal(
    replayShiftSeconds({
      startUnixS: 2_000_000_000,
      atS: 30,
      recordedTime: 1533123000,
      keepTimes: false,
    }),
    2_000_000_030 - 1533123000,
  );
  assert.equal(
    replayShiftSeconds({
      startUnixS: 2_000_000_000,
      atS: 30,
      recordedTime: 1533123000,
      keepTimes: true,
    }),
    0,
  );
});
