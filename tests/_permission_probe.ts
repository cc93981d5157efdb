/**
 * Run by tests/permissions_test.ts under exactly one deno.json task's
 * permission flags (`deno run <the task's flags> tests/_permission_probe.ts
 * <spec>`): attempts things outside those flags and reports, as one JSON
 * line on stdout, whether Deno refused each of them; also reports the state
 * of every permission the flags list (which should all be granted).
 *
 * The spec (argument 1, JSON) names the attempts; each is made only when
 * present, so the test can leave out what a task legitimately grants.
 *
 * @module
 */

/** What to try (argument 1). */
export interface ProbeSpec {
  /** A file that exists, outside the task's read list. */
  read?: string;
  /** A file path outside the task's write list (must not exist afterwards). */
  write?: string;
  /** A listening address outside the task's net list. */
  net?: { hostname: string; port: number };
  /** A variable that is set, outside the task's env list. */
  env?: string;
  /** A program outside the task's run list. */
  run?: string;
  /** An OS information call outside the task's sys list. */
  sys?: "hostname" | "osRelease" | "loadavg";
  /** Permissions the flags grant: each is queried and should be "granted". */
  granted: Deno.PermissionDescriptor[];
}

/** One attempt's outcome. */
export interface AttemptResult {
  /** True when the operation failed with a permission error. */
  refused: boolean;
  /** `NotCapable`, `PermissionDenied`, or whatever else happened (`ok`, `ConnectionRefused`, ...). */
  outcome: string;
  message: string;
}

/** The JSON line written to stdout. */
export interface ProbeReport {
  attempts: Record<string, AttemptResult>;
  /** `JSON.stringify(descriptor)` → permission state. */
  granted: Record<string, Deno.PermissionState>;
}

async function attempt(fn: () => unknown): Promise<AttemptResult> {
  try {
    await fn();
    return { refused: false, outcome: "ok", message: "" };
  } catch (error) {
    const name = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : String(error);
    const refused = error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied;
    return { refused, outcome: name, message };
  }
}

async function probe(spec: ProbeSpec): Promise<ProbeReport> {
  const attempts: Record<string, AttemptResult> = {};
  if (spec.read) {
    const path = spec.read;
    attempts.read = await attempt(() => Deno.readTextFile(path));
  }
  if (spec.write) {
    const path = spec.write;
    attempts.write = await attempt(() => Deno.writeTextFile(path, "written outside the flags\n"));
  }
  if (spec.net) {
    const target = spec.net;
    attempts.net = await attempt(async () => {
      const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
      conn.close();
    });
  }
  if (spec.env) {
    const name = spec.env;
    attempts.env = await attempt(() => Deno.env.get(name));
    attempts.env_all = await attempt(() => Deno.env.toObject());
  }
  if (spec.run) {
    const program = spec.run;
    attempts.run = await attempt(() => new Deno.Command(program, { stdout: "null" }).output());
  }
  if (spec.sys) {
    const call = spec.sys;
    attempts.sys = await attempt(() => Deno[call]());
  }
  const granted: Record<string, Deno.PermissionState> = {};
  for (const descriptor of spec.granted) {
    granted[JSON.stringify(descriptor)] = (await Deno.permissions.query(descriptor)).state;
  }
  return { attempts, granted };
}

if (import.meta.main) {
  const spec = JSON.parse(Deno.args[0] ?? "{}") as Partial<ProbeSpec>;
  console.log(JSON.stringify(await probe({ ...spec, granted: spec.granted ?? [] })));
}
