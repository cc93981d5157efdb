/**
 * Security headers added to every response (a route may set its own
 * value first; it is kept).
 *
 * The default Content-Security-Policy is what the globe needs and no more:
 * - scripts from this origin only (island bundles and their lazy chunks; no
 *   inline scripts: island props travel in `data-props`), plus
 *   `'wasm-unsafe-eval'` so WebAssembly decoders may compile (it allows no
 *   `eval`);
 * - styles from this origin and inline: globe.gl and its tooltip inject
 *   `<style>` elements, and the island marker carries `style="display:contents"`;
 * - images from this origin, `data:` and `blob:` (WebGL textures made from
 *   canvases or decoded in memory);
 * - fetch and WebSocket to this origin, spelled out as `ws(s)://host` for
 *   browsers whose `'self'` does not cover WebSockets, plus `data:`/`blob:`
 *   (three.js's ImageBitmapLoader fetches textures);
 * - workers from this origin and `blob:`;
 * - no plugins, no framing, no `<base>` elsewhere, forms post here only.
 *
 * @module
 */

/** Headers on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
});

/** A CSP value, or a function of the request URL returning one. */
export type CspOption = string | ((url: URL) => string);

/** The default Content-Security-Policy for a request to `url`. */
export function defaultCsp(url: URL): string {
  const ws = url.host ? ` ws://${url.host} wss://${url.host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${ws} data: blob:`,
    "worker-src 'self' blob:",
    "child-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * `response` with the security headers set where absent. Responses with
 * immutable headers (`Response.redirect`, fetched ones) are copied first; a
 * 101 (WebSocket upgrade) is returned untouched.
 */
export function withSecurityHeaders(
  response: Response,
  url: URL,
  csp: CspOption | false,
): Response {
  if (response.status === 101) return response;
  const wanted: [string, string][] = Object.entries(SECURITY_HEADERS);
  if (csp !== false) {
    wanted.push(["Content-Security-Policy", typeof csp === "string" ? csp : csp(url)]);
  }
  let target = response;
  for (const [name, value] of wanted) {
    if (target.headers.has(name)) continue;
    try {
      target.headers.set(name, value);
    } catch {
      target = new Response(target.body, target);
      target.headers.set(name, value);
    }
  }
  return target;
}
