/**
 * lib/framework (Fresh 2's surface): routing, errors, app and folder
 * middleware, pages, islands, static files, security headers, the island
 * build, and the route manifest generator. Routes are in-memory manifests;
 * files live in temp folders. The real error page (routes/_error.tsx) is
 * checked here too.
 */
import assert from "node:assert/strict";
import { h } from "preact";
import { useState } from "preact/hooks";
import {
  App,
  type AppOptions,
  buildRouteTable,
  compareRoutes,
  type Context,
  createDefine,
  generateManifest,
  Head,
  HttpError,
  type Manifest,
  matchRoute,
  type Middleware,
  page,
  type PageProps,
  patternOf,
  type RouteModule,
  scanProject,
  serialiseIslandProps,
  staticFiles,
} from "../lib/framework/mod.ts";
import * as errorRoute from "../routes/_error.tsx";
import { chromiumPath, skipWithoutChromium } from "./_services.ts";

const ROOT = new URL("../", import.meta.url);
const BASE = "file:///nonexistent/app/";

function manifest(
  routes: Record<string, RouteModule>,
  islands: Manifest["islands"] = {},
): Manifest {
  return { routes, islands, baseUrl: BASE };
}

interface TestAppOptions<State> extends AppOptions {
  /** Copied into `ctx.state` by a first app middleware. */
  state?: State;
  /** More app middleware, after the state one and before staticFiles(). */
  use?: Middleware<State>[];
}

/** `new App(...).use(state).use(...).use(staticFiles()).fsRoutes()`, ready. */
async function app<State extends object>(
  routes: Record<string, RouteModule>,
  options: TestAppOptions<State> = {},
) {
  const { state, use = [], ...appOptions } = options;
  const built = new App<State>({
    build: "never",
    onError: () => {},
    log: () => {},
    ...appOptions,
    manifest: manifest(routes, options.manifest?.islands),
  });
  built.use((ctx) => {
    Object.assign(ctx.state as object, state ?? {});
    return ctx.next();
  });
  built.use(...use).use(staticFiles()).fsRoutes();
  const handler = built.handler();
  await built.ready();
  return handler;
}

const get = (path: string, init: RequestInit = {}) => new Request(`http://localhost${path}`, init);
const html = { headers: { Accept: "text/html,application/xhtml+xml" } };

const json = (value: unknown) => () => Response.json(value);

// --- routing ------------------------------------------------------------------

Deno.test("patterns come from file names like Fresh", () => {
  const cases: [string[], string, string][] = [
    [[], "index", "/"],
    [["api"], "flights", "/api/flights"],
    [["api", "flights"], "[icao24]", "/api/flights/:icao24"],
    [["api", "flights", "[icao24]"], "track", "/api/flights/:icao24/track"],
    [["api"], "openapi.json", "/api/openapi.json"],
    [["api"], "index", "/api"],
    [["(marketing)"], "about", "/about"],
    [["files"], "[...path]", "/files/:path*"],
  ];
  for (const [dirs, base, want] of cases) assert.equal(patternOf(dirs, base).pattern, want);
  assert.throws(() => patternOf([], "a[b]"), /\[name\]/);
});

Deno.test("static segments win over dynamic ones, dynamic over catch-all, in any key order", () => {
  const mod = (tag: string): RouteModule => ({ handler: json({ tag }) });
  const table = buildRouteTable(manifest({
    "./routes/files/[...path].ts": mod("rest"),
    "./routes/api/flights/[icao24].ts": mod("one"),
    "./routes/api/flights/stats.ts": mod("stats"),
    "./routes/[page].ts": mod("page"),
    "./routes/about.ts": mod("about"),
    "./routes/files/readme.ts": mod("readme"),
  }));
  const tagOf = (path: string) => {
    const m = matchRoute(table.routes, path);
    return m ? [m.route.pattern, m.params] : null;
  };
  assert.deepEqual(tagOf("/api/flights/stats"), ["/api/flights/stats", {}]);
  assert.deepEqual(tagOf("/api/flights/406d95"), ["/api/flights/:icao24", { icao24: "406d95" }]);
  assert.deepEqual(tagOf("/about"), ["/about", {}]);
  assert.deepEqual(tagOf("/contact"), ["/:page", { page: "contact" }]);
  assert.deepEqual(tagOf("/files/readme"), ["/files/readme", {}]);
  assert.deepEqual(tagOf("/files/a/b.txt"), ["/files/:path*", { path: "a/b.txt" }]);
  assert.deepEqual(tagOf("/api/flights/a%20b"), ["/api/flights/:icao24", { icao24: "a b" }]);
  assert.equal(tagOf("/api/flights/406d95/extra"), null);
  assert.ok(
    compareRoutes({ ranks: [0, 0], pattern: "/a/b" }, { ranks: [0, 1], pattern: "/a/:x" }) < 0,
  );
  assert.throws(
    () =>
      buildRouteTable(manifest({
        "./routes/a/index.ts": mod("x"),
        "./routes/a.ts": mod("y"),
      })),
    /both answer \/a/,
  );
});

Deno.test("handlers: per method, function, params, HEAD from GET, 405 with Allow", async () => {
  const handle = await app({
    "./routes/api/items.ts": {
      handler: { GET: json({ list: true }), POST: () => new Response("made", { status: 201 }) },
    },
    "./routes/api/items/[id].ts": {
      handler: { GET: (ctx) => Response.json({ id: ctx.params.id, route: ctx.route }) },
    },
    "./routes/api/echo.ts": {
      handler: (ctx: Context) => new Response(ctx.req.method, { headers: { "X-Echo": "1" } }),
    },
  });
  assert.deepEqual(await (await handle(get("/api/items"))).json(), { list: true });
  const created = await handle(get("/api/items", { method: "POST" }));
  assert.equal(created.status, 201);
  assert.equal(await created.text(), "made");
  assert.deepEqual(await (await handle(get("/api/items/42"))).json(), {
    id: "42",
    route: "/api/items/:id",
  });

  const head = await handle(get("/api/items", { method: "HEAD" }));
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.equal(head.headers.get("Content-Type"), "application/json");

  const put = await handle(get("/api/items", { method: "PUT" }));
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("Allow"), "GET, HEAD, POST");
  const body = await put.json();
  assert.equal(body.error.code, "method_not_allowed");
  assert.match(body.error.message, /PUT/);

  assert.equal(await (await handle(get("/api/echo", { method: "DELETE" }))).text(), "DELETE");

  for (const method of ["constructor", "PROPFIND"]) {
    const odd = await handle(get("/api/items", { method }));
    assert.equal(odd.status, 405, method);
    await odd.body?.cancel();
  }
});

// --- errors ---------------------------------------------------------------------

const PAGES: Record<string, RouteModule> = {
  "./routes/_404.tsx": {
    default: ({ url, error }: PageProps) =>
      h("h1", null, `Nothing at ${url.pathname} (${(error as HttpError).status})`),
  },
  "./routes/_error.tsx": errorRoute,
};

Deno.test("404: JSON for API and non-browser clients, the _404 page for browsers", async () => {
  const handle = await app({
    ...PAGES,
    "./routes/index.tsx": { default: () => h("p", null, "home") },
  });
  const api = await handle(get("/api/nope", html));
  assert.equal(api.status, 404);
  assert.deepEqual(await api.json(), {
    error: { code: "not_found", message: "no route for /api/nope" },
  });
  const tool = await handle(get("/nope"));
  assert.equal(tool.status, 404);
  assert.equal((await tool.json()).error.code, "not_found");
  const browser = await handle(get("/nope", html));
  assert.equal(browser.status, 404);
  assert.match(browser.headers.get("Content-Type")!, /^text\/html/);
  assert.match(await browser.text(), /<h1>Nothing at \/nope \(404\)<\/h1>/);
});

Deno.test("errors: HttpError keeps its status and message, others are 500 without details", async () => {
  const seen: unknown[] = [];
  const routes: Record<string, RouteModule> = {
    ...PAGES,
    "./routes/api/bad.ts": {
      handler: () => {
        throw new HttpError(400, "bbox: lamax 91 is out of range", { code: "bad_request" });
      },
    },
    "./routes/api/boom.ts": {
      handler: () => {
        throw new Error("secret connection string");
      },
    },
    "./routes/api/nothing.ts": { handler: () => undefined as unknown as Response },
    "./routes/broken.tsx": {
      default: () => {
        throw new Error("page exploded");
      },
    },
    "./routes/private.tsx": {
      handler: {
        GET: () => {
          throw new HttpError(403, "this page is for operators");
        },
      },
      default: () => h("p", null, "never"),
    },
  };
  const handle = await app(routes, { onError: (e) => seen.push(e) });
  const bad = await handle(get("/api/bad"));
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), {
    error: { code: "bad_request", message: "bbox: lamax 91 is out of range" },
  });
  assert.equal(seen.length, 0, "4xx are not logged as errors");

  const boom = await handle(get("/api/boom"));
  assert.equal(boom.status, 500);
  assert.deepEqual(await boom.json(), {
    error: { code: "internal", message: "internal server error" },
  });
  assert.equal(seen.length, 1);

  const nothing = await handle(get("/api/nothing"));
  assert.equal(nothing.status, 500);
  await nothing.body?.cancel();

  // routes/_error.tsx, the app's real error page: no internals in production.
  const page = await handle(get("/broken", html));
  assert.equal(page.status, 500);
  const pageText = await page.text();
  assert.match(pageText, /<p>500: internal server error<\/p>/);
  assert.ok(!pageText.includes("exploded"));
  const denied = await handle(get("/private", html));
  assert.equal(denied.status, 403);
  assert.match(
    await denied.text(),
    /Cannot show this page.*<p>403: this page is for operators<\/p>/,
  );

  const devHandle = await app(routes, { mode: "development" });
  const devBoom = await devHandle(get("/api/boom"));
  assert.equal((await devBoom.json()).error.message, "secret connection string");
  assert.match(await (await devHandle(get("/broken"))).text(), /<p>500: page exploded<\/p>/);
});

// --- middleware, pages, state ------------------------------------------------------

Deno.test("middleware: app middleware for every request, folder middleware for its routes", async () => {
  const order: string[] = [];
  type State = { base: string; user?: string };
  const handle = await app<State>({
    "./routes/_middleware.ts": {
      handler: async (ctx: Context<State>) => {
        order.push(`root:${ctx.route}`);
        const res = await ctx.next();
        order.push("root-after");
        res.headers.set("X-Root", "1");
        return res;
      },
    },
    "./routes/api/_middleware.ts": {
      // Fresh 2 also takes the default export, and a list.
      default: [
        (ctx: Context<State>) => {
          order.push("api-1");
          if (ctx.req.headers.get("X-Block")) return new Response("blocked", { status: 403 });
          ctx.state.user = "ada";
          return ctx.next();
        },
        (ctx: Context<State>) => {
          order.push("api-2");
          return ctx.next();
        },
      ],
    },
    "./routes/api/me.ts": {
      handler: (ctx: Context<State>) => {
        order.push("route");
        return Response.json(ctx.state);
      },
    },
    "./routes/about.ts": { handler: (ctx: Context<State>) => Response.json(ctx.state) },
  }, {
    state: { base: "svc" },
    use: [async (ctx) => {
      order.push(`app:${ctx.route}`);
      const res = await ctx.next();
      order.push(`app-after:${res.status}`);
      return res;
    }],
  });

  const me = await handle(get("/api/me"));
  assert.deepEqual(await me.json(), { base: "svc", user: "ada" });
  assert.equal(me.headers.get("X-Root"), "1");
  assert.deepEqual(order, [
    "app:/api/me",
    "root:/api/me",
    "api-1",
    "api-2",
    "route",
    "root-after",
    "app-after:200",
  ]);

  order.length = 0;
  assert.deepEqual(
    await (await handle(get("/about"))).json(),
    { base: "svc" },
    "state is per request",
  );
  assert.deepEqual(order, ["app:/about", "root:/about", "root-after", "app-after:200"]);

  order.length = 0;
  const blocked = await handle(get("/api/me", { headers: { "X-Block": "1" } }));
  assert.equal(blocked.status, 403);
  assert.deepEqual(order, ["app:/api/me", "root:/api/me", "api-1", "root-after", "app-after:403"]);

  order.length = 0;
  await (await handle(get("/api/missing"))).body?.cancel();
  assert.deepEqual(order, ["app:null", "app-after:404"], "no route: only app middleware");
});

Deno.test("middleware errors become error responses", async () => {
  const handle = await app({
    "./routes/_middleware.ts": {
      handler: () => {
        throw new HttpError(401, "token: missing");
      },
    },
    "./routes/api/x.ts": { handler: json({}) },
  });
  const res = await handle(get("/api/x"));
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), {
    error: { code: "unauthorized", message: "token: missing" },
  });
});

Deno.test("pages: page(data), { data }, ctx.render(vnode) inside _app, with Head and props", async () => {
  const seen: PageProps<{ n: number }, { svc: string }>[] = [];
  const Page = (props: PageProps<{ n: number }, { svc: string }>) => {
    seen.push(props);
    return h("main", null, h(Head, null, h("title", null, "Page title")), `n=${props.data.n}`);
  };
  const handle = await app<{ svc: string }>({
    "./routes/_app.tsx": {
      default: ({ Component }: PageProps) =>
        h(
          "html",
          null,
          h("head", null, h("meta", { charset: "utf-8" })),
          h("body", null, h(Component, null)),
        ),
    },
    "./routes/v1/[id].tsx": {
      handler: { GET: () => page({ n: 1 }, { headers: { "X-Page": "v1" } }) },
      default: Page,
    },
    "./routes/v2/[id].tsx": {
      handler: { GET: () => ({ data: { n: 2 }, status: 202 }) },
      default: Page,
    },
    "./routes/v3.tsx": {
      handler: {
        GET: (ctx: Context) => ctx.render(h("p", null, "rendered vnode"), { status: 201 }),
      },
    },
    "./routes/old.ts": { handler: { GET: (ctx: Context) => ctx.redirect("/v3", 307) } },
    "./routes/plain.tsx": { default: () => h("p", null, "plain page") },
  }, { state: { svc: "hub" } });

  const v1 = await handle(get("/v1/abc?x=1"));
  assert.equal(v1.headers.get("X-Page"), "v1");
  assert.match(v1.headers.get("Content-Type")!, /^text\/html; charset=utf-8/);
  const text = await v1.text();
  assert.match(
    text,
    /^<!DOCTYPE html><html><head><meta charset="utf-8"\/><title>Page title<\/title><\/head><body><main>n=1<\/main><\/body><\/html>$/,
  );
  assert.equal(seen[0]!.params.id, "abc");
  assert.equal(seen[0]!.url.searchParams.get("x"), "1");
  assert.equal(seen[0]!.req.url, "http://localhost/v1/abc?x=1");
  assert.equal(seen[0]!.state.svc, "hub");
  assert.equal(seen[0]!.route, "/v1/:id");
  assert.equal(seen[0]!.config.mode, "production");

  const v2 = await handle(get("/v2/x"));
  assert.equal(v2.status, 202);
  assert.match(await v2.text(), /n=2/);

  const v3 = await handle(get("/v3"));
  assert.equal(v3.status, 201);
  assert.match(await v3.text(), /<body><p>rendered vnode<\/p><\/body>/);

  const old = await handle(get("/old"));
  assert.equal(old.status, 307);
  assert.equal(old.headers.get("Location"), "http://localhost/v3");

  const plain = await handle(get("/plain"));
  assert.match(await plain.text(), /<p>plain page<\/p>/);
  const post = await handle(get("/plain", { method: "POST" }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("Allow"), "GET, HEAD");
  await post.body?.cancel();
});

Deno.test("createDefine gives typed identity helpers; handlers get one ctx", async () => {
  const define = createDefine<{ n: number }>();
  const handler = define.handlers({ GET: (ctx) => Response.json({ n: ctx.state.n + 1 }) });
  const middleware = define.middleware((ctx) => {
    ctx.state.n *= 2;
    return ctx.next();
  });
  const Home = define.page(({ state }) => h("p", null, `n=${state.n}`));
  const handle = await app({
    "./routes/api/n.ts": { handler },
    "./routes/_middleware.ts": { handler: middleware },
    "./routes/index.tsx": { default: Home },
  }, { state: { n: 20.5 } });
  assert.deepEqual(await (await handle(get("/api/n"))).json(), { n: 42 });
  assert.match(await (await handle(get("/"))).text(), /<p>n=41<\/p>/);
});

Deno.test("without staticFiles() no file is served", async () => {
  const dir = await staticFixture();
  try {
    const bare = new App({ manifest: manifest({}), staticDir: `${dir}/static/`, log: () => {} })
      .fsRoutes().handler();
    const res = await bare(get("/app.js"));
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- security headers ---------------------------------------------------------------

Deno.test("security headers on every kind of response, CSP fit for the globe", async () => {
  const handle = await app({
    ...PAGES,
    "./routes/index.tsx": { default: () => h("p", null, "home") },
    "./routes/api/x.ts": { handler: { GET: json({}) } },
    "./routes/api/boom.ts": {
      handler: () => {
        throw new Error("x");
      },
    },
    "./routes/go.ts": { handler: () => Response.redirect("http://localhost/", 302) },
    "./routes/own.ts": {
      handler: () =>
        new Response("", { headers: { "Content-Security-Policy": "default-src 'none'" } }),
    },
  });
  const responses = await Promise.all(
    ["/", "/api/x", "/api/boom", "/nope", "/go"].map((p) => handle(get(p, html))),
  );
  responses.push(await handle(get("/api/x", { method: "DELETE" })));
  for (const res of responses) {
    await res.body?.cancel();
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", res.url);
    assert.equal(res.headers.get("Referrer-Policy"), "strict-origin-when-cross-origin");
    assert.equal(res.headers.get("X-Frame-Options"), "DENY");
    const csp = res.headers.get("Content-Security-Policy")!;
    const directives = Object.fromEntries(
      csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]),
    );
    assert.deepEqual(directives["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
    assert.ok(directives["worker-src"]!.includes("blob:"));
    for (const src of ["data:", "blob:", "'self'"]) assert.ok(directives["img-src"]!.includes(src));
    for (const src of ["'self'", "ws://localhost", "wss://localhost"]) {
      assert.ok(directives["connect-src"]!.includes(src), src);
    }
    assert.ok(directives["style-src"]!.includes("'unsafe-inline'"), "globe.gl injects <style>");
    assert.deepEqual(directives["frame-ancestors"], ["'none'"]);
    assert.ok(!csp.includes("unsafe-eval'") || csp.includes("wasm-unsafe-eval"));
  }
  const own = await handle(get("/own"));
  assert.equal(own.headers.get("Content-Security-Policy"), "default-src 'none'");
});

// --- static files -------------------------------------------------------------------

async function staticFixture() {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_static_" });
  const files: Record<string, string> = {
    "static/app.js": "console.log(1);",
    "static/style.css": "body{}",
    "static/data/airports.geojson": '{"type":"FeatureCollection","features":[]}',
    "static/img/logo.svg": "<svg/>",
    "static/fonts/a.woff2": "woff2",
    "static/wasm/x.wasm": "\0asm",
    "static/.env": "SECRET=1",
    "secret.txt": "outside",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  await Deno.symlink(`${dir}/secret.txt`, `${dir}/static/link.txt`);
  return dir;
}

Deno.test("static files: content types, ETag and Last-Modified with 304, Cache-Control", async () => {
  const dir = await staticFixture();
  try {
    const handle = await app({}, { staticDir: `${dir}/static/` });
    const types: Record<string, string> = {
      "/app.js": "text/javascript; charset=utf-8",
      "/style.css": "text/css; charset=utf-8",
      "/data/airports.geojson": "application/geo+json",
      "/img/logo.svg": "image/svg+xml",
      "/fonts/a.woff2": "font/woff2",
      "/wasm/x.wasm": "application/wasm",
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await handle(get(path));
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("Content-Type"), type, path);
      await res.body?.cancel();
    }
    const first = await handle(get("/app.js"));
    assert.equal(await first.text(), "console.log(1);");
    assert.equal(first.headers.get("Content-Length"), "15");
    assert.equal(first.headers.get("Cache-Control"), "public, max-age=300");
    assert.equal(first.headers.get("X-Content-Type-Options"), "nosniff");
    const etag = first.headers.get("ETag")!;
    const modified = first.headers.get("Last-Modified")!;
    assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);

    const again = await handle(get("/app.js", { headers: { "If-None-Match": etag } }));
    assert.equal(again.status, 304);
    assert.equal(again.body, null);
    assert.equal(again.headers.get("ETag"), etag);
    const since = await handle(get("/app.js", { headers: { "If-Modified-Since": modified } }));
    assert.equal(since.status, 304);
    const stale = await handle(get("/app.js", { headers: { "If-None-Match": 'W/"0-0"' } }));
    assert.equal(stale.status, 200);
    await stale.body?.cancel();

    const head = await handle(get("/style.css", { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.equal(head.headers.get("Content-Length"), "6");

    const dev = await app({}, { staticDir: `${dir}/static/`, mode: "development" });
    const devRes = await dev(get("/app.js"));
    assert.equal(devRes.headers.get("Cache-Control"), "no-cache");
    await devRes.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("static files: no way out of the folder, no dot files, no directories", async () => {
  const dir = await staticFixture();
  try {
    const handle = await app({}, { staticDir: `${dir}/static/` });
    for (
      const path of [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/data/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/.env",
        "/%2eenv",
        "/link.txt",
        "/data",
        "/data/",
        "/app.js%00.png",
        "/%E0%A4%A",
      ]
    ) {
      const res = await handle(get(path));
      assert.equal(res.status, 404, path);
      const text = await res.text();
      assert.ok(!text.includes("outside") && !text.includes("SECRET"), path);
    }
    const post = await handle(get("/app.js", { method: "POST" }));
    assert.equal(post.status, 404);
    await post.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- islands ------------------------------------------------------------------------

function Counter(props: { start: number; label: string }) {
  const [n] = useState(props.start);
  return h("button", { type: "button" }, `${props.label}: ${n}`);
}
function Outer(props: { title: string }) {
  return h("section", null, props.title, h(Counter, { start: 1, label: "inner" }));
}
const ISLANDS: Manifest["islands"] = {
  "./islands/Counter.tsx": { default: Counter },
  "./islands/Outer.tsx": { default: Outer },
};

function unescapeAttr(value: string): string {
  return value.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

Deno.test("islands: SSR marker with serialised props and the island's HTML, nested left alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_islands_" });
  try {
    await Deno.mkdir(`${dir}/islands`);
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({
        version: 1,
        built_at: new Date().toISOString(),
        islands: {
          Counter: "/_islands/Counter-0123456789.js",
          Outer: "/_islands/Outer-abcdef0123.js",
        },
        files: ["Counter-0123456789.js", "Outer-abcdef0123.js"],
      }),
    );
    const routes: Record<string, RouteModule> = {
      "./routes/index.tsx": {
        default: () =>
          h(
            "main",
            null,
            h(Counter, { start: 3, label: `a "quoted" <label> & more` }),
            h(Outer, { title: "outer" }),
            h("p", null, "static part"),
          ),
      },
      "./routes/plain.tsx": { default: () => h("p", null, "no islands") },
    };
    const handle = await app(routes, {
      manifest: manifest({}, ISLANDS),
      buildDir: `${dir}/`,
      build: "never",
    });
    const text = await (await handle(get("/"))).text();
    const markers = [...text.matchAll(/<sky-island data-name="(\w+)" data-props="([^"]*)"/g)];
    assert.deepEqual(
      markers.map((m) => m[1]),
      ["Counter", "Outer"],
      "the nested Counter is not wrapped",
    );
    assert.deepEqual(JSON.parse(unescapeAttr(markers[0]![2]!)), {
      start: 3,
      label: `a "quoted" <label> & more`,
    });
    assert.deepEqual(JSON.parse(unescapeAttr(markers[1]![2]!)), { title: "outer" });
    assert.match(
      text,
      /<button type="button">a &quot;quoted&quot; &lt;label> &amp; more: 3<\/button><\/sky-island>/,
    );
    assert.match(text, /<section>outer<button type="button">inner: 1<\/button><\/section>/);
    assert.match(
      text,
      /<script type="module" src="\/_islands\/Counter-0123456789.js"><\/script><script type="module" src="\/_islands\/Outer-abcdef0123.js"><\/script><\/body><\/html>$/,
    );
    const plain = await (await handle(get("/plain"))).text();
    assert.ok(!plain.includes("<script"), "pages without islands load no scripts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("islands: props must be JSON data (checked in dev, clear message)", async () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ onClick: () => {} }, /island Counter: props\.onClick is a function/],
    [{ when: new Date(0) }, /props\.when is a Date instance/],
    [{ list: [1, NaN] }, /props\.list\[1\] is NaN/],
    [{ n: 10n }, /props\.n is a bigint/],
    [{ children: "x" }, /children are not supported/],
  ];
  for (const [props, message] of bad) {
    assert.throws(() => serialiseIslandProps("Counter", props, true), message);
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => serialiseIslandProps("Counter", { cyclic }, true), /circular/);
  assert.equal(
    serialiseIslandProps("Counter", { a: [1, "x", null, { b: true }], skip: undefined }, true),
    '{"a":[1,"x",null,{"b":true}]}',
  );

  const handle = await app({
    "./routes/index.tsx": { default: () => h(Counter, { start: 1, label: new Date(0) } as never) },
  }, { manifest: manifest({}, ISLANDS), mode: "development", build: "never" });
  const res = await handle(get("/", html));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /island Counter: props\.label is a Date instance/);
});

const TEST_ISLAND = `import { useEffect, useState } from "preact/hooks";
export default function Counter(props: { start: number; label: string }) {
  const [n, setN] = useState(props.start);
  const [lazy, setLazy] = useState("waiting");
  useEffect(() => { import("./lazy_part.ts").then((m) => setLazy(m.load())); }, []);
  return <div id={props.label}><button type="button" onClick={() => setN(n + 1)}>{n}</button><span>{lazy}</span></div>;
}
`;
const TEST_LAZY_PART = `export function load(): string {
  const code = new Blob(["postMessage(1)"], { type: "text/javascript" });
  new Worker(URL.createObjectURL(code)).terminate();
  return "lazy part loaded";
}
`;

Deno.test({
  name: "islands: a real deno bundle build, served immutable, lazy import split, hydrated",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "skysentinel_build_" });
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      await Deno.mkdir(`${dir}/islands`);
      await Deno.writeTextFile(`${dir}/islands/Counter.tsx`, TEST_ISLAND);
      await Deno.writeTextFile(`${dir}/islands/lazy_part.ts`, TEST_LAZY_PART);
      const { default: Island } = await import(`file://${dir}/islands/Counter.tsx`);
      const Page = () =>
        h("main", null, h(Island, { start: 5, label: "a" }), h(Island, { start: 10, label: "b" }));
      const built = new App({
        manifest: {
          routes: { "./routes/index.tsx": { default: Page } },
          islands: { "./islands/Counter.tsx": { default: Island } },
          baseUrl: `file://${dir}/`,
        },
        build: "always",
        denoConfig: new URL("deno.json", ROOT),
        log: () => {},
      }).use(staticFiles()).fsRoutes();
      const handle = built.handler();
      await built.ready();
      const output = JSON.parse(await Deno.readTextFile(`${dir}/_build/manifest.json`));
      const src: string = output.islands.Counter;
      assert.match(src, /^\/_islands\/Counter-[0-9a-f]{10}\.js$/);
      const lazy = output.files.find((f: string) => f.startsWith("lazy_part-"));
      assert.ok(lazy, `a separate chunk for the dynamic import: ${output.files}`);

      const page = await (await handle(get("/"))).text();
      assert.equal(page.split(`<script type="module" src="${src}"></script>`).length, 2, "once");
      assert.match(page, /<sky-island data-name="Counter" data-props="{&quot;start&quot;:5,/);

      const bundle = await handle(get(src));
      assert.equal(bundle.status, 200);
      assert.equal(bundle.headers.get("Content-Type"), "text/javascript; charset=utf-8");
      assert.equal(bundle.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
      assert.ok(bundle.headers.get("ETag"));
      const code = await bundle.text();
      assert.ok(code.includes("sky-island"), "the entry hydrates the markers");
      assert.ok(code.includes(`import("./${lazy}")`), "the lazy part is loaded on demand");
      assert.ok(!code.includes("lazy part loaded"), "and is not in the entry");
      assert.match(await (await handle(get(`/_islands/${lazy}`))).text(), /lazy part loaded/);
      for (const path of ["/_islands/nope.js", "/_islands/%2e%2e%2fmanifest.json"]) {
        const res = await handle(get(path));
        assert.equal(res.status, 404, path);
        await res.body?.cancel();
      }

      await t.step({
        name: "hydrated in Chromium under the CSP: clicks, lazy chunk, blob: worker",
        ignore: skipWithoutChromium(),
        fn: async () => {
          server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
          const { chromium } = await import("playwright-core");
          const browser = await chromium.launch({
            executablePath: chromiumPath,
            args: ["--no-sandbox"],
          });
          try {
            const tab = await browser.newPage();
            const problems: string[] = [];
            tab.on("console", (m) => m.type() === "error" && problems.push(m.text()));
            tab.on("pageerror", (e) => problems.push(e.message));
            await tab.goto(`http://127.0.0.1:${server.addr.port}/`);
            await tab.waitForFunction(() =>
              document.querySelectorAll("sky-island[data-hydrated]").length === 2
            );
            for (const id of ["#a", "#a", "#b"]) await tab.click(`${id} button`);
            assert.equal(await tab.textContent("#a button"), "7");
            assert.equal(await tab.textContent("#b button"), "11");
            await tab.waitForFunction(() =>
              [...document.querySelectorAll("span")].every((s) =>
                s.textContent === "lazy part loaded"
              )
            );
            assert.deepEqual(problems, [], "no CSP violations or script errors");
          } finally {
            await browser.close();
          }
        },
      });
    } finally {
      await server?.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- the manifest generator ---------------------------------------------------------

Deno.test("scanProject and generateManifest: routes, specials, islands; private files skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_scan_" });
  try {
    for (
      const path of [
        "routes/index.tsx",
        "routes/_app.tsx",
        "routes/_middleware.ts",
        "routes/api/_params.ts",
        "routes/api/flights.ts",
        "routes/api/flights/[icao24].ts",
        "routes/api/x_test.ts",
        "routes/_private/helper.ts",
        "routes/README.md",
        "islands/Globe.tsx",
        "islands/_shared.ts",
      ]
    ) {
      await Deno.mkdir(`${dir}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, "");
    }
    const files = await scanProject(new URL(`file://${dir}/`));
    assert.deepEqual(files, {
      routes: [
        "./routes/_app.tsx",
        "./routes/_middleware.ts",
        "./routes/api/flights.ts",
        "./routes/api/flights/[icao24].ts",
        "./routes/index.tsx",
      ],
      islands: ["./islands/Globe.tsx"],
    });
    const text = generateManifest(files);
    assert.match(text, /import \* as \$3 from "\.\/routes\/api\/flights\/\[icao24\]\.ts";/);
    assert.match(text, /"\.\/islands\/Globe\.tsx": \$\$0,/);
    assert.match(text, /baseUrl: import\.meta\.url,\n\} satisfies Manifest;/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("routes.gen.ts is up to date (else run `deno task manifest`)", async () => {
  const expected = generateManifest(await scanProject(ROOT));
  const actual = await Deno.readTextFile(new URL("routes.gen.ts", ROOT));
  assert.equal(actual, expected, "routes.gen.ts is stale: run `deno task manifest`");
});
