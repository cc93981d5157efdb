/**
 * `deno task manifest`: regenerates `routes.gen.ts` from `routes/` and
 * `islands/`. With `--check`, writes nothing and exits 1 when the committed
 * file is out of date.
 *
 * @module
 */
import { generateManifest, scanProject } from "../lib/framework/generate.ts";

/** The project root: the folder above scripts/. */
export const ROOT: URL = new URL("../", import.meta.url);
const TARGET = new URL("routes.gen.ts", ROOT);

/** Writes routes.gen.ts when it changed; returns true when it did. */
export async function writeManifest(root: URL = ROOT): Promise<boolean> {
  const text = generateManifest(await scanProject(root));
  const target = new URL("routes.gen.ts", root);
  const current = await Deno.readTextFile(target).catch(() => null);
  if (current === text) return false;
  await Deno.writeTextFile(target, text);
  return true;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const text = generateManifest(await scanProject(ROOT));
    const current = await Deno.readTextFile(TARGET).catch(() => null);
    if (current !== text) {
      console.error("routes.gen.ts is out of date: run `deno task manifest`");
      Deno.exit(1);
    }
    console.log("routes.gen.ts is up to date");
  } else {
    const changed = await writeManifest();
    console.log(changed ? "routes.gen.ts updated" : "routes.gen.ts unchanged");
  }
}
