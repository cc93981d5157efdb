/**
 * Every service runs with the narrowest Deno permissions that work, written in
 * its deno.json task. These tests take the REAL flags from deno.json and prove
 * that Deno refuses what lies outside them:
 *
 * - each `deno run` task's flags run tests/_permission_probe.ts, which tries to
 *   read and write files outside the lists, connect to an address that is not
 *   listed, read an unlisted variable, start a program and ask for OS
 *   information; every attempt must fail with a permission error, while every
 *   permission the flags list is granted;
 * - the real entry points run under their task's flags: the producer asked to
 *   record outside `.data/recordings` is refused (and records inside it), and
 *   every service pointed at a Kafka broker or database address that is not in
 *   its `--allow-net` is refused before a single connection is made.
 *
 * Nothing here needs Kafka or PostgreSQL: the "broker" and the "database" are
 * listeners of the test that count connections (there must be none).
 * A service task missing from deno.json fails its tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type DenoRunCommand,
  denoRunTasks,
  ROOT_PATH,
  SERVICE_TASKS,
  splitHost,
  unrestricted,
} from "./_task_flags.ts";
import type { ProbeReport, ProbeSpec } from "./_permission_probe.ts";

const tasks = await denoRunTasks();
const PROBE = "tests/_permission_probe.ts";
const PROBE_ENV = "SKYSENTINEL_PERMISSION_PROBE";

/** A TCP listener on a free port that counts the connections it gets. */
class CountingListener {
  readonly #listener: Deno.TcpListener;
  readonly #loop: Promise<void>;
  connections = 0;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.connections++;
        conn.close();
      }
    } catch {
      // closed
    }
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#loop;
  }
}

/** The environment of a child: only what Deno itself needs, plus `vars`. */
function childEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...vars };
}

function allowed(command: DenoRunCommand, kind: keyof DenoRunCommand["permissions"]): string[] {
  return command.permissions[kind] ?? [];
}

/** What every permission list in `command` grants, as query descriptors. */
function grantedDescriptors(command: DenoRunCommand): Deno.PermissionDescriptor[] {
  const out: Deno.PermissionDescriptor[] = [];
  for (const path of allowed(command, "read")) out.push({ name: "read", path });
  for (const path of allowed(command, "write")) out.push({ name: "write", path });
  for (const variable of allowed(command, "env")) out.push({ name: "env", variable });
  for (const host of allowed(command, "net")) out.push({ name: "net", host });
  for (const cmd of allowed(command, "run")) out.push({ name: "run", command: cmd });
  for (const kind of allowed(command, "sys")) {
    out.push({ name: "sys", kind: kind as Deno.SysPermissionDescriptor["kind"] });
  }
  return out;
}

/** True when the task's `--allow-env` list covers `name` (entries may end in `*`). */
function envListed(command: DenoRunCommand, name: string): boolean {
  return allowed(command, "env").some((entry) =>
    entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : entry === name
  );
}

/** True when the task's `--allow-net` list lets it connect to `hostname:port`. */
function netListed(command: DenoRunCommand, hostname: string, port: number): boolean {
  return allowed(command, "net").some((entry) => {
    const allowedHost = splitHost(entry);
    return allowedHost.hostname === hostname &&
      (allowedHost.port === null || allowedHost.port === port);
  });
}

/**
 * An address the task may not connect to: the test's counting listener, or,
 * when the task may connect to every port of 127.0.0.1, an address from the
 * documentation range 192.0.2.0/24 (refused before any packet is sent).
 */
function outsideNetTarget(
  command: DenoRunCommand,
  task: string,
  listener: CountingListener,
): { hostname: string; port: number } {
  if (!netListed(command, "127.0.0.1", listener.port)) {
    return { hostname: "127.0.0.1", port: listener.port };
  }
  console.warn(
    `[permissions] task ${task} may connect to every port of 127.0.0.1 ` +
      `(--allow-net=${allowed(command, "net").join(",")}); probing 192.0.2.1 instead`,
  );
  return { hostname: "192.0.2.1", port: 9 };
}

/** True when `path` (absolute) is inside one of the (repository-relative or absolute) `roots`. */
function inside(path: string, roots: string[]): boolean {
  return roots.some((root) => {
    const abs = root.startsWith("/") ? root : `${ROOT_PATH}/${root.replace(/^\.\/?/, "")}`;
    const base = abs.replace(/\/+$/, "");
    return base === "" || path === base || path.startsWith(`${base}/`);
  });
}

interface RunResult {
  code: number | null;
  output: string;
  matched: boolean;
}

/**
 * Runs `deno <args>` from the repository root until `pattern` shows up in its
 * output or it exits; then stops it (SIGTERM, SIGKILL if it does not go).
 */
async function runUntil(
  args: string[],
  env: Record<string, string>,
  pattern: RegExp,
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT_PATH,
    clearEnv: true,
    env: childEnv(env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let matched = false;
  let onMatch: () => void = () => {};
  const matchedOnce = new Promise<void>((resolve) => (onMatch = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (!matched && pattern.test(output)) {
        matched = true;
        onMatch();
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  // Only a guard against a hang: no assertion depends on how long anything takes.
  let guard: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<void>((resolve) => (guard = setTimeout(resolve, 180_000)));
  const first = await Promise.race([
    child.status.then(() => "exited" as const),
    matchedOnce.then(() => "matched" as const),
    hung.then(() => "hung" as const),
  ]);
  clearTimeout(guard);
  let status: Deno.CommandStatus;
  if (first === "exited") {
    status = await child.status;
  } else {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const stopped = await Promise.race([
      child.status,
      new Promise<null>((resolve) => (killTimer = setTimeout(() => resolve(null), 20_000))),
    ]);
    clearTimeout(killTimer);
    if (stopped === null) child.kill("SIGKILL");
    status = stopped ?? await child.status;
  }
  await pumps;
  return { code: first === "exited" ? status.code : null, output, matched };
}

// ---------------------------------------------------------------------------------------------
// The flags themselves

for (const name of SERVICE_TASKS) {
  const command = tasks[name];
  Deno.test({
    name: `permissions: task ${name} grants explicit lists only`,
    fn() {
      assert.ok(command);
      assert.deepEqual(
        unrestricted(command),
        [],
        `${name}: -A or a permission flag without a list`,
      );
      for (const kind of ["net", "env", "read"] as const) {
        assert.ok(
          (command.permissions[kind] ?? []).length > 0,
          `${name}: expected --allow-${kind}=<list>`,
        );
      }
      assert.ok(
        !allowed(command, "read").some((p) => p === "/" || p === ".."),
        `${name}: reads the whole file system`,
      );
      assert.ok(
        !allowed(command, "write").includes("."),
        `${name}: may write anywhere in the repo`,
      );
    },
  });
}

// Tasks with a permission flag that is not a list, each with why, and the README sentence that
// says so to users. Nothing else may have one (benchmark tools with -A are the probe's exception).
const UNLISTED: Record<string, { kind: string; readme: RegExp }> = {
  // deploy.ts connects to HUB_UPSTREAM_URL and DATABASE_URL, hosts that whoever deploys chooses
  // (and Deno Deploy itself ignores permission flags), so no list can be written in deno.json.
  deploy: {
    kind: "net",
    readme: /`deno task deploy`[^`]{0,80}bare `--allow-net`[^`]{0,80}`HUB_UPSTREAM_URL`/,
  },
  // detect exists to run on the user's own recordings, wherever they are: it may read any file,
  // and has no network, no environment and no write permission at all.
  detect: { kind: "read", readme: /`deno task detect`[^`]{0,80}bare `--allow-read`/ },
  // alerts POSTs webhooks to the hosts users put in their rules; it refuses private networks in
  // code instead (services/alerts/webhook.ts).
  alerts: { kind: "net", readme: /`deno task alerts`[^`]{0,80}bare\s+`--allow-net`/ },
};

Deno.test("permissions: only the tasks listed here have a flag without a list, and README says why", async () => {
  const readme = await Deno.readTextFile(`${ROOT_PATH}/README.md`);
  for (const [name, command] of Object.entries(tasks)) {
    if (command.allowAll) continue;
    const bare = unrestricted(command);
    const exception = UNLISTED[name];
    assert.deepEqual(bare, exception ? [exception.kind] : [], `task ${name}: bare ${bare}`);
    if (!exception) continue;
    assert.match(readme, exception.readme, `README does not say why ${name} has a bare flag`);
    for (const [kind, list] of Object.entries(command.permissions)) {
      if (kind !== exception.kind) assert.ok((list ?? []).length > 0, `${name}: --allow-${kind}`);
    }
    assert.equal(command.permissions.write, undefined, `${name} writes nothing`);
  }
});

// ---------------------------------------------------------------------------------------------
// The probe, under every `deno run` task's flags

// Benchmark and load tools (`bench:globe`, `load`) run with -A on purpose: they start browsers and
// servers of their own and are no part of a deployment. Every other task is probed.
for (const [name, command] of Object.entries(tasks).filter(([, c]) => !c.allowAll)) {
  Deno.test({
    name: `permissions: under task ${name}'s flags, what they do not list is refused`,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "skysentinel-permissions-" });
      const listener = new CountingListener();
      try {
        const secret = `${dir}/secret.txt`;
        await Deno.writeTextFile(secret, "not for services\n");
        const written = `${dir}/written.txt`;
        assert.ok(!inside(secret, allowed(command, "read")), `${name} may read ${secret}`);
        assert.ok(!inside(written, allowed(command, "write")), `${name} may write ${written}`);
        assert.ok(!envListed(command, PROBE_ENV), `${name} may read ${PROBE_ENV}`);
        const target = outsideNetTarget(command, name, listener);

        const spec: ProbeSpec = { granted: grantedDescriptors(command) };
        if (command.permissions.read !== null) spec.read = secret;
        if (command.permissions.write !== null) spec.write = written;
        if (command.permissions.net !== null) spec.net = target;
        if (command.permissions.env !== null) spec.env = PROBE_ENV;
        if (command.permissions.run !== null) {
          spec.run = ["true", "sh", "ls"].find((p) => !allowed(command, "run").includes(p));
        }
        if (command.permissions.sys !== null) {
          spec.sys = (["hostname", "osRelease", "loadavg"] as const).find((k) =>
            !allowed(command, "sys").includes(k)
          );
        }

        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...command.flags, PROBE, JSON.stringify(spec)],
          cwd: ROOT_PATH,
          clearEnv: true,
          env: childEnv({ [PROBE_ENV]: "set, but not in the task's --allow-env" }),
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `probe failed under ${name}'s flags:\n${stderr}`);
        const report = JSON.parse(new TextDecoder().decode(out.stdout)) as ProbeReport;

        const tried = Object.keys(report.attempts);
        for (const kind of ["read", "write", "net", "env", "run", "sys"] as const) {
          if (spec[kind] !== undefined) assert.ok(tried.includes(kind), `${kind} not attempted`);
        }
        for (const [what, result] of Object.entries(report.attempts)) {
          assert.ok(
            result.refused,
            `${name}: ${what} outside the flags was not refused: ${result.outcome} ${result.message}`,
          );
          assert.equal(result.outcome, "NotCapable", `${name}: ${what}: ${result.message}`);
        }
        if (spec.write) {
          await assert.rejects(() => Deno.stat(written), Deno.errors.NotFound);
        }
        assert.equal(listener.connections, 0, `${name}: a connection reached ${listener.address}`);
        for (const [descriptor, state] of Object.entries(report.granted)) {
          assert.equal(state, "granted", `${name}: ${descriptor} is listed but not granted`);
        }
      } finally {
        await listener.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The real entry points under their real flags

function taskArgs(command: DenoRunCommand): string[] {
  return ["run", ...command.flags, command.entry, ...command.args];
}

const producer = tasks.producer;

Deno.test({
  name: "permissions: the producer cannot record outside .data/recordings",
  async fn() {
    assert.ok(producer);
    const dir = await Deno.makeTempDir({ prefix: "skysentinel-outside-" });
    const opensky = new CountingListener();
    try {
      const recordDir = `${dir}/recordings`;
      const result = await runUntil(
        taskArgs(producer),
        {
          OPENSKY_MODE: "record",
          RECORD_DIR: recordDir,
          OPENSKY_API_URL: `http://${opensky.address}/api`,
        },
        /Cannot record into [^:]*: no permission to write/,
      );
      assert.ok(result.matched, `no write refusal in the producer's output:\n${result.output}`);
      const refused = /Cannot record into ([^:]*): no permission/.exec(result.output)?.[1] ?? "";
      assert.ok(refused.startsWith(dir), `refused ${refused}, expected a path under ${dir}`);
      assert.notEqual(result.code, 0, "the producer should stop when it cannot record");
      await assert.rejects(() => Deno.stat(recordDir), Deno.errors.NotFound);
      assert.equal(opensky.connections, 0);
    } finally {
      await opensky.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "permissions: the producer records inside .data/recordings, and may not reach a " +
    "host missing from --allow-net",
  async fn() {
    assert.ok(producer);
    const relative = `.data/recordings/permissions-test-${crypto.randomUUID()}`;
    const recordDir = `${ROOT_PATH}/${relative}`;
    const opensky = new CountingListener();
    try {
      const result = await runUntil(
        taskArgs(producer),
        {
          OPENSKY_MODE: "record",
          RECORD_DIR: relative,
          OPENSKY_API_URL: `http://${opensky.address}/api`,
          POLL_INTERVAL_SECONDS: "3600",
        },
        /recording replies/,
      );
      assert.ok(result.matched, `the producer did not start recording:\n${result.output}`);
      const files = [];
      for await (const entry of Deno.readDir(recordDir)) files.push(entry.name);
      assert.equal(files.length, 1, `expected one recording in ${recordDir}`);
      assert.match(files[0]!, /^opensky_states_.*\.jsonl\.gz$/);
      // The first poll goes to a host that is not in --allow-net: refused, nothing arrives.
      assert.equal(opensky.connections, 0, "a request reached the unlisted OpenSky address");
    } finally {
      await opensky.close();
      await Deno.remove(recordDir, { recursive: true }).catch(() => {});
    }
  },
});

/** Services and what to set so that they try the bus (and database) first. */
const NET_CASES: { task: string; env: Record<string, string>; database: boolean }[] = [
  { task: "producer", env: { OPENSKY_MODE: "replay" }, database: false },
  { task: "replay", env: {}, database: false },
  { task: "worker", env: {}, database: true },
  { task: "web", env: {}, database: true },
  { task: "migrate", env: {}, database: true },
];

for (const { task, env, database } of NET_CASES) {
  const command = tasks[task];
  Deno.test({
    name: `permissions: task ${task} may not connect to a broker or database outside ` +
      "--allow-net",
    sanitizeResources: false,
    async fn() {
      assert.ok(command);
      const brokerListener = new CountingListener();
      const dbListener = new CountingListener();
      try {
        const broker = outsideNetTarget(command, task, brokerListener);
        const db = outsideNetTarget(command, task, dbListener);
        const vars: Record<string, string> = { ...env };
        if (envListed(command, "KAFKA_BROKERS")) {
          vars.KAFKA_BROKERS = `${broker.hostname}:${broker.port}`;
        }
        if (database && envListed(command, "DATABASE_URL")) {
          vars.DATABASE_URL = `postgres://probe:probe@${db.hostname}:${db.port}/probe`;
        }
        assert.ok(
          vars.KAFKA_BROKERS || vars.DATABASE_URL,
          `${task} reads neither KAFKA_BROKERS nor DATABASE_URL`,
        );
        const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const refusal = new RegExp(
          `Requires net access to "(${escape(`${broker.hostname}:${broker.port}`)}|` +
            `${escape(`${db.hostname}:${db.port}`)})"`,
        );
        const result = await runUntil(taskArgs(command), vars, refusal);
        assert.ok(
          result.matched,
          `${task}: no net refusal for ${vars.KAFKA_BROKERS ?? "-"} / ` +
            `${vars.DATABASE_URL ?? "-"} in its output (exit ${result.code}):\n${result.output}`,
        );
        assert.doesNotMatch(result.output, /Requires (env|read|write|sys|run) access/);
        assert.equal(brokerListener.connections, 0, `${task}: a connection reached the broker`);
        assert.equal(dbListener.connections, 0, `${task}: a connection reached the database`);
      } finally {
        await brokerListener.close();
        await dbListener.close();
      }
    },
  });
}
