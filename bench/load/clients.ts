/**
 * A load process of `deno task load`: holds its share of the clients and
 * reports what they received. Two kinds of WebSocket client:
 *
 * - header-only clients: a real handshake and real frames over TCP, made by
 *   hand so that they look only at each frame's head (kind, seq,
 *   server_time_ms; bench/load/frames.ts) and count bytes; they measure
 *   tick-to-receive (arrival minus the frame's server_time_ms) and seq gaps;
 * - probes: Deno's `WebSocket`, decoding every frame fully (v2.bin with the
 *   hub's BinaryDecoder, JSON, MessagePack) as a browser would, measuring
 *   ingest-to-receive per aircraft update: each upsert is keyed by its
 *   last_contact second and feed slice, and the orchestrator subtracts the
 *   server's ingest time of that part.
 *
 * In `poll` mode the clients are the tar1090-style baseline instead: each
 * fetches the 3° tiles of its view (or the world file) every second; probes
 * decompress the zstd tiles and read the 112-byte records to measure
 * ingest-to-receive the same way.
 *
 * Protocol: the first stdin line is the plan; then `{cmd:"measure"}`,
 * `{cmd:"report"}`, `{cmd:"stop"}`. Out: `{ready}`, `{report}`.
 *
 * @module
 */
import { decode as msgpackDecode } from "@msgpack/msgpack";
import { decompress, init as zstdInit } from "@bokuweb/zstd-wasm";
import type { Flight } from "../../contracts/flight.ts";
import { BinaryDecoder } from "../../lib/hub/v2/mod.ts";
import { BINCRAFT_RECORD_BYTES, tilesCovering } from "../../services/web/baseline_tiles.ts";
import { encodingOf, type LoadEncoding, readHead, SUBPROTOCOLS } from "./frames.ts";
import { emit, Histogram, jsonLines } from "./stats.ts";
import type { ClientPlan } from "./viewports.ts";

export interface LoadPlan {
  /** `ws://127.0.0.1:port/ws` */
  url: string;
  mode: "ws" | "poll";
  clients: ClientPlan[];
  /** Feed slices per second (to key updates to their ingest). */
  slices: number;
  /** First icao24 of the derived fleet, as an integer. */
  icaoFirst: number;
}

/** What one client received while measuring. */
interface Tally {
  plan: ClientPlan;
  /** Encoding the server answered with (may differ from the one asked). */
  served: LoadEncoding | null;
  bytes: number;
  frames: number;
  deltas: number;
  /** Deltas missed (seq gaps) and snapshots received while measuring. */
  gaps: number;
  snapshots: number;
  upserts: number;
  deltaBytes: number;
  closeCode: number | null;
  failed: string | null;
}

/** Probe receipts: `[key, count, arrival ms]`, key = second * slices + slice. */
type Receipt = [number, number, number];

let measuring = false;
const tickHist = new Map<LoadEncoding, Histogram>();
const receipts = new Map<string, Receipt[]>();
const latin1 = new TextDecoder("latin1");

function histOf(e: LoadEncoding): Histogram {
  let h = tickHist.get(e);
  if (!h) tickHist.set(e, h = new Histogram());
  return h;
}

function newTally(plan: ClientPlan): Tally {
  return {
    plan,
    served: null,
    bytes: 0,
    frames: 0,
    deltas: 0,
    gaps: 0,
    snapshots: 0,
    upserts: 0,
    deltaBytes: 0,
    closeCode: null,
    failed: null,
  };
}

function subscribeText(plan: ClientPlan): string | null {
  return plan.bbox ? JSON.stringify({ type: "subscribe", filter: { bbox: plan.bbox } }) : null;
}

/** A header-only WebSocket client over TCP. */
async function rawClient(url: URL, t: Tally): Promise<() => void> {
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: ${SUBPROTOCOLS[t.plan.encoding]}\r\n\r\n`,
  ));
  const buf = new Uint8Array(256 * 1024);
  let response = "";
  let rest = new Uint8Array(0);
  while (!response.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during the handshake");
    const before = response.length;
    response += latin1.decode(buf.subarray(0, n));
    const end = response.indexOf("\r\n\r\n");
    if (end >= 0) rest = buf.slice(end + 4 - before, n);
  }
  if (!response.startsWith("HTTP/1.1 101")) throw new Error(response.split("\r\n")[0]);
  const protocol = /sec-websocket-protocol:\s*([^\r\n]+)/i.exec(response)?.[1]?.trim();
  const served = encodingOf(protocol);
  t.served = served;
  const hist = histOf(served);
  const header = new Uint8Array(14);
  const head = new Uint8Array(96);
  let headerLen = 0;
  let headerNeed = 2;
  let left = -1;
  let length = 0;
  let headLen = 0;
  let opcode = 0;
  let lastSeq = -1;
  const frameDone = () => {
    const now = Date.now();
    if (opcode === 8) {
      t.closeCode = headLen >= 2 ? (head[0]! << 8) | head[1]! : 1005;
    } else if (opcode === 9) {
      // Answer the server's keep-alive ping (Deno closes sockets that do not) with its payload.
      const payload = head.slice(0, Math.min(headLen, 125));
      const pong = new Uint8Array(6 + payload.length);
      pong.set([0x8a, 0x80 | payload.length, 0, 0, 0, 0]);
      pong.set(payload, 6);
      conn.write(pong).catch(() => {});
    } else if (opcode === 1 || opcode === 2) {
      const h = readHead(head.subarray(0, headLen), served);
      if (h) {
        if (h.kind === "delta" && lastSeq >= 0 && h.seq !== lastSeq + 1 && measuring) {
          t.gaps += Math.max(1, h.seq - lastSeq - 1);
        }
        lastSeq = h.seq;
      }
      if (measuring) {
        t.bytes += length + headerNeed;
        t.frames++;
        if (h?.kind === "delta") {
          t.deltas++;
          hist.add(now - h.serverTimeMs);
        } else if (h?.kind === "snapshot") t.snapshots++;
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
        [headerLen, headLen, left] = [0, 0, length];
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
    t.closeCode ??= 1006;
  })();
  const sub = subscribeText(t.plan);
  if (sub) {
    const payload = new TextEncoder().encode(sub);
    const frame = new Uint8Array(6 + payload.length);
    frame.set([0x81, 0x80 | payload.length, 0, 0, 0, 0]); // mask 0: payload as is
    frame.set(payload, 6);
    await conn.write(frame);
  }
  return () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
}

/** Keys upserts by their ingest part and records their arrival. */
function keyer(plan: LoadPlan, out: Receipt[]) {
  return (flights: Flight[], arrival: number) => {
    const counts = new Map<number, number>();
    for (const f of flights) {
      const index = parseInt(f.icao24, 16) - plan.icaoFirst;
      if (index < 0) continue;
      const key = Math.round(f.last_contact_unix) * plan.slices + (index % plan.slices);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, count] of counts) out.push([key, count, arrival]);
  };
}

/** A fully decoding WebSocket client. */
function probeClient(plan: LoadPlan, t: Tally): Promise<() => void> {
  const out: Receipt[] = [];
  receipts.set(`${t.plan.encoding}|${t.plan.bbox ? "regional" : "world"}|${t.plan.id}`, out);
  const record = keyer(plan, out);
  const bin = new BinaryDecoder();
  const socket = new WebSocket(plan.url, [SUBPROTOCOLS[t.plan.encoding]]);
  socket.binaryType = "arraybuffer";
  let lastSeq = -1;
  socket.onmessage = (e) => {
    const arrival = Date.now();
    const size = typeof e.data === "string" ? e.data.length : e.data.byteLength;
    const served = t.served ?? "json";
    let m: { type: string; seq?: number; upserts?: Flight[]; flights?: Flight[] };
    try {
      m = served === "bin"
        ? bin.decode(new Uint8Array(e.data)) as typeof m
        : typeof e.data === "string"
        ? JSON.parse(e.data)
        : msgpackDecode(e.data) as typeof m;
    } catch {
      t.failed = "undecodable frame";
      return;
    }
    if (m.type === "delta" && lastSeq >= 0 && m.seq !== lastSeq + 1 && measuring) t.gaps++;
    if (m.seq !== undefined) lastSeq = m.seq;
    if (!measuring) return;
    t.bytes += size;
    t.frames++;
    if (m.type === "delta") {
      t.deltas++;
      t.deltaBytes += size;
      t.upserts += m.upserts!.length;
      record(m.upserts!, arrival);
    } else if (m.type === "snapshot") t.snapshots++;
  };
  socket.onclose = (e) => void (t.closeCode ??= e.code);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("probe: no open within 15 s"));
    }, 15_000);
    socket.onopen = () => {
      clearTimeout(timer);
      t.served = encodingOf(socket.protocol);
      const sub = subscribeText(t.plan);
      if (sub) socket.send(sub);
      resolve(() => socket.close());
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error("probe could not connect"));
    };
  });
}

/** A tar1090-style poller: its tiles (or the world file) every second. */
function poller(plan: LoadPlan, t: Tally): () => void {
  const base = plan.url.replace(/^ws/, "http").replace(/\/ws$/, "/bench/tiles");
  const ids = t.plan.bbox ? tilesCovering(t.plan.bbox).join(",") : "world";
  const out: Receipt[] = [];
  if (t.plan.probe) receipts.set(`tar1090|${t.plan.bbox ? "regional" : "world"}|${t.plan.id}`, out);
  const seen = new Map<number, number>();
  t.served = null;
  let stopped = false;
  const phase = (t.plan.id * 0.6180339887498949 % 1) * 1000;
  let inFlight = false;
  const once = async () => {
    if (stopped) return;
    // Like tar1090's timer: no new request while one is pending (counted as a gap).
    if (inFlight) {
      if (measuring) t.gaps++;
      return;
    }
    inFlight = true;
    try {
      const res = await fetch(`${base}?ids=${ids}`);
      const body = new Uint8Array(await res.arrayBuffer());
      const arrival = Date.now();
      if (!measuring) return;
      t.bytes += body.length;
      t.frames++;
      if (!t.plan.probe) return;
      const builtS = Number(res.headers.get("x-built-ms")) / 1000;
      const counts = new Map<number, number>();
      const view = new DataView(body.buffer);
      for (let at = 0; at + 4 <= body.length;) {
        const len = view.getUint32(at, true);
        const raw = decompress(body.subarray(at + 4, at + 4 + len));
        at += 4 + len;
        const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        for (let r = 0; r + BINCRAFT_RECORD_BYTES <= raw.length; r += BINCRAFT_RECORD_BYTES) {
          const addr = rv.getUint32(r, true);
          const second = Math.round(builtS - rv.getUint32(r + 4, true) / 10);
          if (seen.get(addr) === second) continue; // polled again before it changed
          seen.set(addr, second);
          t.upserts++;
          const key = second * plan.slices + ((addr - plan.icaoFirst) % plan.slices);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
      for (const [key, count] of counts) out.push([key, count, arrival]);
    } catch (error) {
      t.failed = (error as Error).message;
    } finally {
      inFlight = false;
    }
  };
  let timer: ReturnType<typeof setTimeout>;
  const loop = () => {
    const next = 1000 - ((Date.now() - phase) % 1000);
    timer = setTimeout(() => {
      once();
      loop();
    }, next);
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

if (import.meta.main) {
  const lines = jsonLines(Deno.stdin.readable);
  const plan = (await lines.next()).value as LoadPlan;
  if (plan.mode === "poll") await zstdInit();
  const tallies: Tally[] = [];
  const closers: (() => void)[] = [];
  // Connect in waves, so the server's accept queue is not the thing measured.
  const started = performance.now();
  let told = started;
  for (let i = 0; i < plan.clients.length; i += 50) {
    // A long connect phase says so (a busy server answers handshakes slowly).
    if (performance.now() - told > 10_000) {
      told = performance.now();
      console.error(
        `load process ${Deno.pid}: ${i} of ${plan.clients.length} clients connected after ${
          ((told - started) / 1000).toFixed(0)
        } s`,
      );
    }
    await Promise.all(
      plan.clients.slice(i, i + 50).map(async (c) => {
        const t = newTally(c);
        tallies.push(t);
        try {
          if (plan.mode === "poll") closers.push(poller(plan, t));
          else if (c.probe) closers.push(await probeClient(plan, t));
          else closers.push(await rawClient(new URL(plan.url), t));
        } catch (error) {
          t.failed = (error as Error).message;
        }
      }),
    );
  }
  emit({ ready: true, clients: tallies.length });
  for await (const line of lines) {
    const cmd = (line as { cmd: string }).cmd;
    if (cmd === "measure") {
      measuring = true;
    } else if (cmd === "report") {
      measuring = false;
      emit({
        report: {
          tallies: tallies.map((t) => ({ ...t, plan: undefined, id: t.plan.id })),
          tick: Object.fromEntries([...tickHist].map(([e, h]) => [e, h.toJSON()])),
          receipts: Object.fromEntries(receipts),
        },
      });
    } else if (cmd === "stop") {
      for (const close of closers) close();
      break;
    }
  }
  Deno.exit(0);
}
