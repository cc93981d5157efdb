/**
 * `deno task producer:receivers`: receivers are hosts the user picks, so the
 * launcher derives the producer's `--allow-net` from SOURCES. Proven with the
 * real task flags from deno.json: the derived list is the producer task's
 * plus exactly the receivers and brokers named, and the producer started
 * through it really connects to a local SBS receiver named in SOURCES.
 */
import assert from "node:assert/strict";
import { denoRunTasks, ROOT_PATH } from "./_task_flags.ts";
import { receiverProducerArgs } from "../scripts/producer_receivers.ts";

const tasks = await denoRunTasks();
const producerTask = JSON.parse(await Deno.readTextFile(`${ROOT_PATH}/deno.json`)).tasks
  .producer as string;

Deno.test("producer:receivers: --allow-net is the producer's plus exactly the receivers named", () => {
  const args = receiverProducerArgs(producerTask, {
    SOURCES: "sbs://192.168.1.20:30003,beast://[::1]:30005,https://pi.local/data/aircraft.json",
    KAFKA_BROKERS: "10.0.0.5:9092",
  });
  const base = producerTask.split(/\s+/).find((a) => a.startsWith("--allow-net="))!.slice(12)
    .split(",");
  const net = args.find((a) => a.startsWith("--allow-net="))!.slice(12).split(",");
  assert.deepEqual(net.slice(0, base.length), base);
  assert.deepEqual(net.slice(base.length), [
    "192.168.1.20:30003",
    "[::1]:30005",
    "pi.local",
    "10.0.0.5:9092",
  ]);
  // Everything else is the producer task's, unchanged.
  assert.deepEqual(
    args.filter((a) => !a.startsWith("--allow-net=")),
    producerTask.split(/\s+/).slice(1).filter((a) => !a.startsWith("--allow-net=")),
  );
  assert.throws(() => receiverProducerArgs(producerTask, { SOURCES: "opensky:" }), TypeError);
});

Deno.test({
  name: "producer:receivers: the producer it starts reaches the SBS receiver in SOURCES",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const launcher = tasks["producer:receivers"];
    assert.ok(launcher, "deno.json has no producer:receivers task");
    assert.ok(!launcher.allowAll);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    let connected = false;
    const accepted = (async () => {
      const conn = await listener.accept();
      connected = true;
      await conn.write(new TextEncoder().encode(
        "MSG,3,1,1,406D95,1,2017/02/05,15:45:00.000,2017/02/05,15:45:00.000,,36000,,,44.918840,1.820000,,,0,0,0,0\r\n",
      ));
      conn.close();
    })();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...launcher.flags, launcher.entry],
      cwd: ROOT_PATH,
      env: { SOURCES: `sbs://127.0.0.1:${port}`, PRODUCER_PORT: "0", LOG_LEVEL: "info" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) output += new TextDecoder().decode(c);
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
    // Only a guard against a hang.
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await Promise.race([accepted, child.status]);
    child.kill("SIGTERM");
    await child.status;
    clearTimeout(guard);
    await pumps;
    listener.close();
    assert.ok(connected, `the producer never connected to the receiver:\n${output}`);
    assert.doesNotMatch(output, /Requires net access/);
  },
});
