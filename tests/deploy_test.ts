/**
 * The Deno Deploy entry (deploy.ts) run locally with its task's permission
 * flags, in relay mode against a local upstream hub fed with the real
 * Switzerland recording: the page and the prebuilt islands are served, and
 * the relayed flights match the upstream's.
 *
 * `deno task build` and `deno task deploy` run in a copy of the project in a
 * temporary folder (tests/_project_copy.ts), so the test writes
 * nothing into the working tree; the copy's files are compared before and
 * after deploy.ts runs to show it writes nothing either.
 */
import assert from "node:assert/strict";
import { parseWebConfig } from "../lib/config.ts";
import { MemoryBus } from "../lib/bus/mod.ts";
import { startWeb } from "../services/web/mod.ts";
import { flightsCopiesForLoad, replies, T0 } from "./_hub_harness.ts";
import { copyProject, listing, ROOT_PATH } from "./_project_copy.ts";

const ROOT = new URL("../", import.meta.url);
/** What a build in the working tree would change: routes.gen.ts and everything in _build/. */
async function treeState(): Promise<Record<string, string>> {
  const manifest = await Deno.lstat(`${ROOT_PATH}/routes.gen.ts`);
  const build = await listing(`${ROOT_PATH}/_build`).catch(() => new Map<string, string>());
  return {
    "routes.gen.ts": `${manifest.size}@${manifest.mtime?.getTime()}`,
    ...Object.fromEntries([...build].map(([k, v]) => [`_build${k}`, v])),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name: "deploy.ts relays a local upstream hub and serves prebuilt islands without writing files",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const treeBefore = await treeState();
    const project = await copyProject();
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "build"],
      cwd: project,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
    const before = await listing(project);

    // The upstream: a hub on a memory bus, fed with one real snapshot shifted to now.
    const bus = new MemoryBus();
    const upstream = await startWeb({
      config: parseWebConfig({ PORT: "0", HOST: "127.0.0.1" }),
      bus,
      db: null,
      build: "never",
      log: () => {},
    });
    const shift = Math.floor(Date.now() / 1000) - replies[0]!.time;
    for (const flight of flightsCopiesForLoad(0, shift)) upstream.hub.ingest(flight);
    assert.ok(T0 > 0);
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "deploy"],
      cwd: project,
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        HUB_UPSTREAM_URL: `${upstream.url.replace("http", "ws")}/ws`,
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    const drained = (async () => {
      const decoder = new TextDecoder();
      for await (const c of child.stderr) stderr.push(decoder.decode(c, { stream: true }));
    })();
    void child.stdout.cancel();
    let exitCode: number | undefined;
    try {
      const base = `http://127.0.0.1:${port}`;
      // The hub publishes what it ingested with its next tick.
      const want = await until("the upstream snapshot", () => {
        const ids = upstream.hub.snapshot().map((f) => f.icao24).sort();
        return Promise.resolve(ids.length > 10 ? ids : undefined);
      });
      const got = await until("the relayed snapshot", async () => {
        const body = await (await fetch(`${base}/api/flights`)).json();
        return body.count === want.length ? body.flights as { icao24: string }[] : undefined;
      });
      assert.deepEqual(got.map((f) => f.icao24).sort(), want);
      const health = await until("healthy", async () => {
        const res = await fetch(`${base}/healthz`);
        const body = await res.json();
        return res.status === 200 ? body : undefined;
      });
      assert.match(JSON.stringify(health), /relaying/);
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      const script = html.match(/\/_islands\/[^"']+\.js/);
      assert.ok(script, "the page loads an island bundle");
      const bundle = await fetch(`${base}${script[0]}`);
      assert.equal(bundle.status, 200);
      await bundle.body?.cancel();
    } finally {
      child.kill("SIGINT");
      const status = await child.status;
      await drained;
      await upstream.stop();
      await bus.close();
      // Only judge the exit when the checks above got through (else their error is the news).
      exitCode = status.code;
    }
    assert.equal(exitCode, 0, stderr.join(""));
    const after = await listing(project);
    const changed = [...new Set([...before.keys(), ...after.keys()])]
      .filter((path) => before.get(path) !== after.get(path));
    assert.deepEqual(changed, [], "deploy.ts wrote files");
    await Deno.remove(project, { recursive: true });
    assert.deepEqual(await treeState(), treeBefore, "the test wrote into the working tree");
  },
});

Deno.test("deploy.ts refuses to start without HUB_UPSTREAM_URL, naming it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "deploy"],
    cwd: ROOT,
    env: { HUB_UPSTREAM_URL: "" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /HUB_UPSTREAM_URL is not set/);
});
