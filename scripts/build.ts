/**
 * `deno task build`: regenerates `routes.gen.ts`, then bundles the islands
 * into `_build/islands/` and writes `_build/manifest.json` (what production
 * servers and Deno Deploy serve). Run with `--unstable-bundle` to bundle
 * in-process; without it a `deno bundle` subprocess is used, which needs
 * `--allow-run` for the deno binary.
 *
 * @module
 */
import { buildIslands, islandName } from "../lib/framework/mod.ts";
import { scanProject } from "../lib/framework/generate.ts";
import { ROOT, writeManifest } from "./manifest.ts";

if (import.meta.main) {
  const started = performance.now();
  if (await writeManifest(ROOT)) console.log("routes.gen.ts updated");
  const { islands } = await scanProject(ROOT);
  const build = await buildIslands(
    islands.map((file) => ({ name: islandName(file), url: new URL(file, ROOT) })),
    { outDir: new URL("_build/", ROOT), config: new URL("deno.json", ROOT) },
  );
  for (const [name, url] of Object.entries(build.islands)) console.log(`island ${name}: ${url}`);
  console.log(
    `built ${Object.keys(build.islands).length} island(s), ${build.files.length} file(s) in ` +
      `_build/islands/ in ${Math.round(performance.now() - started)} ms`,
  );
}
