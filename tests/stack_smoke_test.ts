/**
 * Smoke test of `deno task up` as users run it: a subprocess with the
 * task's real permission flags, a WebSocket client and an HTTP client. It
 * must show aircraft, flowing deltas and the EZY158T go-around from the
 * demo scenario of real recordings, then stop cleanly on SIGINT. Once on
 * the embedded defaults, once on real Kafka and PostgreSQL.
 */
import assert from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import { MSGPACK_SUBPROTOCOL, ServerMessage } from "../contracts/ws.ts";
import { AnomaliesResponse } from "../contracts/api.ts";
import { kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";
import { freshPostgres } from "./_db.ts";

const ROOT = new URL("../", import.meta.url);
/** The demo's first go-around comes about 150 s into the scenario; at 10x that is 15 s. */
const SPEED = "10";
const DEADLINE_MS = 240_000;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function runStack(env: Record<string, string>) {
  const dataDir = await Deno.makeTempDir({ prefix: "skysentinel-up-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "up"],
    cwd: ROOT,
    env: { PORT: String(port), DATA_DIR: dataDir, REPLAY_SPEED: SPEED, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) logs.push(decoder.decode(chunk, { stream: true }));
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(
      "the 'is up' line",
      () => Promise.resolve(logs.join("").includes("SkySentinel is up") ? true : undefined),
    );

    // WebSocket: hello, snapshot, then deltas with consecutive seq and aircraft in them.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, [MSGPACK_SUBPROTOCOL]);
    ws.binaryType = "arraybuffer";
    const messages: ServerMessage[] = [];
    ws.onmessage = (e) => messages.push(ServerMessage.parse(decode(new Uint8Array(e.data))));
    await until("deltas with aircraft", () => {
      const deltas = messages.filter((m) => m.type === "delta");
      const upserts = deltas.reduce((n, m) => n + (m.type === "delta" ? m.upserts.length : 0), 0);
      return Promise.resolve(deltas.length >= 10 && upserts > 0 ? true : undefined);
    });
    assert.equal(messages[0]?.type, "hello");
    assert.equal(messages[1]?.type, "snapshot");
    const seqs = messages.flatMap((m) =>
      m.type === "delta" || m.type === "snapshot" ? [m.seq] : []
    );
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, "seq gap");
    ws.close();

    const flights = await until("aircraft in /api/flights", async () => {
      const body = await (await fetch(`${base}/api/flights`)).json();
      return body.count > 10 ? body.count as number : undefined;
    });
    assert.ok(flights > 10);

    const goAround = await until("the EZY158T go-around in /api/anomalies", async () => {
      const res = await fetch(`${base}/api/anomalies?kind=go_around`);
      const body = AnomaliesResponse.parse(await res.json());
      return body.anomalies.find((a) => a.callsign === "EZY158T");
    });
    assert.equal(goAround.icao24, "406d95");
    assert.ok((goAround.position.altitude_m ?? Infinity) < 400);

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200, await health.text());
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    await drained;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    assert.equal(status.code, 0, `exit ${status.code}:\n${logs.join("").slice(-3000)}`);
  }
  assert.match(logs.join(""), /shutting down \(SIGINT\)/);
}

Deno.test({
  name:
    "deno task up on the embedded defaults: aircraft, deltas, the EZY158T go-around, clean exit",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => runStack({}),
});

Deno.test({
  name: "deno task up on real Kafka and PostgreSQL: the same pipeline",
  ignore: skipWithoutKafka() || skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await freshPostgres();
    const run = crypto.randomUUID().slice(0, 8);
    try {
      await runStack({
        KAFKA_BROKERS: kafkaBrokers()!.join(","),
        DATABASE_URL: db.url,
        KAFKA_CLIENT_ID: `smoke-${run}`,
        WORKER_GROUP_ID: `smoke-worker-${run}`,
      });
    } finally {
      await db.close();
    }
  },
});
