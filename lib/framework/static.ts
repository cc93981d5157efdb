/**
 * Files from `static/` and the island bundles in `_build/islands/`: content
 * types, weak ETags and Last-Modified with 304s, Cache-Control, and no way
 * out of the folder (`..`, encoded slashes, dot files and symlinks leading
 * outside are all refused with a plain "not found").
 *
 * @module
 */

/** Content types by extension. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  geojson: "application/geo+json",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  xml: "application/xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  wasm: "application/wasm",
  webmanifest: "application/manifest+json",
});

/** Content type for a file name; `application/octet-stream` when unknown. */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  const ext = dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

/** A file found under a served folder. */
export interface StaticFile {
  path: string;
  size: number;
  mtime: Date | null;
}

const realRoots = new Map<string, Promise<string | null>>();

/**
 * The regular file that `pathname` names under `root`, or null. Every
 * segment is decoded and checked, so `%2e%2e`, `%2f` and dot files never
 * resolve; the real path must stay inside the real root.
 */
export async function resolveStaticFile(
  root: string,
  pathname: string,
): Promise<StaticFile | null> {
  const segments: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg.startsWith(".") || /[\/\\\0]/.test(seg)) return null;
    segments.push(seg);
  }
  if (segments.length === 0) return null;
  const realRoot = await realRootOf(root);
  if (realRoot === null) return null;
  const path = `${realRoot}/${segments.join("/")}`;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return null;
    // stat follows symlinks: a link inside the folder must not lead outside it.
    if (!(await Deno.realPath(path)).startsWith(`${realRoot}/`)) return null;
    return { path, size: info.size, mtime: info.mtime };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

function realRootOf(root: string): Promise<string | null> {
  let cached = realRoots.get(root);
  if (!cached) {
    cached = Deno.realPath(root).catch(() => null);
    // A missing folder may be created later (dev): do not remember the miss.
    cached.then((r) => r === null && realRoots.delete(root));
    realRoots.set(root, cached);
  }
  return cached;
}

/** Weak validator from size and modification time. */
export function etagOf(file: StaticFile): string {
  const mtime = file.mtime?.getTime() ?? 0;
  return `W/"${file.size.toString(16)}-${mtime.toString(16)}"`;
}

/** Options for {@link serveFile}. */
export interface ServeFileOptions {
  /** Cache-Control value. */
  cacheControl: string;
}

/** Answers a GET or HEAD for `file`, with 304 when the client's copy is current. */
export async function serveFile(
  req: Request,
  file: StaticFile,
  options: ServeFileOptions,
): Promise<Response> {
  const etag = etagOf(file);
  const headers = new Headers({
    "Content-Type": contentType(file.path),
    "Cache-Control": options.cacheControl,
    "ETag": etag,
  });
  if (file.mtime) headers.set("Last-Modified", file.mtime.toUTCString());
  if (notModified(req, etag, file.mtime)) return new Response(null, { status: 304, headers });
  headers.set("Content-Length", String(file.size));
  if (req.method === "HEAD") return new Response(null, { status: 200, headers });
  const handle = await Deno.open(file.path, { read: true });
  return new Response(handle.readable, { status: 200, headers });
}

function notModified(req: Request, etag: string, mtime: Date | null): boolean {
  const ifNoneMatch = req.headers.get("If-None-Match");
  if (ifNoneMatch !== null) {
    // Weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored.
    const bare = etag.replace(/^W\//, "");
    return ifNoneMatch.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || t.replace(/^W\//, "") === bare;
    });
  }
  const since = req.headers.get("If-Modified-Since");
  if (since !== null && mtime) {
    const t = Date.parse(since);
    // HTTP dates have whole seconds.
    return !Number.isNaN(t) && Math.floor(mtime.getTime() / 1000) * 1000 <= t;
  }
  return false;
}
