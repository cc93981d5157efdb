/**
 * A copy of the project in a temporary folder, for tests that run `deno task`
 * commands which write (island builds, `.data/`): they write into the copy,
 * never into the working tree. node_modules is hard-linked (fast, and its
 * paths stay inside the copy, so `--allow-read=.` covers them), fixtures/ is
 * a symbolic link (read only).
 *
 * @module
 */

export const ROOT_PATH = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);

/** Not copied: state, build output, VCS. */
const SKIP = new Set([".git", ".data", ".services", "_build", "test-artifacts", "node_modules"]);

/** Copies the project into a new temporary folder and returns its path. */
export async function copyProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_copy_" });
  const copy = async (from: string, to: string): Promise<void> => {
    for await (const entry of Deno.readDir(from)) {
      const source = `${from}/${entry.name}`;
      const target = `${to}/${entry.name}`;
      if (from === ROOT_PATH && SKIP.has(entry.name)) continue;
      if (from === ROOT_PATH && entry.name === "fixtures") await Deno.symlink(source, target);
      else if (entry.isDirectory) {
        await Deno.mkdir(target);
        await copy(source, target);
      } else if (entry.isFile) await Deno.copyFile(source, target);
    }
  };
  await copy(ROOT_PATH, dir);
  const linked = await new Deno.Command("cp", {
    args: ["-al", `${ROOT_PATH}/node_modules`, `${dir}/node_modules`],
  }).output();
  if (!linked.success) throw new Error(new TextDecoder().decode(linked.stderr));
  return dir;
}

/** Every file under `dir` (links not followed) with its size and modification time. */
export async function listing(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isSymlink) continue;
      if (entry.isDirectory) await walk(full);
      else {
        const info = await Deno.lstat(full);
        out.set(full.slice(dir.length), `${info.size}@${info.mtime?.getTime()}`);
      }
    }
  };
  await walk(dir);
  return out;
}
