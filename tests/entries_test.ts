/**
 * What the entry points say and do at start, run as users run them
 * (`deno task ...`, their real permission flags):
 *
 * - `deno task web` / `deno task worker` without KAFKA_BROKERS say plainly,
 *   first, that they are alone on a private in-memory bus;
 * - `deno task web` runs no migrations (the worker, `deno task migrate` and
 *   the single-process stack own the schema);
 * - a DATA_DIR outside what the tasks may write ends in one line naming it
 *   and what to do, exit code 2, no stack trace (`deno task up`, `worker`);
 * - `deno task detect FILE` reads recordings outside the project;
 * - the stack's start-up line says what it replays (`describeIntake`);
 * - development mode is never served on a non-loopback HOST.
 *
 * Tasks that write run in a copy of the project (tests/_project_copy.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBus } from "../lib/bus/mod.ts";
import { DEMO_SCENARIO, describeIntake, parseWebConfig } from "../lib/config.ts";
import { startWeb } from "../services/web/mod.ts";
import { freshPostgres } from "./_db.ts";
import { copyProject, ROOT_PATH } from "./_project_copy.ts";
import { skipWithoutPostgres } from "./_services.ts";

const OUTSIDE = "/tmp/skysentinel-outside-the-project";

/** Runs `deno task <args>` in `cwd` until it exits or `stopWhen` matches its stderr. */
async function runTask(
  args: string[],
  options: { cwd?: string; env: Record<string, string>; stopWhen?: RegExp; timeoutMs?: number },
): Promise<{ code: number | null; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: options.cwd ?? ROOT_PATH,
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 120_000);
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (!stopped && options.stopWhen?.test(stderr)) {
      stopped = true;
      child.kill("SIGINT");
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  return { code: stopped ? null : status.code, stderr };
}

const NO_BROKERS = { KAFKA_BROKERS: "", DATABASE_URL: "", DATA_DIR: OUTSIDE, LOG_LEVEL: "info" };

Deno.test("entries: the worker without KAFKA_BROKERS says first that it is alone; DATA_DIR outside: one line, exit 2", async () => {
  const { code, stderr } = await runTask(["worker"], { env: NO_BROKERS });
  const lines = stderr.trim().split("\n");
  assert.match(lines[0]!, /ALONE: KAFKA_BROKERS is not set, so this worker consumes a private/);
  assert.match(
    stderr,
    new RegExp(`Cannot open the embedded database in ${OUTSIDE}/pglite: no permission to write`),
  );
  assert.match(stderr, /set DATA_DIR to a folder the program may write/);
  assert.ok(!/^\s+at /m.test(stderr), `no stack trace:\n${stderr}`);
  assert.equal(code, 2, stderr);
});

Deno.test("entries: the producer recording into a DATA_DIR outside the project: one line, exit 2", async () => {
  const { code, stderr } = await runTask(["producer"], {
    env: { ...NO_BROKERS, OPENSKY_MODE: "record" },
  });
  assert.match(stderr, /ALONE: KAFKA_BROKERS is not set, so this producer publishes/);
  assert.match(stderr, new RegExp(`Cannot record into ${OUTSIDE}/recordings: no permission`));
  assert.ok(!/^\s+at /m.test(stderr), `no stack trace:\n${stderr}`);
  assert.equal(code, 2, stderr);
});

Deno.test("entries: `deno task up` with DATA_DIR outside the project: one line, exit 2", async () => {
  const { code, stderr } = await runTask(["up"], { env: NO_BROKERS });
  assert.match(stderr, /stack: Cannot open the embedded database in .*: no permission to write/);
  assert.ok(!/^\s+at /m.test(stderr), `no stack trace:\n${stderr}`);
  assert.ok(!/replaying/.test(stderr), "nothing started");
  assert.equal(code, 2, stderr);
});

Deno.test({
  name: "entries: `deno task web` without KAFKA_BROKERS says it is alone, and runs no migrations",
  ignore: skipWithoutPostgres(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await freshPostgres();
    const project = await copyProject();
    try {
      const { stderr } = await runTask(["web"], {
        cwd: project,
        env: { KAFKA_BROKERS: "", DATABASE_URL: db.url, PORT: "0", HOST: "127.0.0.1" },
        stopWhen: /listening on http/,
        timeoutMs: 180_000,
      });
      assert.match(stderr, /listening on http/, stderr);
      const firstLines = stderr.split("\n").filter((l) => !l.startsWith("web: starting with"));
      assert.match(firstLines[0]!, /^web: ALONE: KAFKA_BROKERS is not set, so this web reads/);
      const tables = await db.sql<{ name: string }[]>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`;
      assert.deepEqual(tables.map((t) => t.name), [], "the web server created tables");
    } finally {
      await db.close();
      await Deno.remove(project, { recursive: true });
    }
  },
});

Deno.test("entries: `deno task detect FILE` reads a recording outside the project", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel-recordings-" });
  try {
    const name = "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl";
    await Deno.copyFile(`${ROOT_PATH}/fixtures/${name}`, `${dir}/${name}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "detect", "--kinds=go_around", `${dir}/${name}`],
      cwd: ROOT_PATH,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const events = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(events.map((e) => e.kind), ["go_around", "go_around"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("entries: the stack says what it replays, whatever REPLAY_FILES is", () => {
  assert.equal(
    describeIntake({ mode: "replay", REPLAY_FILES: [DEMO_SCENARIO] }),
    "replaying the demo scenario",
  );
  assert.equal(
    describeIntake({ mode: "replay", REPLAY_FILES: ["fixtures/scenarios/world_load.json"] }),
    "replaying fixtures/scenarios/world_load.json",
  );
  assert.equal(
    describeIntake({ mode: "replay", REPLAY_FILES: [DEMO_SCENARIO, "b.jsonl"] }),
    `replaying ${DEMO_SCENARIO}, b.jsonl`,
  );
  assert.equal(describeIntake({ mode: "live", REPLAY_FILES: [] }), "polling OpenSky live");
});

Deno.test({
  name: "entries: development mode only on a loopback HOST (`deno task up` listens on 0.0.0.0)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const lines: string[] = [];
    for (const [host, want] of [["0.0.0.0", "production"], ["127.0.0.1", "development"]]) {
      const bus = new MemoryBus();
      const web = await startWeb({
        config: parseWebConfig({ PORT: "0", HOST: host }),
        bus,
        db: null,
        dev: true,
        build: "never",
        log: (line) => lines.push(line),
      });
      try {
        assert.equal(web.mode, want, host);
      } finally {
        await web.stop();
        await bus.close();
      }
    }
    assert.ok(lines.some((l) => /production mode .* HOST=0\.0\.0\.0/.test(l)), lines.join("\n"));
  },
});
