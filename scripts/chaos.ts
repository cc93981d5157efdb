/**
 * `deno task chaos`: the distributed stack under faults, on a PRIVATE Kafka and
 * PostgreSQL (scripts/services.sh with a folder and ports of their own; the shared
 * services are never touched).
 *
 * The producer, the worker and the web server run as separate processes. The full-day
 * Swiss recording is cut into one slice per fault; each slice is replayed (recorded times
 * kept, CHAOS_SPEED times real time) while its fault is injected: kill -9 of the worker
 * (three times), kill -9 of the producer mid-replay (then restarted: it replays its slice
 * again), the broker stopped and started, PostgreSQL stopped and started, a poison batch
 * (three 70,000-byte 0x01 messages) on flights.updates, a slow WebSocket client that never
 * reads. After each slice it waits for the replay to end and the group's lag to reach 0,
 * then compares flights_history with the recording: expected = the distinct
 * (icao24, time_position) of every valid state vector played so far; lost = expected rows
 * missing; doubled = rows beyond one per expected position. Every `/healthz` is polled each
 * second: "during" is correct when the faulted service said so (non-200 or no answer) and
 * the others stayed 200 where they should; "after" when all are 200 once recovered.
 *
 * Usage: deno task chaos [--slices N]   (CHAOS_SPEED, default 120)
 *
 * @module
 */
import { TOPICS } from "../contracts/topics.ts";
import { KafkaBus } from "../lib/bus/kafka.ts";
import { connect } from "../lib/db/mod.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { freePorts, PrivateServices } from "./private_services.ts";

const RECORDING = "fixtures/states_switzerland_2018-08-01_fullday_10s.jsonl.gz";
const SPEED = Number(Deno.env.get("CHAOS_SPEED") ?? "120");

type Service = "producer" | "worker" | "web";
const SERVICES: Service[] = ["producer", "worker", "web"];

interface Fault {
  name: string;
  /** Services whose /healthz must fail at some point during the fault. */
  down: Service[];
  /** Services that must stay 200 throughout. */
  up: Service[];
  inject(stack: Stack): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.error(`[chaos] ${line}`);

// --- processes -------------------------------------------------------------------------------

class Stack {
  services!: PrivateServices;
  ports = (([producer, worker, web]) => ({ producer: producer!, worker: worker!, web: web! }))(
    freePorts(3),
  );
  procs = new Map<Service, Deno.ChildProcess>();
  logDir = "";
  /** The producer's replay settings for the slice being played. */
  currentReplay: Record<string, string> = {};
  slowClient?: Deno.Conn;

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      KAFKA_BROKERS: this.services.brokers.join(","),
      DATABASE_URL: this.services.databaseUrl,
      PRODUCER_PORT: String(this.ports.producer),
      WORKER_PORT: String(this.ports.worker),
      WORKER_GROUP_ID: "chaos-worker",
      PORT: String(this.ports.web),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      // The recording is from 2018 and keeps its times: the retention job must not drop it.
      HISTORY_RETENTION_DAYS: "36500",
      HISTORY_SAMPLED_RETENTION_DAYS: "36500",
      ...extra,
    };
  }

  spawn(service: Service, extra: Record<string, string> = {}): void {
    const entry = {
      producer: "services/producer/main.ts",
      worker: "services/worker/main.ts",
      web: "main.ts",
    }[service];
    const args = ["run", "--allow-all", "--unstable-bundle", "--no-check=remote", entry];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: this.env(extra),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams read to the end (a full pipe would block the service), into one log each.
    for (const [stream, suffix] of [[child.stdout, "out"], [child.stderr, "log"]] as const) {
      const file = Deno.openSync(`${this.logDir}/${service}.${suffix}`, {
        append: true,
        create: true,
      });
      void stream.pipeTo(file.writable).catch(() => {});
    }
    this.procs.set(service, child);
  }

  kill9(service: Service): void {
    try {
      this.procs.get(service)?.kill("SIGKILL");
    } catch { /* gone */ }
  }

  async stop(service: Service): Promise<void> {
    const child = this.procs.get(service);
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await Promise.race([child.status, sleep(15_000)]);
    this.kill9(service);
    this.procs.delete(service);
  }

  async health(service: Service): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports[service]}/healthz`, {
        signal: AbortSignal.timeout(3_000),
      });
      await res.body?.cancel();
      return res.status;
    } catch {
      return 0;
    }
  }
}

// --- expectations ----------------------------------------------------------------------------

/** Distinct (icao24|time_position) of the valid vectors per slice of `sliceS` seconds. */
async function expectedPositions(sliceS: number, slices: number): Promise<Set<string>[]> {
  const out = Array.from({ length: slices }, () => new Set<string>());
  const file = await Deno.open(RECORDING);
  let first: number | null = null;
  for await (const item of readRecording(file.readable, { gzip: true })) {
    if (item.kind !== "snapshot") continue;
    first ??= item.reply.time;
    const rel = item.reply.time - first;
    const index = Math.floor(rel / sliceS);
    if (index >= slices || rel - index * sliceS > sliceS - 5) continue;
    const { flights } = buildPollMessages(item.reply, {
      source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 10 },
      producedAt: new Date(item.reply.time * 1000).toISOString(),
    });
    for (const f of flights) out[index]!.add(`${f.icao24}|${f.time_position_unix}`);
  }
  return out;
}

// --- faults ----------------------------------------------------------------------------------

const killWorker = (n: number): Fault => ({
  name: `kill -9 worker (${n}/3)`,
  down: ["worker"],
  up: ["web"],
  async inject(stack) {
    stack.kill9("worker");
    await sleep(2_000);
    stack.spawn("worker");
  },
});

const FAULTS: Fault[] = [
  killWorker(1),
  killWorker(2),
  killWorker(3),
  {
    name: "kill -9 producer mid-replay",
    down: ["producer"],
    up: ["worker", "web"],
    async inject(stack) {
      stack.kill9("producer");
      await sleep(2_000);
      // Restarted as an operator would: it replays its slice from the start again.
      stack.spawn("producer", stack.currentReplay);
    },
  },
  {
    name: "broker stop / start",
    down: ["producer", "worker", "web"],
    up: [],
    async inject(stack) {
      await stack.services.run("stop", "kafka");
      await sleep(15_000);
      await stack.services.run("start", "kafka");
    },
  },
  {
    name: "PostgreSQL stop / start",
    down: ["worker", "web"],
    up: ["producer"],
    async inject(stack) {
      await stack.services.run("stop", "postgres");
      await sleep(15_000);
      await stack.services.run("start", "postgres");
    },
  },
  {
    name: "poison batch (3 x 70,000 B of 0x01)",
    down: [],
    up: ["producer", "worker", "web"],
    async inject(stack) {
      const bus = new KafkaBus({ brokers: stack.services.brokers, clientId: "chaos-poison" });
      await bus.connect();
      const poison = new Uint8Array(70_000).fill(0x01);
      await bus.send([{
        topic: TOPICS.updates.name,
        messages: [0, 1, 2].map(() => ({ key: "poison", value: poison })),
      }]);
      await bus.close();
    },
  },
  {
    name: "slow WebSocket client",
    down: [],
    up: ["producer", "worker", "web"],
    async inject(stack) {
      // A client that upgrades and then never reads: the hub must shed it, not stall.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: stack.ports.web });
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      await conn.write(new TextEncoder().encode(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ));
      stack.slowClient = conn;
    },
  },
];

// --- the run ---------------------------------------------------------------------------------

interface Row {
  fault: string;
  expected: number;
  lost: number;
  doubled: number;
  recoverS: number;
  during: boolean;
  after: boolean;
}

async function lagZero(stack: Stack, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${stack.ports.worker}/metrics`, {
        signal: AbortSignal.timeout(3_000),
      });
      const text = await res.text();
      const lags = [...text.matchAll(/^processing_consumer_lag\{[^}]*\} (\d+)/gm)].map((m) =>
        Number(m[1])
      );
      if (lags.length > 0 && lags.every((l) => l === 0)) return true;
    } catch { /* restarting */ }
    await sleep(1_000);
  }
  return false;
}

async function main(): Promise<number> {
  const slices = FAULTS.length;
  const dayS = 17 * 3600;
  const sliceS = Math.floor(dayS / slices / 10) * 10;
  log(`computing the expected rows of ${slices} slices of ${sliceS} s from ${RECORDING}...`);
  const expected = await expectedPositions(sliceS, slices);
  const stack = new Stack();
  stack.logDir = await Deno.makeTempDir({ prefix: "skysentinel-chaos-" });
  log(`starting a private Kafka and PostgreSQL (logs of the services in ${stack.logDir})...`);
  stack.services = await PrivateServices.start({ log: (l) => log(l) });
  const bus = new KafkaBus({ brokers: stack.services.brokers, clientId: "chaos" });
  const rows: Row[] = [];
  const seen = new Set<string>();
  // Ctrl+C: take the private services and the processes down with us.
  const abort = async () => {
    for (const s of SERVICES) stack.kill9(s);
    await stack.services.destroy();
    Deno.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, abort);
  let totalLost = 0;
  try {
    await bus.connect();
    await bus.ensureTopics();
    stack.spawn("worker");
    stack.spawn("web");
    // The web server builds its islands at start: wait for both before the first slice.
    const ready = Date.now() + 5 * 60_000;
    while (Date.now() < ready) {
      if ((await stack.health("worker")) === 200 && (await stack.health("web")) === 200) break;
      await sleep(1_000);
    }
    const sql = connect(stack.services.databaseUrl, { max: 2 });
    for (let i = 0; i < slices; i++) {
      const fault = FAULTS[i]!;
      const scenario = `${stack.logDir}/slice_${i}.json`;
      await Deno.writeTextFile(
        scenario,
        JSON.stringify({
          name: `chaos-${i}`,
          recordings: [{
            file: `${Deno.cwd()}/${RECORDING}`,
            skip_s: i * sliceS,
            duration_s: sliceS - 5,
          }],
        }),
      );
      stack.currentReplay = {
        OPENSKY_MODE: "replay",
        REPLAY_FILES: scenario,
        REPLAY_SPEED: String(SPEED),
        REPLAY_LOOP: "false",
        REPLAY_KEEP_TIMES: "true",
      };
      log(`slice ${i + 1}/${slices}: ${fault.name}`);
      stack.spawn("producer", stack.currentReplay);
      const polls: { t: number; codes: Record<Service, number> }[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const t = Date.now();
          const [producer, worker, web] = await Promise.all(SERVICES.map((s) => stack.health(s)));
          polls.push({ t, codes: { producer: producer!, worker: worker!, web: web! } });
          await sleep(1_000);
        }
      })();
      // Inject a third of the way into the slice's replay.
      await sleep(sliceS / SPEED / 3 * 1000);
      const faultAt = Date.now();
      await fault.inject(stack);
      const injectedAt = Date.now();
      // The producer exits when its slice ends; a restarted one replays it again.
      const exitAt = await Promise.race([
        stack.procs.get("producer")!.status.then(() => Date.now()),
        sleep(30 * 60_000).then(() => Date.now()),
      ]);
      const drained = await lagZero(stack, 10 * 60_000);
      polling = false;
      await poller;
      stack.procs.delete("producer");
      // Healthy again: the first poll after the fault was removed with every service that
      // runs at 200 (the producer only while its replay runs).
      const healthy = (p: (typeof polls)[number]) =>
        p.codes.worker === 200 && p.codes.web === 200 &&
        (p.t >= exitAt - 2_000 || p.codes.producer === 200);
      const recovered = polls.find((p) => p.t >= injectedAt && healthy(p));
      const recoverS = recovered ? Math.max(0, Math.round((recovered.t - injectedAt) / 1000)) : -1;
      const window = polls.filter((p) => p.t >= faultAt && p.t <= (recovered?.t ?? Infinity));
      const during = fault.down.every((s) => window.some((p) => p.codes[s] !== 200)) &&
        fault.up.every((s) =>
          polls.filter((p) => p.t >= faultAt && (s !== "producer" || p.t < exitAt - 2_000))
            .every((p) => p.codes[s] === 200)
        );
      const afterOk = (await stack.health("worker")) === 200 && (await stack.health("web")) === 200;
      if (!during) {
        log(
          `health during ${fault.name}: ${
            polls.filter((p) => p.t >= faultAt).map((p) =>
              `${p.codes.producer}/${p.codes.worker}/${p.codes.web}`
            ).join(" ")
          } (producer/worker/web)`,
        );
      }
      for (const p of expected[i]!) seen.add(p);
      const db = await sql`SELECT icao24, extract(epoch FROM ts)::bigint AS t FROM flights_history`;
      const present = new Map<string, number>();
      for (const r of db) {
        const k = `${r.icao24}|${r.t}`;
        present.set(k, (present.get(k) ?? 0) + 1);
      }
      let lost = 0;
      for (const p of seen) if (!present.has(p)) lost++;
      let doubled = 0;
      for (const [k, n] of present) doubled += seen.has(k) ? n - 1 : n;
      rows.push({
        fault: fault.name,
        expected: expected[i]!.size,
        lost: lost - totalLost,
        doubled,
        recoverS: drained ? recoverS : -1,
        during,
        after: afterOk && drained,
      });
      totalLost = lost;
      stack.slowClient?.close();
      stack.slowClient = undefined;
    }
    await sql.end({ timeout: 5 });
  } finally {
    for (const s of SERVICES) await stack.stop(s);
    await bus.close();
    await stack.services.destroy();
  }
  // s to healthy: from the end of the fault (restart, broker or database back, poison sent)
  // to every /healthz at 200 again; the slice then drains to lag 0 before it is compared.
  const header =
    "| fault | rows expected | lost | doubled | s to healthy | health during | health after |";
  console.log(header);
  console.log("|---|---:|---:|---:|---:|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.fault} | ${r.expected} | ${r.lost} | ${r.doubled} | ${
        r.recoverS < 0 ? "did not" : r.recoverS
      } | ${r.during ? "correct" : "WRONG"} | ${r.after ? "correct" : "WRONG"} |`,
    );
  }
  console.log(`logs: ${stack.logDir}`);
  const bad = rows.some((r) => r.lost > 0 || r.doubled > 0 || r.recoverS < 0);
  return bad ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
