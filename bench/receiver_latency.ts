/**
 * Receiver-to-browser latency on the real path: a local Beast (default) or
 * SBS (`--sbs`) receiver on TCP plays a track DERIVED from the real EZY158T
 * 1 s OpenSky recording at its real pace; the producer decodes it
 * (SOURCES=beast://...) and publishes through its outbox to real Kafka
 * (KAFKA_BROKERS, topics of this run's own); the web server's hub reads
 * flights.state from Kafka on a bus of its own (as the web process does) and
 * serves /ws (WS_DELTA_INTERVAL_MS 200, the default); a WebSocket client on
 * `skysentinel.v2.bin` decodes the frames with the shared lib/hub/v2 decoder
 * and measures, for every track point, the time from the receiver writing it
 * to the client receiving the aircraft at that position, and how far that
 * position is from the recording.
 *
 * Comparisons in the same run:
 * - the same receiver through the in-process MemoryBus and `skysentinel.v1.json`
 *   (the embedded stack's path: what Kafka and the binary codec add);
 * - baseline: the same track through readsb's aircraft.json (rewritten every
 *   second, as readsb does, polled every second by the producer, as tar1090
 *   polls it), on the Kafka + v2.bin path: what a tar1090 user sees, one file
 *   write and one poll behind.
 *
 * Targets (issue 12): position within 10 m of the track; p99 latency at most
 * 1.5 s, on the Kafka path.
 *
 * `deno task bench:receiver [--sbs] [--seconds N] [--no-baseline] [--no-memory]`
 * (without KAFKA_BROKERS only the memory path runs, and it says so).
 *
 * @module
 */
import { TOPICS } from "../contracts/topics.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus } from "../lib/bus/types.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { haversineM } from "../lib/geo/sphere.ts";
import { BinaryDecoder } from "../lib/hub/v2/mod.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { startBusSource } from "../services/web/hub_sources.ts";
import { serveHub } from "../tests/_hub_harness.ts";
import {
  aircraftJsonFor,
  beastChunks,
  derivedTrack,
  sbsChunks,
  startJsonServer,
  startTcpFeed,
} from "../tests/_receiver_feeds.ts";

type Kind = "beast" | "sbs" | "aircraft_json";
type Path = "kafka+v2.bin" | "memory+v1.json";

const secondsArg = Deno.args.indexOf("--seconds");
const seconds = secondsArg >= 0 ? Number(Deno.args[secondsArg + 1]) : 40;
const kind: Kind = Deno.args.includes("--sbs") ? "sbs" : "beast";
const brokers = (Deno.env.get("KAFKA_BROKERS") ?? "").split(",").map((b) => b.trim()).filter(
  Boolean,
);
// Start in the approach (descending, turning) rather than in straight cruise.
const track = await derivedTrack(undefined, { from: 600, limit: seconds });
const icao = track[0]!.icao24;

interface Result {
  kind: Kind;
  path: Path;
  seen: number;
  unmatched: number;
  latencies: number[];
  errors: number[];
}

/** This run's own topics on the shared broker (other benchmarks and tests use theirs). */
function runTopics() {
  const run = `bench.receiver.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return {
    state: `${run}.state`,
    updates: `${run}.updates`,
    deadletter: `${run}.deadletter`,
    anomalies: `${run}.anomalies`,
    alerts: `${run}.alerts`,
  };
}

async function run(kind: Kind, path: Path): Promise<Result> {
  const topics = runTopics();
  let producerBus: Bus;
  let webBus: Bus;
  if (path === "kafka+v2.bin") {
    producerBus = await openBus({ brokers, clientId: "bench-receiver-producer" });
    webBus = await openBus({ brokers, clientId: "bench-receiver-web" });
    await producerBus.ensureTopics([
      { ...TOPICS.state, name: topics.state },
      { ...TOPICS.updates, name: topics.updates },
      { ...TOPICS.deadletter, name: topics.deadletter },
      { ...TOPICS.anomalies, name: topics.anomalies },
      { ...TOPICS.alerts, name: topics.alerts },
    ]);
  } else {
    producerBus = webBus = new MemoryBus();
    await producerBus.ensureTopics([
      { ...TOPICS.state, name: topics.state },
      { ...TOPICS.updates, name: topics.updates },
      { ...TOPICS.deadletter, name: topics.deadletter },
      { ...TOPICS.anomalies, name: topics.anomalies },
      { ...TOPICS.alerts, name: topics.alerts },
    ]);
  }
  const served = serveHub({ config: { WS_DELTA_INTERVAL_MS: 200 } });
  const source = await startBusSource(served.hub, webBus, {
    anomalyWindowHours: 24,
    topics,
    logger: { info() {}, warn() {} },
  });
  const sentAt = new Map<number, number>();
  let sent = 0;
  let stopFeed: () => Promise<void>;
  let url: string;
  if (kind === "aircraft_json") {
    // readsb rewrites aircraft.json every second; a point is "sent" when it lands in the file.
    let current = -1;
    const timer = setInterval(() => {
      if (current + 1 >= track.length) return;
      current++;
      sentAt.set(current, Date.now());
      sent = current + 1;
    }, 1000);
    const server = startJsonServer(() =>
      aircraftJsonFor(current < 0 ? [] : [track[current]!], Date.now(), () => ({
        seen_pos: 0,
        seen: 0,
      }))
    );
    url = `${server.url}/data/aircraft.json`;
    stopFeed = async () => {
      clearInterval(timer);
      await server.close();
    };
  } else {
    const feed = startTcpFeed({
      chunks: kind === "sbs" ? sbsChunks(track, Date.now()) : beastChunks(track),
      intervalMs: 1000,
      onSent: (i, at) => {
        sentAt.set(i, at);
        sent = i + 1;
      },
    });
    url = `${kind}://127.0.0.1:${feed.port}`;
    stopFeed = () => feed.close();
  }
  const producer = await startProducer({
    config: parseProducerConfig({ SOURCES: url, RECEIVER_LAT: "43.629", RECEIVER_LON: "1.364" }),
    bus: producerBus,
    topics,
    ensureTopics: false,
    log: silentLogger,
  });

  const result: Result = { kind, path, seen: 0, unmatched: 0, latencies: [], errors: [] };
  const matched = new Set<number>();
  const binary = new BinaryDecoder();
  const ws = new WebSocket(
    served.url,
    [path === "kafka+v2.bin" ? "skysentinel.v2.bin" : "skysentinel.v1.json"],
  );
  ws.binaryType = "arraybuffer";
  ws.onmessage = (ev) => {
    const now = Date.now();
    const msg = typeof ev.data === "string"
      ? JSON.parse(ev.data)
      : binary.decode(new Uint8Array(ev.data as ArrayBuffer));
    const flights = msg.type === "snapshot" ? msg.flights : msg.type === "delta" ? msg.upserts : [];
    for (const f of flights as { icao24: string; position: { lat: number; lon: number } }[]) {
      if (f.icao24 !== icao) continue;
      // The track point this position is: the nearest one already sent.
      let best = -1;
      let bestM = Infinity;
      for (const [i] of sentAt) {
        const d = haversineM(track[i]!.position, f.position);
        if (d < bestM) [best, bestM] = [i, d];
      }
      if (best < 0 || bestM > 50) {
        result.unmatched++;
        continue;
      }
      if (matched.has(best)) continue;
      matched.add(best);
      result.errors.push(bestM);
      result.latencies.push(now - sentAt.get(best)!);
    }
  };
  await new Promise((r) => (ws.onopen = r));
  while (sent < track.length) await new Promise((r) => setTimeout(r, 250));
  await new Promise((r) => setTimeout(r, 2500));
  ws.close();
  await producer.stop();
  await source.stop();
  await served.close();
  await stopFeed();
  await producerBus.close();
  if (webBus !== producerBus) await webBus.close();
  result.seen = matched.size;
  return result;
}

function quantile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function report(r: Result): void {
  const max = Math.max(...r.errors);
  const mean = r.errors.reduce((a, b) => a + b, 0) / r.errors.length;
  console.log(
    `${r.kind} via ${r.path}: ${r.seen} of ${track.length} points seen on /ws (unmatched ${r.unmatched})`,
  );
  console.log(
    `  receiver-to-browser latency ms: p50 ${quantile(r.latencies, 0.5)}  p90 ${
      quantile(r.latencies, 0.9)
    }  p99 ${quantile(r.latencies, 0.99)}  max ${Math.max(...r.latencies)}`,
  );
  console.log(`  position error vs track m: max ${max.toFixed(2)}  mean ${mean.toFixed(2)}`);
}

function verdict(r: Result): void {
  const p99 = quantile(r.latencies, 0.99);
  const maxErr = Math.max(...r.errors);
  console.log(
    `  target p99 <= 1500 ms: ${p99 <= 1500 ? "met" : "NOT met"}; position <= 10 m: ${
      maxErr <= 10 ? "met" : "NOT met"
    }; points seen ${r.seen}/${track.length}`,
  );
}

const ratio = (a: Result, b: Result, p: number) =>
  (quantile(a.latencies, p) / quantile(b.latencies, p)).toFixed(2);

console.log(`receiver_latency: ${track.length} track points (EZY158T_derived, 1 s)`);
if (brokers.length === 0) {
  console.log("KAFKA_BROKERS is unset: only the in-process memory path runs (not the target path)");
  const memory = await run(kind, "memory+v1.json");
  report(memory);
  verdict(memory);
} else {
  const main = await run(kind, "kafka+v2.bin");
  report(main);
  verdict(main);
  if (!Deno.args.includes("--no-memory")) {
    const memory = await run(kind, "memory+v1.json");
    console.log("same receiver, in-process MemoryBus and v1.json (embedded stack):");
    report(memory);
    console.log(
      `  Kafka + v2.bin over memory + json: p50 x${ratio(main, memory, 0.5)}  p99 x${
        ratio(main, memory, 0.99)
      }`,
    );
  }
  if (!Deno.args.includes("--no-baseline")) {
    const base = await run("aircraft_json", "kafka+v2.bin");
    console.log("baseline (readsb aircraft.json written every 1 s, polled every 1 s), same path:");
    report(base);
    console.log(
      `  ${kind} is faster than the baseline by: p50 x${ratio(base, main, 0.5)}  p99 x${
        ratio(base, main, 0.99)
      }`,
    );
  }
}
