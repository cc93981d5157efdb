/**
 * `deno task contracts`: writes `contracts/schemas/*.schema.json` and
 * `contracts/examples/{good,bad}/*.json` from the zod source and the real
 * recordings in `fixtures/`. `--check` only compares and exits 1 on drift.
 */
import { EXAMPLE_SOURCES, generateExamples, generateSchemas } from "../contracts/generate.ts";

const root = new URL("../", import.meta.url);
const check = Deno.args.includes("--check");

const recordings = Object.fromEntries(
  await Promise.all(
    Object.entries(EXAMPLE_SOURCES).map(async ([name, file]) => [
      name,
      await Deno.readTextFile(new URL(`fixtures/${file}`, root)),
    ]),
  ),
) as Record<keyof typeof EXAMPLE_SOURCES, string>;

const files: Record<string, string> = {};
for (const [name, text] of Object.entries(generateSchemas())) files[`schemas/${name}`] = text;
const { good, bad } = generateExamples(recordings);
for (const [name, ex] of Object.entries(good)) {
  files[`examples/good/${name}`] = JSON.stringify(ex, null, 2) + "\n";
}
for (const [name, ex] of Object.entries(bad)) {
  files[`examples/bad/${name}`] = JSON.stringify(ex, null, 2) + "\n";
}

let drift = 0;
for (const [path, text] of Object.entries(files)) {
  const url = new URL(`contracts/${path}`, root);
  if (check) {
    const current = await Deno.readTextFile(url).catch(() => null);
    if (current !== text) {
      console.error(`drift: contracts/${path}`);
      drift++;
    }
  } else {
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, text);
  }
}
if (check && drift) {
  console.error(`${drift} file(s) differ: run \`deno task contracts\``);
  Deno.exit(1);
}
console.error(check ? "contracts up to date" : `wrote ${Object.keys(files).length} files`);
