/**
 * Shared harness of the hub's WebSocket tests (tests/hub_*_test.ts): the
 * real Switzerland recording, a hub served by a real `Deno.serve`, a
 * protocol-checking WebSocket client, and a hand-made TCP WebSocket client
 * that reads only when asked (slow consumers, Origin checks).
 *
 * @module
 */
import { decode as msgpackDecode } from "@msgpack/msgpack";
import { Registry } from "prom-client";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import type { OpenSkyReply } from "../contracts/opensky.ts";
import { BINARY_SUBPROTOCOL, ServerMessage } from "../contracts/ws.ts";
import { FlightView } from "../lib/hub/view.ts";
import { BinaryDecoder, dequantise, quantise } from "../lib/hub/v2/mod.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { parseRecordingLine } from "../lib/replay/recording.ts";
import { Hub, type HubConfig, type HubOptions } from "../services/web/hub.ts";
import {
  type HubSource,
  type RelaySourceOptions,
  startRelaySource,
} from "../services/web/hub_sources.ts";

/** The recording's snapshots, in order (180, 10 s apart). */
export const replies: OpenSkyReply[] = Deno.readTextFileSync(
  new URL("../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl", import.meta.url),
).split("\n").filter((l) => l.trim()).map((line) => {
  const parsed = parseRecordingLine(line);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.reply;
});
/** Time of the first snapshot, unix s. */
export const T0 = replies[0]!.time;

/**
 * Snapshot `k` of the recording as flights, times shifted by `shift` s. With
 * `copies` > 1 each aircraft is copied under new icao24 addresses: derived
 * copies for load, so that a client that does not read fills its socket fast.
 */
export function flightsCopiesForLoad(k: number, shift: number, copies = 1): Flight[] {
  return (replies[k]!.states ?? []).flatMap((row) => {
    const r = stateVectorToFlight(row, { shiftSeconds: shift });
    if (!r.ok) return [];
    return Array.from({ length: copies }, (_, i) => ({
      ...r.flight,
      icao24: i === 0
        ? r.flight.icao24
        : `${i.toString(16).padStart(2, "0")}${r.flight.icao24.slice(2)}`,
    }));
  });
}

/** Hub clock: wall clock plus an offset the test moves (replay at speed, ageing data). */
export class Clock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
}

export const BASE_CONFIG: HubConfig = {
  WS_DELTA_INTERVAL_MS: 50,
  WS_STALE_THRESHOLD_SECONDS: 60,
  WS_MAX_CLIENTS: 100,
  WS_MAX_BUFFERED_BYTES: 4 * 1024 * 1024,
  WS_ALLOWED_ORIGINS: [],
  ANOMALY_WINDOW_HOURS: 24,
};

export interface Served {
  hub: Hub;
  registry: Registry;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function serveHub(
  options: Partial<Omit<HubOptions, "config">> & { config?: Partial<HubConfig>; port?: number } =
    {},
): Served {
  const registry = new Registry();
  const hub = new Hub({
    logger: { info() {}, warn() {} },
    ...options,
    config: { ...BASE_CONFIG, ...options.config },
    registry,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    (req) => hub.handleUpgrade(req),
  );
  hub.start();
  return {
    hub,
    registry,
    port: server.addr.port,
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    async close() {
      await hub.stop();
      await server.shutdown();
    },
  };
}

/**
 * A hub in relay mode (not ready until it has synced) fed from `upstreamUrl`
 * by the real relay source, quiet unless `relay.logger` is given.
 */
export function serveRelay(
  upstreamUrl: string,
  options: {
    hub?: Parameters<typeof serveHub>[0];
    relay?: Omit<RelaySourceOptions, "upstreamUrl">;
  } = {},
): { relayed: Served; relay: HubSource } {
  const relayed = serveHub({ ...options.hub, source: { kind: "relay", ready: false } });
  const relay = startRelaySource(relayed.hub, {
    logger: { info() {}, warn() {} },
    ...options.relay,
    upstreamUrl,
  });
  return { relayed, relay };
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
) {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []).filter((v) =>
    Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)
  ).reduce((sum, v) => sum + v.value, 0);
}

export const byId = (a: Flight, b: Flight) => a.icao24.localeCompare(b.icao24);

/**
 * A real WebSocket client: validates every message, keeps the view that
 * snapshot + deltas give. With `skysentinel.v2.bin` it decodes binary frames
 * with the codec's stateful decoder (lib/hub/v2/) and counts its bytes.
 */
export class TestClient {
  readonly socket: WebSocket;
  readonly received: ServerMessage[] = [];
  readonly view = new FlightView();
  readonly binary = new BinaryDecoder();
  /** Payload bytes received (UTF-8 for text frames). */
  bytes = 0;
  /** Seq gaps, deltas before a snapshot, invalid messages. */
  readonly violations: string[] = [];
  deltas = 0;
  readonly closed: Promise<CloseEvent>;
  #cursor = 0;

  constructor(url: string, protocols?: string[]) {
    this.socket = new WebSocket(url, protocols);
    this.socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => this.socket.addEventListener("close", resolve));
    this.socket.onmessage = (e) => this.#onMessage(e.data);
  }

  /** Sends a string or bytes as they are, anything else as JSON. */
  send(message: unknown): void {
    if (typeof message === "string") this.socket.send(message);
    else if (message instanceof Uint8Array) this.socket.send(new Uint8Array(message));
    else this.socket.send(JSON.stringify(message));
  }

  /** Makes the next `next` look only at messages received from now on. */
  skipReceived(): void {
    this.#cursor = this.received.length;
  }

  /** The next message of `type` after the previous `next` result. */
  async next<T extends ServerMessage["type"]>(
    type: T,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    let found: ServerMessage | undefined;
    await waitFor(() => {
      while (!found && this.#cursor < this.received.length) {
        const m = this.received[this.#cursor++]!;
        if (m.type === type) found = m;
      }
      return found !== undefined;
    }, `a ${type} message`);
    return found as Extract<ServerMessage, { type: T }>;
  }

  /**
   * True when the view holds exactly these flights (same states; for a
   * v2.bin client, the states as quantised on the wire).
   */
  sees(flights: Flight[]): boolean {
    if (this.socket.protocol === BINARY_SUBPROTOCOL) flights = flights.map(requantise);
    const mine = [...this.view.flights.values()].sort(byId);
    return mine.length === flights.length &&
      [...flights].sort(byId).every((f, i) => JSON.stringify(f) === JSON.stringify(mine[i]));
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }

  #onMessage(data: unknown): void {
    let raw: unknown;
    this.bytes += typeof data === "string"
      ? new TextEncoder().encode(data).length
      : (data as ArrayBuffer).byteLength;
    if (typeof data === "string") raw = JSON.parse(data);
    else if (this.socket.protocol === BINARY_SUBPROTOCOL) {
      try {
        raw = this.binary.decode(new Uint8Array(data as ArrayBuffer));
      } catch (error) {
        return void this.violations.push(`bad binary frame: ${(error as Error).message}`);
      }
    } else raw = msgpackDecode(data as ArrayBuffer);
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) {
      return void this.violations.push(`invalid: ${JSON.stringify(raw).slice(0, 200)}`);
    }
    const m = parsed.data;
    this.received.push(m);
    if (m.type === "delta") this.deltas++;
    if (m.type === "snapshot" || m.type === "delta") {
      const change = this.view.apply(m);
      if (!change.ok) {
        this.violations.push(`${change.reason}: expected ${change.expected}, got ${change.got}`);
      }
    }
  }
}

/** A flight as a v2.bin client holds it (quantised on the wire). */
export const requantise = (f: Flight): Flight => dequantise(quantise(f));

export async function connect(url: string, protocols?: string[]): Promise<TestClient> {
  const client = new TestClient(url, protocols);
  await client.next("hello");
  return client;
}

/** A WebSocket client made by hand over TCP: it reads only when asked to. */
export async function rawConnect(port: number, headers: Record<string, string> = {}) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(new TextEncoder().encode(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${btoa("skysentinel-test")}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  ));
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(256 * 1024);
  const fill = async () => {
    const n = await conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
    return true;
  };
  let end = -1;
  while (end < 0 && await fill()) end = new TextDecoder().decode(buffer).indexOf("\r\n\r\n");
  const status = Number(new TextDecoder().decode(buffer.subarray(0, 12)).split(" ")[1]);
  buffer = buffer.subarray(end + 4);
  /** Reads server frames (unmasked) until `stop` says so; null at close. */
  const readUntil = async (stop: (m: ServerMessage) => boolean): Promise<ServerMessage | null> => {
    while (true) {
      while (buffer.length >= 2) {
        const opcode = buffer[0]! & 0x0f;
        let len = buffer[1]! & 0x7f;
        let offset = 2;
        if (len === 126) [len, offset] = [(buffer[2]! << 8) | buffer[3]!, 4];
        else if (len === 127) {
          [len, offset] = [
            Number(new DataView(buffer.buffer, buffer.byteOffset + 2).getBigUint64(0)),
            10,
          ];
        }
        if (buffer.length < offset + len) break;
        const payload = buffer.subarray(offset, offset + len);
        buffer = buffer.subarray(offset + len);
        if (opcode === 8) return null;
        if (opcode === 1 || opcode === 2) {
          const m = ServerMessage.parse(
            opcode === 1 ? JSON.parse(new TextDecoder().decode(payload)) : msgpackDecode(payload),
          );
          if (stop(m)) return m;
        }
      }
      if (!await fill()) return null;
    }
  };
  return { conn, status, readUntil };
}

/** Plays recording snapshots into a hub directly, with times shifted to now and the clock moved along. */
export class Replayer {
  readonly #hub: Hub;
  readonly #clock: Clock;
  /** Seconds added to the recording's times. */
  readonly shift: number = Math.floor(Date.now() / 1000) - T0;

  constructor(hub: Hub, clock: Clock) {
    this.#hub = hub;
    this.#clock = clock;
  }

  /**
   * Snapshot `k` (with `copies` derived copies for load per aircraft), played
   * at T0 + 10 k s; past the end the recording loops, later in time.
   */
  play(k: number, copies = 1): Flight[] {
    this.#clock.offsetMs = k * 10_000;
    const lap = Math.floor(k / replies.length);
    const shift = this.shift + lap * replies.length * 10;
    const flights = flightsCopiesForLoad(k % replies.length, shift, copies);
    for (const f of flights) this.#hub.ingest(f);
    return flights;
  }
}

/** True once the hub's last tick holds every one of `flights` (ingest is committed by the tick). */
export function landed(hub: Hub, flights: Flight[]): boolean {
  const state = new Map(hub.snapshot().map((f) => [f.icao24, f]));
  return flights.every((f) => state.get(f.icao24)?.last_contact_unix === f.last_contact_unix);
}

/** An anomaly event for the one holding of the TRA051 recording (fixtures/README.md), 20 min ago. */
export const HOLDING: AnomalyEvent = {
  id: "484506-holding-1527695032",
  kind: "holding",
  severity: "warning",
  icao24: "484506",
  callsign: "TRA051",
  started_at: new Date(Date.now() - 20 * 60_000).toISOString(),
  ended_at: null,
  position: { lat: 52.19, lon: 6.39, altitude_m: 2650 },
  evidence: { turn_deg: 645 },
};
