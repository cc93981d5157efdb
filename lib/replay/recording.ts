/**
 * Reading recordings: one OpenSky `/states/all` reply per line, plain
 * (`.jsonl`) or gzip-compressed (`.jsonl.gz`). Streams line by line, so the
 * full-day file is never held in memory at once. Takes a byte stream; the
 * caller opens the file.
 *
 * Gzip notes (checked on Deno 2.9): `DecompressionStream` reads only the
 * first member of a multi-member gzip file and then fails with "failed to
 * write whole buffer", so record mode writes one member per file. A file
 * whose writer died before closing lacks the gzip trailer; everything before
 * the cut still decodes, and the reader hands out those lines and reports
 * the file as truncated instead of failing.
 *
 * @module
 */
import { OpenSkyReply } from "../../contracts/opensky.ts";
import { formatZodError } from "../zod_error.ts";

export type RecordingItem =
  /** A valid snapshot; `line` counts from 1. */
  | { kind: "snapshot"; line: number; reply: OpenSkyReply }
  /** A line that is not a valid reply: the caller dead-letters it. */
  | { kind: "bad_line"; line: number; reason: string; raw: string }
  /** The stream ended early (e.g. a gzip file without its trailer); always the last item. */
  | { kind: "truncated"; line: number; reason: string };

/** True for `.gz` paths (gzip-compressed recordings). */
export function isGzipPath(path: string): boolean {
  return path.toLowerCase().endsWith(".gz");
}

/** Parses one recording line into a reply, or says why it cannot. */
export function parseRecordingLine(
  line: string,
): { ok: true; reply: OpenSkyReply } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : error}` };
  }
  const parsed = OpenSkyReply.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `reply: ${formatZodError(parsed.error)}` };
  return { ok: true, reply: parsed.data };
}

/** Options for {@link readRecording} and {@link readLines}. */
export interface ReadOptions {
  /** Decompress the stream as gzip first. */
  gzip?: boolean;
}

/** Snapshots of a recording, in file order; blank lines are skipped. */
export async function* readRecording(
  stream: ReadableStream<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<RecordingItem> {
  let line = 0;
  for await (const item of readLines(stream, options)) {
    line++;
    if (typeof item !== "string") {
      yield { kind: "truncated", line, reason: item.truncated };
      return;
    }
    if (item.trim() === "") continue;
    const parsed = parseRecordingLine(item);
    if (parsed.ok) yield { kind: "snapshot", line, reply: parsed.reply };
    else yield { kind: "bad_line", line, reason: parsed.reason, raw: item };
  }
}

/**
 * Lines of a UTF-8 byte stream (without their `\n` / `\r\n`). When the
 * stream fails part-way (a truncated gzip file), the complete lines read so
 * far come out first, then one `{ truncated }` marker, and the generator ends.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<string | { truncated: string }> {
  const bytes = options.gzip
    ? stream.pipeThrough(bytesTransform(new DecompressionStream("gzip")))
    : stream;
  const reader = bytes.pipeThrough(bytesTransform(new TextDecoderStream())).getReader();
  let buffer = "";
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // Whole lines before the failure are still good; a partial last line is dropped.
        yield* splitComplete(buffer);
        yield {
          truncated: `stream ended early: ${error instanceof Error ? error.message : error}`,
        };
        return;
      }
      if (chunk.done) break;
      buffer += chunk.value;
      let start = 0;
      let newline = buffer.indexOf("\n", start);
      while (newline !== -1) {
        yield trimCr(buffer.slice(start, newline));
        start = newline + 1;
        newline = buffer.indexOf("\n", start);
      }
      buffer = buffer.slice(start);
    }
    if (buffer !== "") yield trimCr(buffer);
  } finally {
    // Also runs when the consumer stops early: cancelling closes the file underneath.
    await reader.cancel().catch(() => {});
  }
}

// The DOM typings declare these writables as WritableStream<BufferSource>, which TS does not
// accept where a Uint8Array sink is expected; a Uint8Array is a BufferSource, so this is sound.
function bytesTransform<O>(
  stream: { readable: ReadableStream<O>; writable: WritableStream<BufferSource> },
): ReadableWritablePair<O, Uint8Array> {
  return stream as unknown as ReadableWritablePair<O, Uint8Array>;
}

function* splitComplete(buffer: string): Generator<string> {
  const lines = buffer.split("\n");
  lines.pop();
  for (const line of lines) yield trimCr(line);
}

function trimCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** First and last snapshot time of a recording and its line count (for progress). */
export interface RecordingSpan {
  firstTime: number | null;
  lastTime: number | null;
  lines: number;
}

/**
 * A quick pass over a recording that reads only each line's `"time"` (no
 * full JSON parse); used to show replay progress.
 */
export async function scanRecordingSpan(
  stream: ReadableStream<Uint8Array>,
  options: ReadOptions = {},
): Promise<RecordingSpan> {
  const span: RecordingSpan = { firstTime: null, lastTime: null, lines: 0 };
  for await (const line of readLines(stream, options)) {
    if (typeof line !== "string") break;
    const match = /"time"\s*:\s*(\d+)/.exec(line.slice(0, 40));
    if (!match) continue;
    const time = Number(match[1]);
    span.firstTime ??= time;
    span.lastTime = time;
    span.lines++;
  }
  return span;
}
