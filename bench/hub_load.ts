/**
 * Load benchmark of the WebSocket hub: the real Switzerland recording scaled
 * to ~10,000 aircraft by copying its tracks under new icao24 addresses
 * (derived copies for load, spread over the globe), fed into a hub at the
 * recording's rhythm compressed in time, with 500 WebSocket clients on
 * loopback in a second Deno process (a few with filters). For JSON and
 * MessagePack it prints delivered update latency (p50/p99, from ingest of a
 * poll to its arrival at a client) and bytes per client per second, against
 * a baseline that sends every client the full snapshot every tick (built
 * here, not in the hub; encoded once per filter and encoding, with the same
 * buffered-bytes shedding).
 *
 * ```
 * deno run -A bench/hub_load.ts [--clients=500] [--aircraft=10000] [--seconds=30]
 *   [--speed=2] [--modes=hub,baseline] [--encodings=json,msgpack]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import type { Flight } from "../contracts/flight.ts";
import {
  JSON_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  type ServerMessage,
  type Subscription,
} from "../contracts/ws.ts";
import { EncodedMessage, type Encoding } from "../lib/hub/codec.ts";
import { compileFilter, subscriptionKey } from "../lib/hub/filter.ts";
import { FlightView } from "../lib/hub/view.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { parseRecordingLine } from "../lib/replay/recording.ts";
import { Hub } from "../services/web/hub.ts";
import { decode as msgpackDecode } from "@msgpack/msgpack";

const RECORDING = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
);
const TICK_MS = 200;
const MAX_BUFFERED = 4 * 1024 * 1024;

// --- data: derived copies for load -------------------------------------------------

/**
 * The recording with each aircraft copied `copies` times under new icao24
 * addresses (`1xxxxx`), each copy moved by a fixed offset so the copies
 * spread over the globe; callsigns and altitudes stay real.
 */
export class SwitzerlandCopiesForLoad {
  readonly copies: number;
  /** Unix time of the recording's first snapshot. */
  readonly start: number;
  readonly #rows: unknown[][][];
  readonly #index = new Map<string, number>();

  constructor(options: { aircraft: number }) {
    const replies = Deno.readTextFileSync(RECORDING).split("\n").filter((l) => l.trim())
      .map((line) => {
        const parsed = parseRecordingLine(line);
        if (!parsed.ok) throw new Error(parsed.reason);
        return parsed.reply;
      });
    this.#rows = replies.map((r) => (r.states ?? []) as unknown[][]);
    this.start = replies[0]!.time;
    for (const row of this.#rows.flat()) {
      if (!this.#index.has(String(row[0]))) this.#index.set(String(row[0]), this.#index.size);
    }
    this.copies = Math.ceil(options.aircraft / Math.max(...this.#rows.map((r) => r.length)));
  }

  /** Snapshot `k` (looping, later in time on each lap) as flights, times shifted by `shift` s. */
  batch(k: number, shift: number): Flight[] {
    const n = this.#rows.length;
    const lapShift = shift + Math.floor(k / n) * n * 10;
    const out: Flight[] = [];
    for (const row of this.#rows[k % n]!) {
      const r = stateVectorToFlight(row, { shiftSeconds: lapShift });
      if (!r.ok) continue;
      const original = this.#index.get(String(row[0]))!;
      for (let c = 0; c < this.copies; c++) {
        const f = r.flight;
        const lat = Math.max(-89, Math.min(89, f.position.lat + ((c % 7) - 3) * 8));
        const lon = ((f.position.lon + Math.floor(c / 7) * 11.7 + 540) % 360) - 180;
        out.push({
          ...f,
          icao24: (0x100000 + c * this.#index.size + original).toString(16),
          position: { lat, lon },
        });
      }
    }
    return out;
  }
}

/** Filters of the few filtered clients; the rest subscribe to everything. */
const FILTERS: Subscription[] = [
  ...Array.from(
    { length: 8 },
    () => ({ bbox: [35, -10, 60, 30] as [number, number, number, number] }),
  ),
  ...Array.from({ length: 6 }, () => ({ callsign_prefix: "EZY" })),
  ...Array.from({ length: 6 }, () => ({ min_altitude_m: 11_000 })),
];

// --- server side ---------------------------------------------------------------------

interface Target {
  ingest(flights: Flight[]): void;
  /** Seq of the tick that will carry what was just ingested. */
  nextSeq(): number;
  /** When the tick timer started, unix ms. */
  tickZero: number;
  handle(req: Request): Response;
  figures(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function hubTarget(now: () => number): Target {
  const registry = new Registry();
  const hub = new Hub({
    config: {
      WS_DELTA_INTERVAL_MS: TICK_MS,
      WS_STALE_THRESHOLD_SECONDS: 60,
      WS_MAX_CLIENTS: 100_000,
      WS_MAX_BUFFERED_BYTES: MAX_BUFFERED,
      WS_ALLOWED_ORIGINS: [],
      ANOMALY_WINDOW_HOURS: 24,
    },
    registry,
    now,
    logger: { info() {}, warn() {} },
  });
  const tickZero = Date.now();
  hub.start();
  return {
    tickZero,
    ingest: (flights) => {
      for (const f of flights) hub.ingest(f);
    },
    nextSeq: () => hub.stats().seq + 1,
    handle: (req) => hub.handleUpgrade(req),
    async figures() {
      const values = (await registry.getSingleMetric("hub_tick_duration_seconds")!.get())
        .values as { metricName?: string; value: number }[];
      const get = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
      const [sum, count] = [
        get("hub_tick_duration_seconds_sum"),
        get("hub_tick_duration_seconds_count"),
      ];
      return { ticks: count, tick_ms_mean: (sum / Math.max(1, count)) * 1000 };
    },
    stop: () => hub.stop(),
  };
}

/** The baseline: the full (filtered) snapshot to every client every tick. */
function baselineTarget(): Target {
  const cache = new Map<string, Flight>();
  const clients = new Set<{ socket: WebSocket; encoding: Encoding; filter: Subscription }>();
  let seq = 0;
  let ticks = 0;
  let tickMs = 0;
  const tickZero = Date.now();
  const timer = setInterval(() => {
    const started = performance.now();
    seq++;
    const groups = new Map<string, EncodedMessage>();
    for (const c of clients) {
      if (c.socket.readyState !== WebSocket.OPEN || c.socket.bufferedAmount > MAX_BUFFERED) {
        continue;
      }
      const key = subscriptionKey(c.filter);
      let message = groups.get(key);
      if (!message) {
        const match = compileFilter(c.filter);
        const flights = [...cache.values()].filter(match);
        message = new EncodedMessage({
          type: "snapshot",
          seq,
          server_time_ms: Date.now(),
          flights,
        });
        groups.set(key, message);
      }
      c.socket.send(message.frame(c.encoding));
    }
    ticks++;
    tickMs += performance.now() - started;
  }, TICK_MS);
  return {
    tickZero,
    ingest: (flights) => {
      for (const f of flights) cache.set(f.icao24, f);
    },
    nextSeq: () => seq + 1,
    handle(req) {
      const offered = req.headers.get("sec-websocket-protocol") ?? "";
      const encoding: Encoding = offered.includes("msgpack") ? "msgpack" : "json";
      const { socket, response } = Deno.upgradeWebSocket(req, {
        protocol: encoding === "msgpack" ? MSGPACK_SUBPROTOCOL : JSON_SUBPROTOCOL,
      });
      const client = { socket, encoding, filter: {} as Subscription };
      socket.onmessage = (e) => {
        const m = JSON.parse(String(e.data));
        if (m.type === "subscribe") client.filter = m.filter;
      };
      socket.onopen = () => clients.add(client);
      socket.onclose = () => clients.delete(client);
      return response;
    },
    figures: () => Promise.resolve({ ticks, tick_ms_mean: tickMs / Math.max(1, ticks) }),
    stop() {
      clearInterval(timer);
      for (const c of clients) c.socket.close(1000);
      return Promise.resolve();
    },
  };
}

interface RunOptions {
  mode: "hub" | "baseline";
  encoding: Encoding;
  clients: number;
  seconds: number;
  speed: number;
}

async function runConfiguration(data: SwitzerlandCopiesForLoad, o: RunOptions) {
  const startMs = Date.now();
  // Data time runs `speed` times faster than the wall clock; the hub's clock follows it.
  const dataNow = () => startMs + (Date.now() - startMs) * o.speed;
  const shift = Math.floor(startMs / 1000) - data.start;
  const target = o.mode === "hub" ? hubTarget(dataNow) : baselineTarget();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, target.handle);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "--role=clients",
      `--url=ws://127.0.0.1:${server.addr.port}/ws`,
      `--encoding=${o.encoding}`,
      `--clients=${o.clients}`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
    .getReader();
  const writer = child.stdin.getWriter();
  const say = (obj: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(obj) + "\n"));
  const ready = await lines.read();
  if (ready.value !== "ready") throw new Error(`client process: ${ready.value}`);

  let rssPeak = 0;
  let k = 0;
  await say({ start: Date.now() });
  const measureFrom = Date.now();
  const feedEvery = 10_000 / o.speed;
  const feed = async () => {
    const flights = data.batch(k++, shift);
    const seq = target.nextSeq();
    const t = Date.now();
    target.ingest(flights);
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    await say({ seq, t, n: flights.length });
  };
  // Polls come at the recording's rhythm. A producer is not synchronised with the ticks, and
  // with a handful of polls per run random phases would dominate the latency figures: poll i
  // comes at a phase spread evenly over the tick interval (golden ratio), the same in every mode.
  let feeding = true;
  let feeder: ReturnType<typeof setTimeout> | undefined;
  const phased = (at: number, i: number) => {
    const base = at - ((at - target.tickZero) % TICK_MS);
    return base + ((i * 0.6180339887) % 1) * TICK_MS;
  };
  const schedule = (at: number, i: number) => {
    feeder = setTimeout(async () => {
      await feed();
      if (feeding) schedule(at + feedEvery, i + 1);
    }, Math.max(0, phased(at, i) - Date.now()));
  };
  schedule(Date.now() + TICK_MS, 0);
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  feeding = false;
  clearTimeout(feeder);
  // Let the last poll arrive (bounded), then ask for the figures.
  await new Promise((r) => setTimeout(r, 2_000));
  await say({ end: Date.now(), window_s: (Date.now() - measureFrom) / 1000 });
  const result = JSON.parse((await lines.read()).value ?? "{}");
  await writer.close();
  await child.status;
  const figures = await target.figures();
  await target.stop();
  await server.shutdown();
  return { ...o, ...result, ...figures, server_rss_mb: rssPeak / 1e6 };
}

// --- client side (second process) ------------------------------------------------------

/** seq of every snapshot and delta received with its arrival (unix ms); payload bytes measured. */
interface Receipts {
  seqs: number[];
  times: number[];
  bytes: number;
  filtered: boolean;
}

const SEQ_KEY = [0xa3, 0x73, 0x65, 0x71]; // MessagePack "seq"
const ascii = new TextDecoder("latin1");

/** seq from the first bytes of a snapshot or delta (JSON text or MessagePack), or null. */
function headSeq(head: Uint8Array, text: boolean): number | null {
  if (text) {
    const m = /^\{"type":"(?:delta|snapshot)","seq":(\d+)/.exec(ascii.decode(head));
    return m ? Number(m[1]) : null;
  }
  for (let i = 0; i + 5 < head.length; i++) {
    if (!SEQ_KEY.every((x, j) => head[i + j] === x)) continue;
    const v = new DataView(head.buffer, head.byteOffset + i + 4);
    const tag = v.getUint8(0);
    if (tag < 0x80) return tag;
    if (tag === 0xcc) return v.getUint8(1);
    if (tag === 0xcd) return v.getUint16(1);
    if (tag === 0xce) return v.getUint32(1);
    return null;
  }
  return null;
}

/**
 * A WebSocket client made by hand over TCP: a real handshake and real
 * frames, but it looks only at each frame's header and first bytes (for the
 * seq) and skips the rest, so 500 of them in one process cost little more
 * than the kernel's copies, and the figures measure the server.
 */
async function rawClient(url: URL, protocol: string, r: Receipts, measuring: () => boolean) {
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  await conn.write(new TextEncoder().encode(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${btoa("skysentinel-bench")}\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  ));
  const buf = new Uint8Array(256 * 1024);
  let response = "";
  let rest = new Uint8Array(0);
  while (!response.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during the handshake");
    response += ascii.decode(buf.subarray(0, n));
    const end = response.indexOf("\r\n\r\n");
    if (end >= 0) rest = buf.slice(end + 4, n);
  }
  if (!response.startsWith("HTTP/1.1 101")) throw new Error(response.split("\r\n")[0]);
  const header = new Uint8Array(10);
  const head = new Uint8Array(48);
  let headerLen = 0;
  let headerNeed = 2;
  let left = -1; // payload bytes left in the current frame; -1 while reading a header
  let length = 0;
  let headLen = 0;
  let opcode = 0;
  const frameDone = () => {
    if (opcode === 1 || opcode === 2) {
      if (measuring()) r.bytes += length;
      const seq = headSeq(head.subarray(0, headLen), opcode === 1);
      if (seq !== null) {
        r.seqs.push(seq);
        r.times.push(Date.now());
      }
    }
    left = -1;
  };
  const consume = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length) {
      if (left < 0) {
        header[headerLen++] = bytes[i++]!;
        if (headerLen === 2) {
          const len7 = header[1]! & 0x7f;
          headerNeed = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        }
        if (headerLen < headerNeed) continue;
        const view = new DataView(header.buffer);
        const len7 = header[1]! & 0x7f;
        length = headerNeed === 4
          ? view.getUint16(2)
          : headerNeed === 10
          ? Number(view.getBigUint64(2))
          : len7;
        opcode = header[0]! & 0x0f;
        [headerLen, headerNeed, headLen, left] = [0, 2, 0, length];
        if (left === 0) frameDone();
        continue;
      }
      const take = Math.min(left, bytes.length - i);
      const toHead = Math.min(take, head.length - headLen);
      if (toHead > 0) head.set(bytes.subarray(i, i + toHead), headLen);
      headLen += Math.max(0, toHead);
      left -= take;
      i += take;
      if (left === 0) frameDone();
    }
  };
  consume(rest);
  (async () => {
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        consume(buf.subarray(0, n));
      }
    } catch { /* closed */ }
  })();
  return {
    /** Sends a masked text frame (mask 0: the payload goes as is). */
    send: (text: string) => {
      const payload = new TextEncoder().encode(text);
      const frame = new Uint8Array(6 + payload.length);
      frame.set([0x81, 0x80 | payload.length, 0, 0, 0, 0]);
      frame.set(payload, 6);
      return conn.write(frame);
    },
    close: () => conn.close(),
  };
}

/** A real `WebSocket` that decodes everything and checks seq continuity, as a browser would. */
function probeClient(url: string, protocol: string, r: Receipts, measuring: () => boolean) {
  const view = new FlightView();
  const probe = { violations: 0, close: () => socket.close() };
  const socket = new WebSocket(url, [protocol]);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => {
    if (measuring()) r.bytes += typeof e.data === "string" ? e.data.length : e.data.byteLength;
    const m =
      (typeof e.data === "string" ? JSON.parse(e.data) : msgpackDecode(e.data)) as ServerMessage;
    if (m.type !== "snapshot" && m.type !== "delta") return;
    r.seqs.push(m.seq);
    r.times.push(Date.now());
    if (!view.apply(m).ok) probe.violations++;
  };
  return {
    probe,
    open: new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error("probe could not connect"));
    }),
    send: (text: string) => socket.send(text),
  };
}

async function runClients(url: string, encoding: Encoding, count: number) {
  const protocol = encoding === "msgpack" ? MSGPACK_SUBPROTOCOL : JSON_SUBPROTOCOL;
  const receipts: Receipts[] = [];
  const probes: { violations: number; close(): void }[] = [];
  const closers: (() => void)[] = [];
  let measuring = false;
  const isMeasuring = () => measuring;
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
      const index = i + j;
      const filter = index >= count - FILTERS.length ? FILTERS[count - 1 - index] : undefined;
      const r: Receipts = { seqs: [], times: [], bytes: 0, filtered: filter !== undefined };
      receipts.push(r);
      const subscribe = filter ? JSON.stringify({ type: "subscribe", filter }) : null;
      if (index % 250 === 0) {
        const p = probeClient(url, protocol, r, isMeasuring);
        probes.push(p.probe);
        closers.push(p.probe.close);
        await p.open;
        if (subscribe) p.send(subscribe);
      } else {
        const c = await rawClient(new URL(url), protocol, r, isMeasuring);
        closers.push(c.close);
        if (subscribe) await c.send(subscribe);
      }
    }));
  }
  console.log("ready");
  const batches: { seq: number; t: number }[] = [];
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
    lineSplitter(),
  );
  for await (const line of lines) {
    const msg = JSON.parse(line);
    if (msg.start) measuring = true;
    if (msg.seq) batches.push(msg);
    if (!msg.end) continue;
    measuring = false;
    const latencies: number[] = [];
    let undelivered = 0;
    for (const r of receipts) {
      for (const b of batches) {
        // The first snapshot or delta at or after the tick that carried the poll delivers it.
        const i = r.seqs.findIndex((s) => s >= b.seq);
        if (i < 0) undelivered++;
        else latencies.push(r.times[i]! - b.t);
      }
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    const unfiltered = receipts.filter((r) => !r.filtered);
    const sum = (rs: Receipts[]) => rs.reduce((n, r) => n + r.bytes, 0);
    console.log(JSON.stringify({
      latency_p50_ms: pct(0.5),
      latency_p99_ms: pct(0.99),
      deliveries: latencies.length,
      undelivered,
      bytes_per_client_s: sum(receipts) / receipts.length / msg.window_s,
      bytes_per_unfiltered_client_s: sum(unfiltered) / unfiltered.length / msg.window_s,
      probe_violations: probes.reduce((n, p) => n + p.violations, 0),
    }));
    for (const close of closers) close();
    break;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf("\n")) >= 0) {
        controller.enqueue(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
      }
    },
  });
}

// --- main -----------------------------------------------------------------------------

if (import.meta.main) {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      role: { type: "string", default: "server" },
      url: { type: "string" },
      encoding: { type: "string", default: "json" },
      clients: { type: "string", default: "500" },
      aircraft: { type: "string", default: "10000" },
      seconds: { type: "string", default: "30" },
      speed: { type: "string", default: "2" },
      modes: { type: "string", default: "hub,baseline" },
      encodings: { type: "string", default: "json,msgpack" },
    },
  });
  if (a.role === "clients") {
    await runClients(a.url!, a.encoding as Encoding, Number(a.clients));
    Deno.exit(0);
  }
  const data = new SwitzerlandCopiesForLoad({ aircraft: Number(a.aircraft) });
  console.error(
    `hub load: ${a.clients} clients (${FILTERS.length} filtered), ~${a.aircraft} aircraft ` +
      `(${data.copies} derived copies per recorded aircraft), polls every ${
        10 / Number(a.speed)
      } s ` +
      `(recording at ${a.speed}x), ${a.seconds} s per configuration, ticks every ${TICK_MS} ms`,
  );
  const rows = [];
  for (const mode of a.modes!.split(",") as RunOptions["mode"][]) {
    for (const encoding of a.encodings!.split(",") as Encoding[]) {
      console.error(`running ${mode} / ${encoding} ...`);
      const o = { mode, encoding, clients: Number(a.clients), seconds: Number(a.seconds) };
      const row = await runConfiguration(data, { ...o, speed: Number(a.speed) });
      rows.push({ ...row, needed: needed(data, mode, encoding, 10 / Number(a.speed)) });
    }
  }
  printTable(rows);
}

/** Bytes/s an unfiltered client must receive in `mode`, whether or not the machine keeps up. */
function needed(data: SwitzerlandCopiesForLoad, mode: string, encoding: Encoding, pollS: number) {
  const poll = data.batch(0, Math.floor(Date.now() / 1000) - data.start);
  const size = (m: ServerMessage) => new EncodedMessage(m).bytes(encoding);
  const t = Date.now();
  const ticksPerS = 1000 / TICK_MS;
  if (mode === "baseline") {
    return size({ type: "snapshot", seq: 1, server_time_ms: t, flights: poll }) * ticksPerS;
  }
  const delta = size({ type: "delta", seq: 1, server_time_ms: t, upserts: poll, removes: [] });
  const empty = size({ type: "delta", seq: 1, server_time_ms: t, upserts: [], removes: [] });
  return delta / pollS + empty * (ticksPerS - 1 / pollS);
}

function printTable(rows: Record<string, number | string>[]) {
  const kb = (v: number | string) => ((v as number) / 1024).toFixed(0);
  console.log(
    "| mode | encoding | latency p50 ms | p99 ms | KB/s per client | KB/s unfiltered client | " +
      "needed KB/s unfiltered | undelivered | tick ms mean | ticks | server RSS MB | probe gaps |",
  );
  console.log(`|${"---|".repeat(12)}`);
  for (const r of rows) {
    const cells = [
      r.mode,
      r.encoding,
      r.latency_p50_ms,
      r.latency_p99_ms,
      kb(r.bytes_per_client_s!),
      kb(r.bytes_per_unfiltered_client_s!),
      kb(r.needed!),
      `${r.undelivered}/${(r.deliveries as number) + (r.undelivered as number)}`,
      (r.tick_ms_mean as number).toFixed(1),
      r.ticks,
      (r.server_rss_mb as number).toFixed(0),
      r.probe_violations,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  for (const encoding of ["json", "msgpack"]) {
    const hub = rows.find((r) => r.mode === "hub" && r.encoding === encoding);
    const base = rows.find((r) => r.mode === "baseline" && r.encoding === encoding);
    if (!hub || !base) continue;
    const ratio = (k: string) => ((base[k] as number) / (hub[k] as number)).toFixed(1);
    console.log(
      `${encoding}: baseline / hub: ${ratio("needed")}x bytes needed, ${
        ratio("bytes_per_client_s")
      }x bytes delivered, ${ratio("latency_p50_ms")}x p50 and ${
        ratio("latency_p99_ms")
      }x p99 latency, ${ratio("tick_ms_mean")}x tick time`,
    );
  }
}
