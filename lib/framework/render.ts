/**
 * Server rendering of pages: the page inside `_app`, rendered to a string by
 * preact-render-to-string, then `<Head>` content added before `</head>` and
 * a `<script type="module">` per island used before `</body>`.
 *
 * @module
 */
import { type ComponentChildren, type ComponentType, Fragment, h } from "preact";
import { renderToString } from "preact-render-to-string";
import { type IslandRegistry } from "./islands.ts";
import { type RenderSession, withSession } from "./_session.ts";
import type { BuildManifest } from "./build.ts";
import type { PageProps } from "./types.ts";

/** What a page render needs besides the page. */
export interface RenderContext {
  app: ComponentType<PageProps<unknown, never>> | undefined;
  islands: IslandRegistry;
  /** Null when islands are not built: pages render, islands stay static. */
  build: BuildManifest | null;
  dev: boolean;
}

const warned = new Set<string>();

/** The full HTML document for `page` with `props`. */
export function renderDocument(
  // deno-lint-ignore no-explicit-any
  page: ComponentType<any>,
  props: Omit<PageProps<unknown, unknown>, "Component">,
  context: RenderContext,
): string {
  const session: RenderSession = {
    islands: context.islands,
    used: new Set(),
    head: [],
    dev: context.dev,
  };
  const Component = () => h(page, props);
  const App = (context.app ?? DefaultApp) as ComponentType<PageProps<unknown, unknown>>;
  let html = withSession(session, () => renderToString(h(App, { ...props, Component })));
  const head = session.head.length > 0
    ? renderToString(h(Fragment, null, session.head as ComponentChildren))
    : "";
  const scripts: string[] = [];
  for (const name of session.used) {
    const src = context.build?.islands[name];
    if (src) {
      scripts.push(`<script type="module" src="${escapeAttr(src)}"></script>`);
    } else if (context.build && !warned.has(name)) {
      warned.add(name);
      console.warn(`[framework] island ${name} has no bundle in _build/: run \`deno task build\``);
    }
  }
  if (head) html = insertBefore(html, "</head>", head, "start");
  if (scripts.length > 0) html = insertBefore(html, "</body>", scripts.join(""), "end");
  return `<!DOCTYPE html>${html}`;
}

function DefaultApp({ Component }: PageProps<unknown, unknown>) {
  return h(
    "html",
    { lang: "en" },
    h(
      "head",
      null,
      h("meta", { charset: "utf-8" }),
      h("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }),
      h("link", { rel: "icon", href: "data:," }),
    ),
    h("body", null, h(Component, null)),
  );
}

/** Inserts `text` before the last `marker`; without one, at the start or the end. */
function insertBefore(html: string, marker: string, text: string, fallback: "start" | "end") {
  const at = html.toLowerCase().lastIndexOf(marker);
  if (at < 0) return fallback === "start" ? text + html : html + text;
  return html.slice(0, at) + text + html.slice(at);
}

function escapeAttr(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
