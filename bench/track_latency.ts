/**
 * Latency of `GET /api/flights/{icao24}/track` in the embedded stack
 * (`deno task up`: PGlite, one connection shared by the worker's writer and
 * the history API) while a replay is being written.
 *
 * Run: `deno task bench:track [--seconds=60] [--speed=10] [--files=...]`
 * (or BENCH_TRACK_S, REPLAY_SPEED, REPLAY_FILES): seconds of requests during
 * the replay; the replay's speed (10: ten times real time); what is
 * replayed (default the demo scenario; the Switzerland 30-minute recording
 * at `--speed=30` writes about 300 updates/s, the demo at 10x about 70).
 * Prints p50, p95, p99 and max, and how many updates the worker committed
 * meanwhile.
 *
 * @module
 */
/** `--name=value` of the command line, else the environment variable. */
function knob(flag: string, variable: string): string | undefined {
  const prefix = `--${flag}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length) ??
    Deno.env.get(variable);
}
const SECONDS = Number(knob("seconds", "BENCH_TRACK_S") ?? 60);
const SPEED = knob("speed", "REPLAY_SPEED") ?? "10";
const FILES = knob("files", "REPLAY_FILES");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function quantiles(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `n=${s.length} p50 ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, ` +
    `p99 ${q(0.99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

/** A series' value (summed over its labels) from a Prometheus text page. */
function metric(text: string, name: string, labels = ""): number {
  let sum = 0;
  const re = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+)$`, "gm");
  for (const m of text.matchAll(re)) if ((m[1] ?? "").includes(labels)) sum += Number(m[2]);
  return sum;
}

async function metrics(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return {
    processed: metric(text, "processing_messages_processed_total"),
    writeS: metric(text, "processing_db_write_latency_seconds_sum"),
    writes: metric(text, "processing_db_write_latency_seconds_count"),
    stages: Object.fromEntries(
      [...text.matchAll(/^processing_stage_seconds_total\{stage="(\w+)"\} ([0-9.e+-]+)$/gm)]
        .map((m) => [m[1]!, Number(m[2])]),
    ),
  };
}

/** Requests trails of the aircraft in turn for `seconds`; latencies in ms. */
async function hammer(base: string, icao24s: string[], seconds: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const icao24 = icao24s[i % icao24s.length]!;
    const started = performance.now();
    const res = await fetch(`${base}/api/flights/${icao24}/track`);
    await res.arrayBuffer();
    if (res.status !== 200 && res.status !== 404) throw new Error(`track: HTTP ${res.status}`);
    out.push(performance.now() - started);
    // About 20 requests/s: a few viewers opening trails.
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}

async function main(): Promise<void> {
  // Under .data: the `up` task may write nowhere else.
  const dataDir = `.data/bench_track_${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(dataDir, { recursive: true });
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    PRODUCER_PORT: String(freePort()),
    WORKER_PORT: String(freePort()),
    REPLAY_SPEED: SPEED,
    REPLAY_LOOP: "false",
    LOG_LEVEL: "warn",
    KAFKA_BROKERS: "",
    DATABASE_URL: "",
    ...(FILES ? { REPLAY_FILES: FILES } : {}),
  };
  const stack = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "up"],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = stack.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("SkySentinel is up")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stack exited before it was up");
      seen += value;
    }
    void (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
    // Wait for aircraft in the history.
    let icao24s: string[] = [];
    for (let i = 0; i < 120 && icao24s.length < 20; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const body = await (await fetch(`${base}/api/flights`)).json() as {
        flights: { icao24: string }[];
      };
      icao24s = body.flights.map((f) => f.icao24).slice(0, 200);
    }
    if (icao24s.length === 0) throw new Error("no aircraft after 2 min");
    const start = await metrics(base);
    const during = await hammer(base, icao24s, SECONDS);
    const end = await metrics(base);
    const [before, after] = [start.processed, end.processed];
    const writes = end.writes - start.writes;
    console.log(
      `embedded stack (PGlite, one connection), replay at ${SPEED}x of ${
        FILES ?? "the demo scenario"
      }: worker committed ${after - before} updates in ${SECONDS} s ` +
        `(${Math.round((after - before) / SECONDS)}/s) while ${icao24s.length} aircraft's trails ` +
        `were requested`,
    );
    console.log(`  /api/flights/{icao24}/track during the replay: ${quantiles(during)}`);
    console.log(
      `  the worker's transactions meanwhile: ${writes}, ${
        (1000 * (end.writeS - start.writeS) / Math.max(1, writes)).toFixed(1)
      } ms and ${((after - before) / Math.max(1, writes)).toFixed(0)} updates each on average`,
    );
    const stages = Object.entries(end.stages)
      .map(([k, v]) => [k, v - (start.stages[k] ?? 0)] as const)
      .filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(100 * v / SECONDS).toFixed(1)}%`);
    console.log(`  the worker's time by stage, share of the ${SECONDS} s: ${stages.join(", ")}`);
  } finally {
    try {
      stack.kill("SIGTERM");
    } catch { /* exited already */ }
    await stack.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
