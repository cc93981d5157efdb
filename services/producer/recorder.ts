/**
 * Record mode's writer: each OpenSky reply becomes one line of a
 * `.jsonl.gz` file under RECORD_DIR, named by the UTC start time, in the
 * same format as the bundled recordings (so replay mode plays it).
 *
 * One gzip member per file, because Deno's DecompressionStream stops after
 * the first member of a multi-member file (checked on Deno 2.9: "failed to
 * write whole buffer"). Deno's CompressionStream emits a sync-flushed block
 * for every write, so each reply reaches the file as soon as it is written:
 * a crash loses only the gzip trailer, and the replay reader (and `zcat`)
 * still recover every line. `close()` writes the trailer.
 *
 * @module
 */
import { join } from "node:path";
import type { OpenSkyReply } from "../../contracts/opensky.ts";
import { SkySentinelError } from "../../lib/errors.ts";

/** Options for {@link RecordingWriter.open}. */
export interface RecordingWriterOptions {
  /** Start time for the file name, unix ms. Default now. */
  startMs?: number;
}

export class RecordingWriter {
  readonly path: string;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #piped: Promise<void>;
  #encoder = new TextEncoder();
  #lines = 0;
  #closing: Promise<void> | null = null;
  #failed: unknown = null;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    const gzip = new CompressionStream("gzip");
    this.#writer = gzip.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    // A plain loop rather than pipeTo(file.writable): with pipeTo, Deno 2.9 held the compressed
    // chunks back until close, which would lose everything on a crash.
    this.#piped = (async () => {
      try {
        for await (const chunk of gzip.readable) {
          let written = 0;
          while (written < chunk.length) written += await file.write(chunk.subarray(written));
        }
      } catch (error) {
        // Disk full, file removed...: the next write() reports it.
        this.#failed = error;
        throw error;
      } finally {
        file.close();
      }
    })();
    // Reported by write() and close(); not an unhandled rejection meanwhile.
    this.#piped.catch(() => {});
  }

  /** Creates RECORD_DIR if needed and a new file `opensky_states_<UTC start>.jsonl.gz` in it. */
  static async open(dir: string, options: RecordingWriterOptions = {}): Promise<RecordingWriter> {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (error) {
      if (
        !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
      ) throw error;
      throw new SkySentinelError(
        "config_invalid",
        `Cannot record into ${dir}: no permission to write there (\`deno task producer\` may ` +
          "write only `.data/recordings`: leave DATA_DIR at `.data`, or set RECORD_DIR inside it)",
        { cause: error },
      );
    }
    const stamp = fileStamp(options.startMs ?? Date.now());
    for (let n = 0;; n++) {
      const path = join(dir, `opensky_states_${stamp}${n ? `_${n}` : ""}.jsonl.gz`);
      try {
        const file = await Deno.open(path, { write: true, createNew: true });
        return new RecordingWriter(path, file);
      } catch (error) {
        // Two starts within the same second: take the next free name.
        if (error instanceof Deno.errors.AlreadyExists && n < 100) continue;
        throw error;
      }
    }
  }

  /** Replies written so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Appends one reply as one line. */
  async write(reply: OpenSkyReply): Promise<void> {
    if (this.#closing) throw new Error(`recording ${this.path} is closed`);
    if (this.#failed) throw this.#failed;
    await this.#writer.write(this.#encoder.encode(`${JSON.stringify(reply)}\n`));
    this.#lines++;
  }

  /** Finishes the gzip stream and closes the file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#writer.close();
      await this.#piped;
    })();
    return this.#closing;
  }
}

/** `2026-03-18T093000Z`: sortable, and without the colons some file systems refuse. */
export function fileStamp(unixMs: number): string {
  return new Date(unixMs).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:/g, "");
}
