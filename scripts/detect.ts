/**
 * `deno task detect FILE...`: runs the worker's detectors offline over
 * recordings in the OpenSky reply format (`.jsonl` or `.jsonl.gz`, one
 * `{time, states}` per line) and prints the final version of every anomaly
 * event as JSON lines on stdout, with a one-line summary on stderr.
 *
 *   deno task detect fixtures/opensky_sv_EZY158T_*.jsonl
 *   deno task detect --kinds=go_around,holding a.jsonl b.jsonl.gz
 *   deno task detect --runways=path/to/runways.csv rec.jsonl
 *
 * Several files are merged by snapshot time. Bad lines are skipped and
 * counted; a file that cannot be opened is an error before anything runs
 * (exit code 2). The file reading lives here; everything else is in
 * `lib/detect/` and is what the worker runs.
 *
 * @module
 */
import { ANOMALY_KINDS, type AnomalyEvent, type AnomalyKind } from "../contracts/anomaly.ts";
import type { OpenSkyReply } from "../contracts/opensky.ts";
import { createDetectionRun, type DetectionSummary } from "../lib/detect/run.ts";
import { createRunwayIndex, parseRunwaysCsv, type RunwayIndex } from "../lib/detect/runways.ts";
import { isGzipPath, readRecording } from "../lib/replay/recording.ts";

/** Where the runway ends come from unless `--runways` says otherwise. */
export const DEFAULT_RUNWAYS = new URL("../fixtures/ourairports_runways.csv", import.meta.url);

/** Reads and indexes the OurAirports runways CSV. */
export async function loadRunwayIndex(path: string | URL = DEFAULT_RUNWAYS): Promise<RunwayIndex> {
  return createRunwayIndex(parseRunwaysCsv(await Deno.readTextFile(path)).ends);
}

/** One item of a recording: a snapshot, or a line that is not one. */
export type SnapshotItem =
  | { kind: "snapshot"; reply: OpenSkyReply }
  | { kind: "bad_line"; file: string; line: number; reason: string };

/** Snapshots of one recording file, in file order (gzip by extension). */
export async function* readSnapshots(path: string | URL): AsyncGenerator<SnapshotItem> {
  const name = path instanceof URL ? path.pathname : path;
  const file = await Deno.open(path);
  for await (const item of readRecording(file.readable, { gzip: isGzipPath(name) })) {
    if (item.kind === "snapshot") yield { kind: "snapshot", reply: item.reply };
    else yield { kind: "bad_line", file: name, line: item.line, reason: item.reason };
  }
}

/**
 * Snapshots of several recordings merged by time (a stable k-way merge: on
 * equal times, the earlier file first).
 */
export async function* mergeSnapshots(
  paths: readonly (string | URL)[],
): AsyncGenerator<SnapshotItem> {
  const sources = paths.map((p) => readSnapshots(p));
  const heads: (SnapshotItem | null)[] = [];
  const advance = async (i: number) => {
    const next = await sources[i]!.next();
    heads[i] = next.done ? null : next.value;
  };
  for (let i = 0; i < sources.length; i++) await advance(i);
  while (true) {
    let pick = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head === null || head === undefined) continue;
      // Bad lines go out at once, so they are reported in file order.
      if (head.kind === "bad_line") {
        pick = i;
        break;
      }
      const best = pick === -1 ? null : heads[pick];
      if (best == null || (best.kind === "snapshot" && head.reply.time < best.reply.time)) {
        pick = i;
      }
    }
    if (pick === -1) return;
    yield heads[pick]!;
    await advance(pick);
  }
}

/** Options for {@link detectRecordings}. */
export interface DetectOptions {
  runways: RunwayIndex;
  kinds?: ReadonlySet<AnomalyKind>;
  /** Called for every bad line (the CLI prints the first few). */
  onBadLine?: (item: Extract<SnapshotItem, { kind: "bad_line" }>) => void;
}

/** Runs the detectors over recordings; the same path the CLI takes. */
export async function detectRecordings(
  paths: readonly (string | URL)[],
  options: DetectOptions,
): Promise<{ events: AnomalyEvent[]; summary: DetectionSummary }> {
  const run = createDetectionRun({ runways: options.runways, kinds: options.kinds });
  for await (const item of mergeSnapshots(paths)) {
    if (item.kind === "snapshot") run.addSnapshot(item.reply);
    else {
      run.addBadLine();
      options.onBadLine?.(item);
    }
  }
  return run.finish();
}

interface Args {
  files: string[];
  kinds?: Set<AnomalyKind>;
  runways: string | URL;
  help: boolean;
}

/** Parses the command line; throws a `TypeError` with a usage message when wrong. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { files: [], runways: DEFAULT_RUNWAYS, help: false };
  for (const arg of argv) {
    if (arg === "-h" || arg === "--help") args.help = true;
    else if (arg.startsWith("--kinds=")) {
      const kinds = arg.slice("--kinds=".length).split(",").map((k) => k.trim()).filter(Boolean);
      for (const kind of kinds) {
        if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) {
          throw new TypeError(`unknown kind "${kind}" (kinds: ${ANOMALY_KINDS.join(", ")})`);
        }
      }
      args.kinds = new Set(kinds as AnomalyKind[]);
    } else if (arg.startsWith("--runways=")) args.runways = arg.slice("--runways=".length);
    else if (arg.startsWith("-")) throw new TypeError(`unknown option ${arg}`);
    else args.files.push(arg);
  }
  return args;
}

const USAGE = `usage: deno task detect [--kinds=KIND,...] [--runways=CSV] FILE...
  FILE          OpenSky replies, one {time, states} per line (.jsonl or .jsonl.gz)
  --kinds=...   only these kinds (${ANOMALY_KINDS.join(", ")})
  --runways=... OurAirports runways.csv (default fixtures/ourairports_runways.csv)
Prints the final version of each anomaly event as a JSON line; a summary goes to stderr.`;

const MAX_BAD_LINES_SHOWN = 5;

async function main(argv: readonly string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`detect: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help || args.files.length === 0) {
    console.error(USAGE);
    return args.help ? 0 : 2;
  }
  for (const file of [...args.files, args.runways]) {
    try {
      const info = await Deno.stat(file);
      if (!info.isFile) throw new Error("not a file");
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message;
      console.error(`detect: cannot read ${file}: ${why}`);
      return 2;
    }
  }
  const started = performance.now();
  let runways: RunwayIndex;
  try {
    runways = await loadRunwayIndex(args.runways);
  } catch (error) {
    console.error(`detect: runways ${args.runways}: ${(error as Error).message}`);
    return 2;
  }
  let shown = 0;
  const { events, summary } = await detectRecordings(args.files, {
    runways,
    kinds: args.kinds,
    onBadLine: (item) => {
      if (shown++ < MAX_BAD_LINES_SHOWN) {
        console.error(`detect: ${item.file}:${item.line}: skipped: ${item.reason.slice(0, 200)}`);
      }
    },
  });
  const encoder = new TextEncoder();
  const lines = events.map((e) => JSON.stringify(e)).join("\n");
  if (lines !== "") await Deno.stdout.write(encoder.encode(lines + "\n"));
  const kinds = Object.entries(summary.eventsByKind).map(([k, n]) => `${k}=${n}`).join(" ");
  const elapsed = ((performance.now() - started) / 1000).toFixed(2);
  console.error(
    `detect: ${summary.snapshots} snapshots, ${summary.rows} rows, ` +
      `${summary.rowsRejected} rows rejected, ${summary.badLines} bad lines, ` +
      `${summary.accepted} updates used, ${summary.ignored} duplicates/late ignored, ` +
      `${summary.aircraft} aircraft, events: ${kinds || "none"}, ${elapsed} s`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
