/**
 * Producer throughput: state vectors per second through validation +
 * envelope building + publishing to a MemoryBus, against a baseline that
 * publishes the same messages pre-serialised (the bus alone). The ratio is
 * what the producer's own work costs on top of the bus.
 *
 * Run: deno bench -A bench/producer_bench.ts
 *
 * Input: the 180 real snapshots of the Switzerland 30-minute recording
 * (7,107 state vectors).
 */
import { OpenSkyReply, type Source } from "../contracts/mod.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import type { TopicMessages } from "../lib/bus/types.ts";
import { buildPollMessages, DEFAULT_PRODUCER_TOPICS } from "../lib/opensky/envelope.ts";
import { silentLogger } from "../lib/log.ts";
import { ProducerMetrics } from "../services/producer/metrics.ts";
import { Publisher } from "../services/producer/publisher.ts";

const FILE = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
);
const replies = (await Deno.readTextFile(FILE)).split("\n").filter(Boolean)
  .map((line) => OpenSkyReply.parse(JSON.parse(line)));
const VECTORS = replies.reduce((n, r) => n + (r.states?.length ?? 0), 0);
const SOURCE: Source = {
  provider: "opensky",
  mode: "replay",
  bbox: [45.82, 5.96, 47.81, 10.49],
  poll_interval_s: 10,
};

// Bounded retention so that millions of iterations do not fill the memory.
const newBus = () => new MemoryBus({ maxMessagesPerPartition: 20_000 });

const producerBus = newBus();
const publisher = new Publisher(producerBus, {
  topics: DEFAULT_PRODUCER_TOPICS,
  metrics: new ProducerMetrics(),
  log: silentLogger,
  now: Date.now,
});
const producedAt = new Date().toISOString();
const preserialised: TopicMessages[][] = replies.map((reply) =>
  buildPollMessages(reply, { source: SOURCE, producedAt }).batch
);
const baselineBus = newBus();

async function fullPath(): Promise<void> {
  for (const reply of replies) {
    await publisher.publish([{ reply, source: SOURCE, shiftSeconds: 0, origin: "bench" }]);
  }
}

async function baseline(): Promise<void> {
  for (const batch of preserialised) await baselineBus.send(batch);
}

/** Vectors per second of `fn` (one call = all 7,107 vectors), measured for about `ms`. */
async function rate(fn: () => Promise<void>, ms = 1500): Promise<number> {
  await fn(); // warm-up
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    calls++;
  }
  return (calls * VECTORS) / ((performance.now() - start) / 1000);
}

function envelopesOnly(): Promise<void> {
  for (const reply of replies) buildPollMessages(reply, { source: SOURCE, producedAt });
  return Promise.resolve();
}

const fmt = (n: number) => Math.round(n).toLocaleString("en");
const full = await rate(fullPath);
const base = await rate(baseline);
const pure = await rate(envelopesOnly);
console.log(
  `producer: ${fmt(full)} state vectors/s validate+envelope+publish; ` +
    `${fmt(base)}/s publishing the same messages pre-serialised (ratio ${
      (base / full).toFixed(2)
    }); ` +
    `${fmt(pure)}/s validate+envelope without a bus`,
);

Deno.bench({
  name: `validate + envelope + publish (${VECTORS} state vectors)`,
  group: "producer",
  fn: fullPath,
});

Deno.bench({
  name: `validate + envelope, no bus (${VECTORS} state vectors)`,
  group: "producer",
  fn: envelopesOnly,
});

Deno.bench({
  name: `publish pre-serialised (${VECTORS} state vectors)`,
  group: "producer",
  baseline: true,
  fn: baseline,
});

globalThis.addEventListener("unload", () => {
  void producerBus.close();
  void baselineBus.close();
});
