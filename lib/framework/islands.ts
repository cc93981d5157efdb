/**
 * Islands on the server. Like Fresh, a preact `options.vnode` hook spots
 * island components while a page renders and swaps in a wrapper that renders
 * the island inside a marker:
 *
 * ```html
 * <sky-island data-name="Globe" data-props="{&quot;flights&quot;:[]}" style="display:contents">
 *   ...the island's server-rendered HTML...
 * </sky-island>
 * ```
 *
 * and records the island so the page gets its `<script type="module">`.
 * An island rendered inside another island is left alone (the outer one's
 * bundle hydrates it as a plain component). Props must be JSON data: no
 * functions, class instances, `children`, NaN or cycles; in development a
 * violation throws naming the island and the prop.
 *
 * @module
 */
import { type ComponentType, createContext, h, options, type VNode } from "preact";
import { useContext } from "preact/hooks";
import { ISLAND_TAG } from "./client.ts";
import { currentSession, type IslandLookup } from "./_session.ts";
import type { Manifest } from "./types.ts";

const InsideIsland = createContext(false);

/** The island name of a manifest key: `./islands/Globe.tsx` → `Globe`. */
export function islandName(file: string): string {
  const base = file.split("/").pop() ?? file;
  const name = base.replace(/\.(tsx|ts|jsx|js)$/, "");
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    throw new Error(`island ${file}: the file name must be PascalCase (Globe.tsx)`);
  }
  return name;
}

/** The islands of one manifest, by component. */
export class IslandRegistry implements IslandLookup {
  readonly #byComponent = new Map<ComponentType, { name: string; wrapper: ComponentType }>();
  /** Island name → manifest key. */
  readonly files = new Map<string, string>();

  constructor(manifest: Pick<Manifest, "islands">) {
    for (const [file, module] of Object.entries(manifest.islands)) {
      const name = islandName(file);
      if (this.files.has(name)) {
        throw new Error(`islands ${this.files.get(name)} and ${file} share the name ${name}`);
      }
      if (typeof module.default !== "function") {
        throw new Error(`island ${file}: the default export must be a Preact component`);
      }
      this.files.set(name, file);
      this.#byComponent.set(module.default, { name, wrapper: islandWrapper(name, module.default) });
    }
  }

  lookup(component: ComponentType): { name: string; wrapper: ComponentType } | undefined {
    return this.#byComponent.get(component);
  }

  get size(): number {
    return this.files.size;
  }
}

/** Set while a wrapper creates the real island's vnode, so the hook lets that one through. */
let bypass = false;

const previousVnodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  const session = currentSession();
  if (session !== null && !bypass && typeof vnode.type === "function") {
    const entry = session.islands.lookup(vnode.type);
    if (entry) vnode.type = entry.wrapper;
  }
  previousVnodeHook?.(vnode);
};

function islandWrapper(name: string, island: ComponentType): ComponentType {
  function IslandMarker(props: Record<string, unknown>) {
    const nested = useContext(InsideIsland);
    bypass = true;
    let inner: VNode;
    try {
      inner = h(island, props);
    } finally {
      bypass = false;
    }
    const session = currentSession();
    if (nested || session === null) return inner;
    const json = serialiseIslandProps(name, props, session.dev);
    session.used.add(name);
    return h(
      ISLAND_TAG,
      { "data-name": name, "data-props": json, style: "display:contents" },
      h(InsideIsland.Provider, { value: true }, inner),
    );
  }
  IslandMarker.displayName = `Island(${name})`;
  return IslandMarker as ComponentType;
}

/** `props` as JSON for `data-props`; with `check`, throws on anything JSON would not round-trip. */
export function serialiseIslandProps(
  name: string,
  props: Record<string, unknown>,
  check: boolean,
): string {
  const { children, ...data } = props;
  if (children !== undefined) {
    throw new TypeError(
      `island ${name}: children are not supported; island props must be JSON-serialisable data`,
    );
  }
  if (check) assertSerialisable(name, data, "props", new Set());
  return JSON.stringify(data);
}

function assertSerialisable(island: string, value: unknown, path: string, seen: Set<object>): void {
  const fail = (what: string): never => {
    throw new TypeError(
      `island ${island}: ${path} is ${what}, but island props must be JSON-serialisable ` +
        `(strings, finite numbers, booleans, null, arrays, plain objects; dates as ISO strings)`,
    );
  };
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) fail(String(value));
      return;
    case "undefined":
      return fail("undefined");
    case "bigint":
    case "symbol":
    case "function":
      return fail(`a ${typeof value}`);
  }
  if (value === null) return;
  const obj = value as object;
  if (seen.has(obj)) fail("a circular reference");
  seen.add(obj);
  if (Array.isArray(obj)) {
    obj.forEach((item, i) => assertSerialisable(island, item, `${path}[${i}]`, seen));
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      fail(`a ${(obj.constructor as { name?: string } | undefined)?.name ?? "class"} instance`);
    }
    for (const [key, item] of Object.entries(obj)) {
      // undefined properties are dropped by JSON and read back as undefined: fine.
      if (item !== undefined) assertSerialisable(island, item, `${path}.${key}`, seen);
    }
  }
  seen.delete(obj);
}
