/**
 * compose.yaml, deploy/ and the Dockerfile against the code: no Docker engine
 * is needed (these machines have none). The file is parsed and checked for
 *
 * - the services of the stack, one-shot initialisation, health checks that
 *   really check, and start-up order;
 * - each Deno service's `deno run` flags: explicit lists, no `-A`, and for
 *   producer, worker, web and migrate the same lists as its deno.json task,
 *   with 127.0.0.1:9092 -> redpanda:9092 and 127.0.0.1:55432 -> postgres:5432;
 * - environment: only variables the service reads (lib/config.ts envNames)
 *   and may read (its --allow-env), broker and database addresses it may
 *   connect to, ports that agree with the health checks, the published ports
 *   and Prometheus' scrape targets;
 * - Grafana's provisioning (its dashboard's metrics: grafana_metrics_test.ts).
 *
 * Where `docker compose` works, `docker compose config` must accept the file;
 * elsewhere that test is ignored, with the reason in its name (and in the log
 * under CI).
 *
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { envNames, type ServiceName } from "../lib/config.ts";
import {
  type DenoRunCommand,
  denoRunTasks,
  parseDenoRun,
  ROOT,
  ROOT_PATH,
  splitHost,
  unrestricted,
} from "./_task_flags.ts";

type Env = Record<string, string>;

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}

interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target?: number; published?: number | string })[];
  volumes?: (string | { source?: string; target?: string })[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: { names: string[]; port: number }[];
}

async function readYaml<T>(path: string): Promise<T> {
  // merge: compose.yaml uses `<<: *anchor` (YAML merge keys), as `docker compose` accepts.
  return parse(await Deno.readTextFile(new URL(path, ROOT)), { merge: true }) as T;
}

const compose = await readYaml<Compose>("compose.yaml");
const prometheus = await readYaml<{ scrape_configs: ScrapeConfig[] }>("deploy/prometheus.yml");
const tasks = await denoRunTasks();

/** The Deno programs in compose.yaml, with their deno.json task and lib/config.ts service. */
const DENO_SERVICES: {
  service: string;
  task: string | null;
  config: ServiceName | null;
  oneShot: boolean;
  /** Bare `--allow-net` like its task (alerts: webhook targets are any host; see README). */
  bareNet?: boolean;
}[] = [
  { service: "topics-init", task: null, config: null, oneShot: true },
  { service: "migrate", task: "migrate", config: null, oneShot: true },
  { service: "producer", task: "producer", config: "producer", oneShot: false },
  { service: "worker", task: "worker", config: "worker", oneShot: false },
  { service: "web", task: "web", config: "web", oneShot: false },
  { service: "alerts", task: "alerts", config: "worker", oneShot: false, bareNet: true },
];
const bareNet = (name: string) => DENO_SERVICES.find((d) => d.service === name)?.bareNet ?? false;

/** Where each long-running service serves /metrics and /healthz. */
const PORT_VARIABLE: Record<string, string> = {
  producer: "PRODUCER_PORT",
  worker: "WORKER_PORT",
  web: "PORT",
  alerts: "ALERTS_PORT",
};

/** deno.json tasks address the local services (`deno task services`); compose its own. */
const HOST_MAP: Record<string, string> = {
  "127.0.0.1:9092": "redpanda:9092",
  "localhost:9092": "redpanda:9092",
  "127.0.0.1:55432": "postgres:5432",
  "localhost:55432": "postgres:5432",
};

const LOOPBACK = new Set(["127.0.0.1", "localhost"]);

/** A task's --allow-net in compose terms; loopback without a port may mean either backing service. */
function mapTaskNet(entries: string[]): string[] {
  const out = new Set<string>();
  for (const entry of entries) {
    const { hostname, port } = splitHost(entry);
    if (HOST_MAP[entry]) out.add(HOST_MAP[entry]);
    else if (LOOPBACK.has(hostname) && port === null) {
      out.add("redpanda");
      out.add("postgres");
    } else out.add(entry);
  }
  return [...out].sort();
}

/** True when the `--allow-net` list `allowed` lets a program reach `entry`. */
function permits(allowed: string[], entry: string): boolean {
  const wanted = splitHost(entry);
  return allowed.some((a) => {
    const have = splitHost(a);
    return have.hostname === wanted.hostname && (have.port === null || have.port === wanted.port);
  });
}

function service(name: string): ComposeService {
  const s = compose.services[name];
  assert.ok(s, `compose.yaml has no service ${name}`);
  return s;
}

function environment(s: ComposeService): Env {
  const env: Env = {};
  if (Array.isArray(s.environment)) {
    for (const line of s.environment) {
      const eq = line.indexOf("=");
      env[eq < 0 ? line : line.slice(0, eq)] = eq < 0 ? "" : line.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = v === null ? "" : String(v);
  }
  return env;
}

function denoCommand(name: string): DenoRunCommand {
  const s = service(name);
  assert.ok(Array.isArray(s.command), `${name}: command should be a list (exec form)`);
  const parsed = parseDenoRun(s.command.map(String));
  assert.ok(parsed, `${name}: command is not a single \`deno run ...\`: ${s.command.join(" ")}`);
  return parsed;
}

function list(command: DenoRunCommand, kind: keyof DenoRunCommand["permissions"]): string[] {
  return [...new Set(command.permissions[kind] ?? [])].sort();
}

function listed(entries: string[], name: string): boolean {
  return entries.some((e) => (e.endsWith("*") ? name.startsWith(e.slice(0, -1)) : e === name));
}

function healthTest(s: ComposeService): string[] {
  const test = s.healthcheck?.test;
  if (test === undefined) return [];
  return Array.isArray(test) ? test.map(String) : ["CMD-SHELL", test];
}

function dependsOn(s: ComposeService): Record<string, string> {
  if (Array.isArray(s.depends_on)) {
    return Object.fromEntries(s.depends_on.map((d) => [d, "service_started"]));
  }
  return Object.fromEntries(
    Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition ?? "service_started"]),
  );
}

/** Container ports published by a service. */
function publishedTargets(s: ComposeService): number[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === "object") return Number(p.target);
    const withoutProtocol = p.split("/")[0]!;
    return Number(withoutProtocol.split(":").at(-1));
  });
}

function scrapeTargets(job: string): { host: string; port: number }[] {
  const config = prometheus.scrape_configs.find((c) => c.job_name === job);
  if (!config) return [];
  const out: { host: string; port: number }[] = [];
  for (const sc of config.static_configs ?? []) {
    for (const t of sc.targets) {
      const { hostname, port } = splitHost(t);
      out.push({ host: hostname, port: port ?? 80 });
    }
  }
  for (const dns of config.dns_sd_configs ?? []) {
    for (const n of dns.names) out.push({ host: n, port: dns.port });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Deno.test("compose: the stack's services are all there", () => {
  for (
    const name of [
      "redpanda",
      "postgres",
      "topics-init",
      "migrate",
      "producer",
      "worker",
      "web",
      "alerts",
      "prometheus",
      "grafana",
    ]
  ) service(name);
  assert.match(service("redpanda").image ?? "", /redpandadata\/redpanda:v\d+\.\d+\.\d+$/);
  assert.ok(
    (service("redpanda").command as string[]).includes("--mode=dev-container"),
    "redpanda: single node in dev-container mode",
  );
  assert.match(service("postgres").image ?? "", /^postgres:15/);
  assert.ok(
    (service("postgres").volumes ?? []).some((v) =>
      String(typeof v === "string" ? v : v.target).includes("/var/lib/postgresql/data")
    ),
    "postgres: data on a volume",
  );
});

Deno.test("compose: Deno services run `deno run` from the one image with explicit permission lists", async () => {
  const images = new Set<string>();
  const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  for (const { service: name } of DENO_SERVICES) {
    const s = service(name);
    const command = denoCommand(name);
    assert.deepEqual(
      unrestricted(command),
      bareNet(name) ? ["net"] : [],
      `${name}: -A or a permission flag without a list`,
    );
    for (const kind of bareNet(name) ? ["env"] as const : ["net", "env"] as const) {
      assert.ok(list(command, kind).length > 0, `${name}: expected --allow-${kind}=<list>`);
    }
    await Deno.stat(new URL(command.entry, ROOT)).catch(() => {
      assert.fail(`${name}: entry ${command.entry} does not exist`);
    });
    assert.ok(
      dockerfile.includes(command.entry),
      `${name}: the Dockerfile does not cache ${command.entry}`,
    );
    assert.equal(
      typeof s.build === "string" ? s.build : s.build?.context,
      ".",
      `${name}: built from the Dockerfile`,
    );
    images.add(s.image ?? "");
  }
  assert.equal(images.size, 1, `one image for all Deno services, got ${[...images].join(", ")}`);
});

for (const { service: name, task } of DENO_SERVICES) {
  if (task === null) continue;
  const taskCommand = tasks[task];
  Deno.test({
    name: `compose: ${name}'s flags are its deno.json task's, with compose host names`,
    fn() {
      assert.ok(taskCommand);
      const c = denoCommand(name);
      assert.equal(c.entry, taskCommand.entry, `${name}: entry`);
      assert.deepEqual(c.args, taskCommand.args, `${name}: arguments`);
      assert.deepEqual([...c.otherFlags].sort(), [...taskCommand.otherFlags].sort(), "flags");
      assert.deepEqual(unrestricted(c), unrestricted(taskCommand), `${name}: bare flags`);
      for (const kind of ["env", "read", "write", "run", "sys", "ffi", "import"] as const) {
        assert.deepEqual(list(c, kind), list(taskCommand, kind), `${name}: --allow-${kind}`);
      }
      // Equal lists when the task names host:port; where the task allows every port of the
      // loopback (embedded database, relay), compose may only be narrower.
      const composeNet = list(c, "net");
      const mapped = mapTaskNet(list(taskCommand, "net"));
      for (const entry of composeNet) {
        assert.ok(permits(mapped, entry), `${name}: ${entry} is not allowed by task ${task}`);
      }
      for (const entry of mapped) {
        if (splitHost(entry).port !== null) {
          assert.ok(composeNet.includes(entry), `${name}: --allow-net lacks ${entry}`);
        }
      }
      assert.ok(
        !composeNet.some((h) => /^(127\.0\.0\.1|localhost)(:|$)/.test(h)),
        `${name}: loopback in --allow-net inside a container`,
      );
    },
  });
}

Deno.test("compose: topics-init creates the topics and may only reach the broker", () => {
  const c = denoCommand("topics-init");
  assert.equal(c.entry, "scripts/init_topics.ts");
  assert.deepEqual(list(c, "net"), ["redpanda:9092"]);
  assert.deepEqual(list(c, "read"), []);
  assert.deepEqual(list(c, "write"), []);
  assert.ok(listed(list(c, "env"), "KAFKA_BROKERS"));
  // kafkajs reads these when it loads: without them it stops with NotCapable.
  for (const name of ["KAFKAJS_LOG_LEVEL", "NODE_ENV"]) assert.ok(listed(list(c, "env"), name));
});

Deno.test("compose: services set only variables they read and may read", () => {
  for (const { service: name, config } of DENO_SERVICES) {
    const env = environment(service(name));
    const allowEnv = list(denoCommand(name), "env");
    const reads = config ? new Set(envNames(config)) : null;
    for (const variable of Object.keys(env)) {
      assert.ok(listed(allowEnv, variable), `${name}: sets ${variable}, not in its --allow-env`);
      if (reads) assert.ok(reads.has(variable), `${name}: sets ${variable}, which it never reads`);
    }
  }
});

Deno.test("compose: broker and database addresses are ones the services may connect to", () => {
  for (const { service: name } of DENO_SERVICES) {
    const env = environment(service(name));
    const net = list(denoCommand(name), "net");
    const addresses: string[] = [];
    if (env.KAFKA_BROKERS) addresses.push(...env.KAFKA_BROKERS.split(",").map((b) => b.trim()));
    if (env.DATABASE_URL) {
      const url = new URL(env.DATABASE_URL.replace(/\$\{[^}]*\}/g, "x"));
      addresses.push(`${url.hostname}:${url.port || "5432"}`);
    }
    for (const address of addresses) {
      if (!bareNet(name)) {
        assert.ok(net.includes(address), `${name}: ${address} is not in --allow-net=${net}`);
      }
      const host = splitHost(address).hostname;
      assert.ok(compose.services[host], `${name}: ${address} is not a compose service`);
    }
  }
  assert.equal(environment(service("producer")).KAFKA_BROKERS, "redpanda:9092");
  for (const name of ["worker", "web", "migrate"]) {
    assert.match(environment(service(name)).DATABASE_URL ?? "", /@postgres:5432\//);
  }
});

Deno.test("compose: ports agree with health checks, --allow-net, published ports and Prometheus", () => {
  for (const [name, variable] of Object.entries(PORT_VARIABLE)) {
    const env = environment(service(name));
    const port = Number(env[variable] ?? NaN);
    assert.ok(Number.isInteger(port) && port > 0, `${name}: ${variable} is set`);
    const net = list(denoCommand(name), "net");
    assert.ok(
      bareNet(name) || net.includes(`0.0.0.0:${port}`),
      `${name}: may not listen on 0.0.0.0:${port} (--allow-net=${net})`,
    );
    const check = healthTest(service(name)).join(" ");
    assert.ok(
      check.includes(`http://127.0.0.1:${port}/healthz`),
      `${name}: health check does not ask :${port}/healthz`,
    );
    const targets = scrapeTargets(name);
    assert.ok(targets.length > 0, `deploy/prometheus.yml has no job ${name}`);
    for (const t of targets) {
      assert.deepEqual(
        t,
        { host: name, port },
        `prometheus job ${name} scrapes ${t.host}:${t.port}`,
      );
    }
  }
  assert.deepEqual(publishedTargets(service("web")), [Number(environment(service("web")).PORT)]);
  assert.deepEqual(publishedTargets(service("grafana")), [3000]);
  assert.deepEqual(publishedTargets(service("prometheus")), [9090]);
  for (const config of prometheus.scrape_configs) {
    for (const t of scrapeTargets(config.job_name)) {
      if (t.host === "127.0.0.1" || t.host === "localhost") continue; // Prometheus itself
      assert.ok(
        compose.services[t.host],
        `prometheus job ${config.job_name}: no service ${t.host}`,
      );
    }
  }
});

Deno.test("compose: health checks really check, and start-up waits for them", () => {
  for (const [name, s] of Object.entries(compose.services)) {
    const oneShot = DENO_SERVICES.find((d) => d.service === name)?.oneShot ?? false;
    if (oneShot) {
      assert.equal(s.restart, "no", `${name}: one-shot`);
      continue;
    }
    const test = healthTest(s);
    assert.ok(test.length >= 2, `${name}: no health check`);
    assert.ok(["CMD", "CMD-SHELL"].includes(test[0]!), `${name}: health check ${test.join(" ")}`);
    const command = test.slice(1).join(" ").trim();
    assert.ok(
      !/^(true|exit 0|:|echo\b.*)$/.test(command) && !/\|\|\s*true\s*$/.test(command),
      `${name}: the health check cannot fail: ${command}`,
    );
  }
  for (const name of Object.keys(PORT_VARIABLE)) {
    const test = healthTest(service(name));
    assert.deepEqual(test.slice(0, 3), ["CMD", "deno", "eval"], `${name}: deno eval probe`);
    assert.match(test.join(" "), /fetch\(.*\/healthz.*Deno\.exit\(r\.ok \? 0 : 1\)/s);
  }
  assert.match(healthTest(service("redpanda")).join(" "), /rpk cluster health/);
  assert.match(healthTest(service("postgres")).join(" "), /pg_isready .*-U skysentinel/);

  const expect = (name: string, wanted: Record<string, string>) => {
    const got = dependsOn(service(name));
    for (const [dep, condition] of Object.entries(wanted)) {
      assert.equal(got[dep], condition, `${name} depends on ${dep}: ${condition}`);
    }
  };
  expect("topics-init", { redpanda: "service_healthy" });
  expect("migrate", { postgres: "service_healthy" });
  expect("producer", {
    redpanda: "service_healthy",
    "topics-init": "service_completed_successfully",
  });
  for (const name of ["worker", "web", "alerts"]) {
    expect(name, {
      redpanda: "service_healthy",
      postgres: "service_healthy",
      "topics-init": "service_completed_successfully",
      migrate: "service_completed_successfully",
    });
  }
});

Deno.test("compose: Grafana is provisioned with Prometheus and the dashboard, viewable anonymously", async () => {
  const grafana = service("grafana");
  const env = environment(grafana);
  assert.equal(env.GF_AUTH_ANONYMOUS_ENABLED, "true");
  assert.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, "Viewer");
  const mounts = new Map(
    (grafana.volumes ?? []).map((v) => {
      const [source, target] = typeof v === "string" ? v.split(":") : [v.source, v.target];
      return [String(target), String(source)];
    }),
  );
  assert.equal(mounts.get("/etc/grafana/provisioning"), "./deploy/grafana/provisioning");
  const dashboards = await readYaml<{ providers: { options: { path: string } }[] }>(
    "deploy/grafana/provisioning/dashboards/dashboards.yml",
  );
  const path = dashboards.providers[0]?.options.path ?? "";
  assert.equal(mounts.get(path), "./deploy/grafana/dashboards", `dashboards mounted at ${path}`);
  const datasources = await readYaml<{ datasources: { uid: string; url: string }[] }>(
    "deploy/grafana/provisioning/datasources/prometheus.yml",
  );
  const ds = datasources.datasources[0];
  assert.ok(ds);
  assert.equal(ds.url, `http://prometheus:${publishedTargets(service("prometheus"))[0]}`);
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("deploy/grafana/dashboards/skysentinel.json", ROOT)),
  );
  const uids = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      if (o.datasource && typeof o.datasource === "object") {
        uids.add(String((o.datasource as { uid?: string }).uid));
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(dashboard);
  assert.deepEqual([...uids], [ds.uid], "panels use the provisioned datasource");
  const prom = service("prometheus");
  assert.ok(
    (prom.volumes ?? []).some((v) =>
      typeof v === "string" &&
      v.startsWith("./deploy/prometheus.yml:/etc/prometheus/prometheus.yml")
    ),
    "prometheus mounts deploy/prometheus.yml",
  );
});

Deno.test("compose: the image has what the services read, and runs as a non-root user", async () => {
  const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  assert.match(dockerfile, /^FROM denoland\/deno:[a-z]+-2\.9\.\d+$/m);
  assert.match(dockerfile, /^USER deno$/m);
  assert.match(dockerfile, /deno install --frozen/);
  const ignored = (await Deno.readTextFile(new URL(".dockerignore", ROOT)))
    .split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const { service: name } of DENO_SERVICES) {
    const c = denoCommand(name);
    for (const path of [c.entry, ...list(c, "read")]) {
      const top = path.replace(/^\.\//, "").split("/")[0]!;
      // Made inside the image, not copied: node_modules by `deno install`, .data (state) by mkdir.
      if (top === ".data" || top === "node_modules") continue;
      assert.ok(!ignored.includes(top), `${name} reads ${path}, which .dockerignore leaves out`);
    }
  }
});

/** Why the `docker compose config` test cannot run here, or null when it can. */
async function withoutDockerCompose(): Promise<string | null> {
  try {
    const version = await new Deno.Command("docker", {
      args: ["compose", "version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return version.success ? null : "`docker compose version` fails here";
  } catch {
    return "no `docker` command here";
  }
}

const noCompose = await withoutDockerCompose();
if (noCompose && Deno.env.get("CI") === "true") {
  console.log(`[compose] ignored \`docker compose config\`: ${noCompose}; the parsed checks ran`);
}

Deno.test({
  name: `compose: \`docker compose config\` accepts the file${
    noCompose ? ` (ignored: ${noCompose})` : ""
  }`,
  ignore: noCompose !== null,
  async fn() {
    const out = await new Deno.Command("docker", {
      args: ["compose", "-f", "compose.yaml", "config", "--quiet"],
      cwd: ROOT_PATH,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  },
});
