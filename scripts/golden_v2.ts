/**
 * `deno run --allow-read=fixtures --allow-write=contracts/examples/v2bin scripts/golden_v2.ts`:
 * writes the `skysentinel.v2.bin` golden frames (contracts/examples/v2bin/)
 * from the real recordings in fixtures/. `--check` compares and exits 1 on
 * drift. tests/hub_v2_codec_test.ts checks both ways: the encoder must
 * produce these bytes, and the decoder must read them back as the listed
 * messages; the browser decoder's tests read the same file.
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import { OpenSkyReply } from "../contracts/opensky.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import {
  BinaryDecoder,
  BinaryTracker,
  BitWriter,
  composeFrame,
  encodeGeneric,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  timeBase,
} from "../lib/hub/v2/mod.ts";

/** Recordings the frames are cut from (file names in fixtures/). */
export const GOLDEN_V2_SOURCES = Object.freeze({
  switzerland: "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  ezy158t: "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
  tra051: "event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl",
  ryr2rg: "opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl",
});

export interface GoldenFrame {
  name: string;
  /** The frame, lower-case hex. */
  hex: string;
  /** What a decoder that applied the frames before it reads (the v1 message shape). */
  message: unknown;
}

export interface GoldenFile {
  description: string;
  subprotocol: "skysentinel.v2.bin";
  frames: GoldenFrame[];
}

export interface BadFrame {
  name: string;
  hex: string;
  /** A fragment of the FrameError message. */
  error: string;
}

/**
 * One segment of change records written by `write` (its head, then the bit
 * stream), hex: for bad frames.
 */
function changeSegment(indexed: boolean, write: (b: BitWriter) => void): string {
  const b = new BitWriter();
  write(b);
  const body = [...b.view()];
  const head = indexed ? [body.length * 2 + 1, 8] : [body.length * 2];
  return hex(Uint8Array.from([...head, ...body]));
}

/** Splits the aircraft into two segments (stand-ins for two tiles) at this longitude. */
const SPLIT_LON = 4.74;
/**
 * Seconds from each recording's first reply that the frames show (at 44 s RYR2RG's
 * time_position lags its last_contact by 1 s).
 */
const STEPS = [0, 10, 44];

function replies(text: string): OpenSkyReply[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => OpenSkyReply.parse(JSON.parse(l)));
}

function at(list: OpenSkyReply[], unix: number): OpenSkyReply {
  const r = list.find((x) => x.time >= unix);
  if (!r) throw new Error(`no reply at or after ${unix}`);
  return r;
}

/** The last_contact most flights share, unix tenths of a second (as the hub's frames name it). */
function mostCommonLastContact(flights: Flight[]): number {
  const counts = new Map<number, number>();
  for (const f of flights) {
    const lc = Math.round(f.last_contact_unix * 10);
    counts.set(lc, (counts.get(lc) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The golden sequence. Times of the single-aircraft recordings are shifted
 * so that their first reply falls on the Switzerland recording's first
 * reply (derived: real tracks, moved in time so they share one frame), and
 * every flight carries `source: "replay"`.
 */
export function buildGoldenV2(
  recordings: Record<keyof typeof GOLDEN_V2_SOURCES, string>,
): { good: GoldenFile; bad: BadFrame[] } {
  const ch = replies(recordings.switzerland);
  const t0 = ch[0]!.time;
  const singles = [recordings.ezy158t, recordings.tra051, recordings.ryr2rg].map(replies);
  /** Aircraft in the whole world at `step`: the Switzerland reply's and the three single tracks. */
  const worldAt = (step: number) =>
    (at(ch, t0 + step).states ?? []).length + singles.filter((l) => l[0]!.states?.length).length;
  const flightsAt = (step: number, swiss: number): Flight[] => {
    const out: Flight[] = [];
    for (const list of singles) {
      const start = list[0]!.time;
      const row = at(list, start + step).states?.[0];
      const r = stateVectorToFlight(row, { shiftSeconds: t0 - start });
      if (r.ok) out.push(r.flight);
    }
    const swissRows = (at(ch, t0 + step).states ?? []).slice(swiss, swiss + 3);
    for (const row of swissRows) {
      const r = stateVectorToFlight(row);
      if (r.ok) out.push(r.flight);
    }
    return out.map((f) => ({ ...f, source: "replay" }) as Flight);
  };
  const west = (f: Flight) => f.position.lon < SPLIT_LON;
  const trackers = [new BinaryTracker(), new BinaryTracker()];
  const held = [new Map<string, Flight>(), new Map<string, Flight>()];
  const decoder = new BinaryDecoder();
  const frames: GoldenFrame[] = [];
  const push = (name: string, bytes: Uint8Array) => {
    frames.push({ name, hex: hex(bytes), message: decoder.decode(bytes) });
  };

  push(
    "hello",
    encodeGeneric({
      type: "hello",
      protocol: 2,
      server_time_ms: t0 * 1000 + 500,
      encoding: "bin",
      delta_interval_ms: 200,
      stale_threshold_s: 60,
      source: "kafka",
    }),
  );
  let seq = 41;
  for (const [i, step] of STEPS.entries()) {
    // The last step swaps one Switzerland aircraft for another: a remove and an add.
    const flights = flightsAt(step, i === STEPS.length - 1 ? 1 : 0);
    const serverTimeMs = (Math.max(...flights.map((f) => f.last_contact_unix)) + 1) * 1000 + 200;
    const base = timeBase(serverTimeMs);
    const segments: Uint8Array[] = [];
    for (const side of [0, 1]) {
      const mine = flights.filter((f) => west(f) === (side === 0));
      const ids = new Set(mine.map((f) => f.icao24));
      const removes = [...held[side]!.keys()].filter((id) => !ids.has(id));
      held[side] = new Map(mine.map((f) => [f.icao24, f]));
      const seg = trackers[side]!.advance(mine, removes, base);
      if (i === 0) continue;
      if (seg) segments.push(seg);
    }
    if (i === 0) {
      push(
        "snapshot: 6 aircraft in two segments",
        composeFrame(
          FRAME_SNAPSHOT,
          { seq, serverTimeMs, total: worldAt(step) },
          trackers.map((t) => t.snapshot(base)),
        ),
      );
    } else {
      seq++;
      push(
        i === 1
          ? "delta: 10 s later, field deltas; TRA051 crosses from the west segment to the east one"
          : "delta: later again; one aircraft removed, one added, a time_position behind last_contact",
        // The world count goes with a delta only when it changed since the frame before.
        composeFrame(FRAME_DELTA, {
          seq,
          serverTimeMs,
          total: worldAt(step) === worldAt(STEPS[i - 1]!) ? undefined : worldAt(step),
        }, segments),
      );
    }
  }
  seq++;
  push(
    "delta: nothing changed (heartbeat)",
    composeFrame(FRAME_DELTA, { seq, serverTimeMs: (t0 + 52) * 1000 }, []),
  );
  // A whole-world view: its one segment identifies change records by index among the aircraft
  // held, and the frames name the last contact most records share (a real poll's second).
  const world = new BinaryTracker();
  let worldHeld = new Set<string>();
  for (const [k, step] of [54, 64].entries()) {
    const flights = flightsAt(step, 1);
    const serverTimeMs = (Math.max(...flights.map((f) => f.last_contact_unix)) + 1) * 1000 + 200;
    const base = timeBase(serverTimeMs);
    const lc0 = mostCommonLastContact(flights);
    const ids = new Set(flights.map((f) => f.icao24));
    const removes = [...worldHeld].filter((id) => !ids.has(id));
    worldHeld = ids;
    const seg = world.advance(flights, removes, base, { lc0, alone: true });
    seq++;
    push(
      k === 0
        ? "snapshot: the whole world in one segment (a new view)"
        : "delta: a whole-world segment, change records identified by index among the held",
      k === 0
        ? composeFrame(FRAME_SNAPSHOT, { seq, serverTimeMs, total: worldAt(step) }, [
          world.snapshot(base),
        ])
        : composeFrame(FRAME_DELTA, {
          seq,
          serverTimeMs,
          lc0,
          total: worldAt(step) === worldAt(54) ? undefined : worldAt(step),
        }, seg ? [seg] : []),
    );
  }
  const ezy = frames[1]!.message as { flights: Flight[] };
  push(
    "anomaly (generic: type byte 0x00 and MessagePack)",
    encodeGeneric({
      type: "anomaly",
      event: {
        id: "example-406d95-go-around",
        kind: "go_around",
        severity: "warning",
        icao24: ezy.flights[0]!.icao24,
        callsign: ezy.flights[0]!.callsign,
        started_at: new Date(t0 * 1000).toISOString(),
        ended_at: null,
        position: { ...ezy.flights[0]!.position, altitude_m: ezy.flights[0]!.altitude_m },
        evidence: { airport: "LFBO" },
      },
    }),
  );

  const delta = frames[2]!.hex;
  const firstIcao = parseInt(
    (frames[1]!.message as { flights: Flight[] }).flights[0]!.icao24,
    16,
  );
  const bad: BadFrame[] = [
    { name: "empty", hex: "", error: "empty frame" },
    { name: "unknown kind", hex: "07" + delta.slice(2), error: "unknown frame kind 0x07" },
    {
      name: "a delta of layout revision 1",
      hex: "02" + delta.slice(2),
      error: "frame kind 0x02 is layout revision 1",
    },
    {
      name: "a delta of layout revision 2",
      hex: "22" + delta.slice(2),
      error: "frame kind 0x22 is layout revision 2",
    },
    { name: "a delta of revision 4", hex: "42" + delta.slice(2), error: "layout revision 4" },
    { name: "truncated delta", hex: delta.slice(0, delta.length - 6), error: "truncated" },
    { name: "trailing byte", hex: delta + "00", error: "trailing bytes" },
    // Delta seq 42, time 1, no total, last_contact reference T, 1 segment, which is missing.
    { name: "header only, segment missing", hex: "322a01000001", error: "truncated" },
    { name: "generic, not MessagePack", hex: "00c1", error: "not MessagePack" },
    { name: "generic, not an object", hex: "0001", error: "not an object with a type" },
    // A snapshot: seq 42, time 1, no total, last_contact reference T, 1 segment of 5 bytes holding
    // full records (head 5 × 16 + 4): 1 record, icao24 gap 1, whose mask has bit 16 set (a field
    // this version does not know).
    {
      name: "unknown field bit",
      hex: "312a01000001" + "0b04" + "01" + "01" + "818004",
      error: "unknown field bits",
    },
    // A snapshot whose segment says it has removes (head 1 × 16 + 2), and one remove count.
    {
      name: "removes in a snapshot",
      hex: "312a01000001" + "0302" + "00",
      error: "a snapshot segment has removes",
    },
    // A delta of two segments, the first indexed (head 0 × 16 + 8): only a frame's
    // only segment may be.
    {
      name: "indexed segment among several",
      hex: "322a01000002" + "0108" + "00",
      error: "indexed change records in a frame of several segments",
    },
    // A delta whose one segment identifies change records by index among the held aircraft (6
    // after the golden snapshot): 1 record, identifier order 0, index 6, past them.
    {
      name: "change record index past the held aircraft",
      hex: "322a01000001" + changeSegment(true, (b) => {
        b.bits(0, 5);
        b.eg(6, 0);
      }),
      error: "past the 6 held aircraft",
    },
    // One change record of a held aircraft (icao24 in 24 bits) whose mask code is past the table.
    {
      name: "mask code past the table",
      hex: "322a01000001" + changeSegment(false, (b) => {
        b.bits(firstIcao, 24);
        b.eg(64, 0);
      }),
      error: "mask code 64 past the table",
    },
    // A change record cut short: mask code 1 (0x19: position, speed, track), then nothing.
    {
      name: "change record cut short",
      hex: "322a01000001" + changeSegment(false, (b) => {
        b.bits(firstIcao, 24);
        b.eg(1, 0);
      }),
      error: "truncated",
    },
    // Indexed change records: the identifier order alone, no record.
    {
      name: "change records without a record",
      hex: "322a01000001" + changeSegment(true, (b) => b.bits(0, 5)),
      error: "without a record",
    },
    // A segment head with an unknown contents bit.
    {
      name: "unknown segment contents bit",
      hex: "322a01000001" + "0110",
      error: "unknown segment contents bits 0x10",
    },
    // A valid record, then padding with a bit set.
    {
      name: "non-zero padding",
      hex: "322a01000001" + changeSegment(false, (b) => {
        b.bits(firstIcao, 24);
        b.eg(7, 0); // mask code 7: 0x0, nothing changed but last_contact
        b.bits(1, 1);
      }),
      error: "non-zero padding",
    },
  ];
  return {
    good: {
      description:
        "skysentinel.v2.bin golden frames, in order (each delta applies on top of the frames before it). " +
        "Cut from real OpenSky recordings: the Switzerland snapshot plus EZY158T, TRA051 and RYR2RG, " +
        "whose times are shifted onto the Switzerland recording's (derived). Layout: docs/protocol.md.",
      subprotocol: "skysentinel.v2.bin",
      frames,
    },
    bad,
  };
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const recordings = Object.fromEntries(
    await Promise.all(
      Object.entries(GOLDEN_V2_SOURCES).map(async ([k, f]) => [
        k,
        await Deno.readTextFile(new URL(`fixtures/${f}`, root)),
      ]),
    ),
  ) as Record<keyof typeof GOLDEN_V2_SOURCES, string>;
  const { good, bad } = buildGoldenV2(recordings);
  const files = {
    "frames.json": JSON.stringify(good, null, 2) + "\n",
    "bad_frames.json": JSON.stringify(bad, null, 2) + "\n",
  };
  let drift = 0;
  for (const [name, text] of Object.entries(files)) {
    const url = new URL(`contracts/examples/v2bin/${name}`, root);
    if (Deno.args.includes("--check")) {
      if ((await Deno.readTextFile(url).catch(() => null)) !== text) {
        console.error(`drift: contracts/examples/v2bin/${name}`);
        drift++;
      }
    } else await Deno.writeTextFile(url, text);
  }
  if (drift) Deno.exit(1);
}
