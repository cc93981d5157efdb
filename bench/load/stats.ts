/**
 * Latency histograms of the load harness: 1 ms buckets up to 60 s (plus an
 * overflow bucket), mergeable across processes, sent as sparse pairs.
 *
 * @module
 */

const BUCKETS = 60_001;

export class Histogram {
  readonly counts = new Float64Array(BUCKETS + 1);
  count = 0;

  /** Records `ms` (negative values count as 0), `weight` times. */
  add(ms: number, weight = 1): void {
    const i = ms < 0 ? 0 : ms >= BUCKETS ? BUCKETS : Math.floor(ms);
    this.counts[i]! += weight;
    this.count += weight;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
  }

  /** The `p` quantile (0..1) in ms, or NaN when empty; the overflow bucket reads as 60,001. */
  quantile(p: number): number {
    if (this.count === 0) return NaN;
    const target = p * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target && seen > 0) return i;
    }
    return BUCKETS;
  }

  /** Sparse `[bucket, count]` pairs, for the pipe between processes. */
  toJSON(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((c, i) => {
      if (c > 0) out.push([i, c]);
    });
    return out;
  }

  static from(pairs: [number, number][]): Histogram {
    const h = new Histogram();
    for (const [i, c] of pairs) {
      h.counts[i]! += c;
      h.count += c;
    }
    return h;
  }
}

/** Newline-delimited JSON over a byte stream (the processes' pipes). */
export async function* jsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const bytes of stream) {
    buffer += decoder.decode(bytes, { stream: true });
    let i;
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (line) yield JSON.parse(line);
    }
  }
}

/** Writes one JSON line to stdout. */
export function emit(message: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(message) + "\n");
  // A pipe may take part of a large report at a time.
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}
