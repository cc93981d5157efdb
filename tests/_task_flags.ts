/**
 * Reads the `deno run` tasks of deno.json and splits their command lines into
 * permission flags, other flags, the entry file and its arguments, so that
 * tests can run a service with exactly its task's permissions
 * (tests/permissions_test.ts) and compare them with compose.yaml
 * (tests/compose_test.ts).
 *
 * @module
 */

/** The repository root (this file is in `tests/`). */
export const ROOT = new URL("../", import.meta.url);
export const ROOT_PATH = decodeURIComponent(ROOT.pathname).replace(/\/$/, "");

/** The services every deployment runs; their tasks must exist once the stack is complete. */
export const SERVICE_TASKS = ["producer", "replay", "worker", "web", "migrate"] as const;

export type PermissionKind = "net" | "env" | "read" | "write" | "run" | "sys" | "ffi" | "import";
export const PERMISSION_KINDS: readonly PermissionKind[] = [
  "net",
  "env",
  "read",
  "write",
  "run",
  "sys",
  "ffi",
  "import",
];

/** A `deno run ...` command line, taken apart. */
export interface DenoRunCommand {
  /** Every flag before the entry, as written (permission flags included). */
  flags: string[];
  /**
   * Permission lists by kind: `["a", "b"]` for `--allow-x=a,b`, `null` for a
   * bare `--allow-x` (everything); kinds without a flag are absent.
   */
  permissions: Partial<Record<PermissionKind, string[] | null>>;
  /** `-A` / `--allow-all` present. */
  allowAll: boolean;
  /** Flags that are not permission flags (`--unstable-bundle`, `--config=...`). */
  otherFlags: string[];
  /** The script (path relative to the repository root). */
  entry: string;
  /** Arguments after the entry. */
  args: string[];
}

/** Flags of `deno run` that take their value as the next word. */
const FLAGS_WITH_VALUE = new Set([
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--location",
  "--seed",
  "--cert",
  "--ext",
  "--env-file",
  "--v8-flags",
]);

const SHORT_KINDS: Record<string, PermissionKind> = {
  "-N": "net",
  "-E": "env",
  "-R": "read",
  "-W": "write",
  "-S": "sys",
  "-I": "import",
};

/** Splits a command line into words (single and double quotes, no expansion). */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | null = null;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced quote in ${JSON.stringify(line)}`);
  if (inWord) words.push(word);
  return words;
}

/**
 * Parses `deno run [flags] entry [args]` given as words (a compose `command`
 * list or a split task). Null when it is not a single `deno run` command.
 */
export function parseDenoRun(words: readonly string[]): DenoRunCommand | null {
  if (words[0] !== "deno" || words[1] !== "run") return null;
  if (words.some((w) => ["&&", "||", ";", "|"].includes(w))) return null;
  const flags: string[] = [];
  const otherFlags: string[] = [];
  const permissions: DenoRunCommand["permissions"] = {};
  let allowAll = false;
  let i = 2;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("-")) break;
    flags.push(word);
    if (word === "-A" || word === "--allow-all") {
      allowAll = true;
      continue;
    }
    const [name, ...rest] = word.split("=");
    const value = rest.length > 0 ? rest.join("=") : null;
    const long = /^--allow-([a-z]+)$/.exec(name!);
    const kind = long ? long[1] as PermissionKind : SHORT_KINDS[name!];
    if (kind && PERMISSION_KINDS.includes(kind)) {
      const list = value === null ? null : value.split(",").map((s) => s.trim()).filter(Boolean);
      const before = permissions[kind];
      permissions[kind] = before === null || list === null ? null : [...(before ?? []), ...list];
      continue;
    }
    otherFlags.push(word);
    if (value === null && FLAGS_WITH_VALUE.has(name!) && i + 1 < words.length) {
      otherFlags.push(words[++i]!);
      flags.push(words[i]!);
    }
  }
  const entry = words[i];
  if (entry === undefined) return null;
  return { flags, permissions, allowAll, otherFlags, entry, args: words.slice(i + 1) };
}

/** deno.json's tasks as command strings (object-form tasks give their `command`). */
export async function readTasks(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const tasks: Record<string, string> = {};
  for (const [name, task] of Object.entries(config.tasks ?? {})) {
    const command = typeof task === "string" ? task : task.command;
    if (command) tasks[name] = command;
  }
  return tasks;
}

/** Every task that is a single `deno run` command, parsed. */
export async function denoRunTasks(): Promise<Record<string, DenoRunCommand>> {
  const out: Record<string, DenoRunCommand> = {};
  for (const [name, command] of Object.entries(await readTasks())) {
    const parsed = parseDenoRun(splitWords(command));
    if (parsed) out[name] = parsed;
  }
  return out;
}

/** Permission kinds granted without a list (`--allow-read` alone), and `-A`. */
export function unrestricted(command: DenoRunCommand): string[] {
  const out: string[] = command.allowAll ? ["all"] : [];
  for (const [kind, list] of Object.entries(command.permissions)) if (list === null) out.push(kind);
  return out;
}

/** `host:port` → `{hostname, port}`; port null when absent. */
export function splitHost(entry: string): { hostname: string; port: number | null } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return { hostname: v6[1]!, port: v6[2] ? Number(v6[2]) : null };
  const m = /^([^:]+)(?::(\d+))?$/.exec(entry);
  if (!m) return { hostname: entry, port: null };
  return { hostname: m[1]!, port: m[2] ? Number(m[2]) : null };
}
