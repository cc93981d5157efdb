/**
 * The browser side of islands: the generated entry of each island calls
 * {@link hydrateIslands}, which hydrates every `<sky-island data-name=...>`
 * marker the server rendered with the props serialised in `data-props`.
 * Bundled by `deno bundle`; imports nothing but preact.
 *
 * @module
 */
import { type ComponentType, h, hydrate } from "preact";

/** The marker element around a server-rendered island. */
export const ISLAND_TAG = "sky-island";

const HYDRATED = "data-hydrated";

/**
 * Hydrates every marker of island `name` under `root` with `island`.
 * Returns how many were hydrated. One broken marker does not stop the others.
 */
export function hydrateIslands(
  name: string,
  // deno-lint-ignore no-explicit-any
  island: ComponentType<any>,
  root: ParentNode = document,
): number {
  let count = 0;
  for (const el of root.querySelectorAll(`${ISLAND_TAG}[data-name="${CSS.escape(name)}"]`)) {
    if (el.hasAttribute(HYDRATED)) continue;
    el.setAttribute(HYDRATED, "");
    try {
      const props = JSON.parse(el.getAttribute("data-props") ?? "{}");
      hydrate(h(island, props), el);
      count++;
    } catch (error) {
      console.error(`island ${name}: hydration failed`, error);
    }
  }
  return count;
}
