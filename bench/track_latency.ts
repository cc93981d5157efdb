/**
 * Latency of `GET /api/flights/{icao24}/track` in the embedded stack
 * (`deno task up`: PGlite, one connection shared by the worker's writer and
 * the history API) while a replay is being written.
 *
 * Run: `deno task bench:track` (BENCH_TRACK_S seconds of requests during the
 * replay, default 60; REPLAY_SPEED for the replay, default 10, i.e. ten
 * times real time; REPLAY_FILES default the demo scenario). Prints p50, p95,
 * p99 and max, and how many updates the worker committed meanwhile.
 *
 * @module
 */
const SECONDS = Number(Deno.env.get("BENCH_TRACK_S") ?? 60);
const SPEED = Deno.env.get("REPLAY_SPEED") ?? "10";

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

async function processed(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^processing_messages_processed_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text);
  return m ? Number(m[1]) : NaN;
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
    const before = await processed(base);
    const during = await hammer(base, icao24s, SECONDS);
    const after = await processed(base);
    console.log(
      `embedded stack (PGlite, one connection), replay at ${SPEED}x of ${
        env.REPLAY_FILES ?? "the demo scenario"
      }: worker committed ${after - before} updates in ${SECONDS} s ` +
        `(${Math.round((after - before) / SECONDS)}/s) while ${icao24s.length} aircraft's trails ` +
        `were requested`,
    );
    console.log(`  /api/flights/{icao24}/track during the replay: ${quantiles(during)}`);
  } finally {
    try {
      stack.kill("SIGTERM");
    } catch { /* exited already */ }
    await stack.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
