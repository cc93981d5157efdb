/**
 * The top functions of a V8 CPU profile (`.cpuprofile`, as `deno run --cpu-prof` or
 * `bench:worker --cpu-prof=DIR` write it) by self time, and the top files.
 *
 * Run: `deno run --allow-read bench/cpuprofile_top.ts FILE [--top=N] [--callers=NAME]`.
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A .cpuprofile's JSON (the parts read here). */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A profile node's function as `name file:line`. */
function nodeKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`;
}

/**
 * Self time per function (name, file, line) and per file, ms, largest first; total time per
 * function (each sample counted once per function on its stack); and, for functions whose key
 * contains `callersOf`, their callers' share of their total time.
 */
export function selfTimes(profile: CpuProfile, callersOf?: string) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  // The delta after a sample is the time it stood for (V8's own convention: delta i+1).
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const file = shortUrl(node.callFrame.url);
    const key = nodeKey(node);
    fns.set(key, (fns.get(key) ?? 0) + us);
    files.set(file || "(native)", (files.get(file || "(native)") ?? 0) + us);
    total += us;
  }
  const inclusive = new Map<string, number>();
  const callers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = nodeKey(byId.get(at)!);
      if (callersOf && key.includes(callersOf)) {
        const up = parent.get(at);
        const caller = up === undefined ? "(root)" : nodeKey(byId.get(up)!);
        callers.set(caller, (callers.get(caller) ?? 0) + us);
      }
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: total / 1000,
    functions: sorted(fns),
    files: sorted(files),
    inclusive: sorted(inclusive),
    callers: sorted(callers),
  };
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|services|lib|contracts|bench)\//, "$1/")
    .replace(/^.*\/node_modules\/\.deno\//, "npm:");
}

if (import.meta.main) {
  const file = Deno.args.find((a) => !a.startsWith("--"));
  if (!file) {
    console.error("usage: bench/cpuprofile_top.ts FILE.cpuprofile [--top=N]");
    Deno.exit(2);
  }
  const top = Number(Deno.args.find((a) => a.startsWith("--top="))?.slice(6) ?? 30);
  const callersOf = Deno.args.find((a) => a.startsWith("--callers="))?.slice(10);
  const { totalMs, functions, files, inclusive, callers } = selfTimes(
    JSON.parse(await Deno.readTextFile(file)),
    callersOf,
  );
  const line = (p: { name: string; ms: number }) =>
    `${p.ms.toFixed(0).padStart(8)} ms ${
      (100 * p.ms / totalMs).toFixed(1).padStart(5)
    }%  ${p.name}`;
  console.log(`${file}: ${(totalMs / 1000).toFixed(2)} s sampled`);
  console.log("self time by function:");
  for (const f of functions.slice(0, top)) console.log(line(f));
  console.log("self time by file:");
  for (const f of files.slice(0, 15)) console.log(line(f));
  console.log("total time by function (self and callees):");
  for (const f of inclusive.slice(0, top)) console.log(line(f));
  if (callersOf) {
    console.log(`callers of ${callersOf} (its total time by caller):`);
    for (const f of callers.slice(0, 15)) console.log(line(f));
  }
}
