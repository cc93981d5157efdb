/**
 * Receiver-to-browser latency: a local Beast (default) or SBS (`--sbs`)
 * receiver plays a track DERIVED from the real EZY158T 1 s OpenSky
 * recording at its real pace; the producer decodes it (SOURCES=beast://...),
 * publishes to the bus, the hub (WS_DELTA_INTERVAL_MS 200, the default)
 * serves /ws, and a WebSocket client measures, for every track point, the
 * time from the receiver writing it to the client receiving the aircraft at
 * that position, and how far that position is from the recording.
 *
 * Baseline, in the same run: the same track through readsb's aircraft.json
 * (rewritten every second, as readsb does, polled every second by the
 * producer, as tar1090 polls it): what a tar1090 user sees, one file write
 * and one poll behind.
 *
 * Targets (issue 12): position within 10 m of the track; p99 latency at most
 * 1.5 s. The bus is the in-process MemoryBus (the hub reads the contract's
 * fixed topic names, which the shared Kafka of a dev machine also carries).
 *
 * `deno task bench:receiver [--sbs] [--seconds N] [--no-baseline]`
 *
 * @module
 */
import { MemoryBus } from "../lib/bus/memory.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { haversineM } from "../lib/geo/sphere.ts";
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

const secondsArg = Deno.args.indexOf("--seconds");
const seconds = secondsArg >= 0 ? Number(Deno.args[secondsArg + 1]) : 60;
const kind: Kind = Deno.args.includes("--sbs") ? "sbs" : "beast";
// Start in the approach (descending, turning) rather than in straight cruise.
const track = await derivedTrack(undefined, { from: 600, limit: seconds });
const icao = track[0]!.icao24;

interface Result {
  kind: Kind;
  seen: number;
  unmatched: number;
  latencies: number[];
  errors: number[];
}

async function run(kind: Kind): Promise<Result> {
  const bus = new MemoryBus();
  const served = serveHub({ config: { WS_DELTA_INTERVAL_MS: 200 } });
  const source = await startBusSource(served.hub, bus, { anomalyWindowHours: 24 });
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
    bus,
    log: silentLogger,
  });

  const result: Result = { kind, seen: 0, unmatched: 0, latencies: [], errors: [] };
  const matched = new Set<number>();
  const ws = new WebSocket(served.url, ["skysentinel.v1.json"]);
  ws.onmessage = (ev) => {
    const now = Date.now();
    const msg = JSON.parse(ev.data as string);
    const flights = msg.type === "snapshot" ? msg.flights : msg.type === "delta" ? msg.upserts : [];
    for (const f of flights) {
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
  await bus.close();
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
    `${r.kind}: ${r.seen} of ${track.length} points seen on /ws (unmatched ${r.unmatched})`,
  );
  console.log(
    `  receiver-to-browser latency ms: p50 ${quantile(r.latencies, 0.5)}  p90 ${
      quantile(r.latencies, 0.9)
    }  p99 ${quantile(r.latencies, 0.99)}  max ${Math.max(...r.latencies)}`,
  );
  console.log(`  position error vs track m: max ${max.toFixed(2)}  mean ${mean.toFixed(2)}`);
}

console.log(`receiver_latency: ${track.length} track points (EZY158T_derived, 1 s)`);
const main = await run(kind);
report(main);
const p99 = quantile(main.latencies, 0.99);
const maxErr = Math.max(...main.errors);
console.log(
  `  target p99 <= 1500 ms: ${p99 <= 1500 ? "met" : "NOT met"}; position <= 10 m: ${
    maxErr <= 10 ? "met" : "NOT met"
  }`,
);
if (!Deno.args.includes("--no-baseline")) {
  const base = await run("aircraft_json");
  console.log("baseline (readsb aircraft.json written every 1 s, polled every 1 s):");
  report(base);
  const ratio = (p: number) =>
    (quantile(base.latencies, p) / quantile(main.latencies, p)).toFixed(2);
  console.log(`  ${kind} is faster than the baseline by: p50 x${ratio(0.5)}  p99 x${ratio(0.99)}`);
}
