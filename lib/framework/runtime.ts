/**
 * Helpers for components and islands; safe in the browser (Fresh's
 * `fresh/runtime`).
 *
 * @module
 */
import type { ComponentChildren, VNode } from "preact";
import { currentSession } from "./_session.ts";

/** True in the browser, false during server rendering. */
export const IS_BROWSER: boolean = typeof document !== "undefined";

/**
 * Adds its children to the page's `<head>` (title, meta, stylesheet links)
 * from any page or component. Server-only: in the browser it renders nothing.
 */
export function Head(props: { children?: ComponentChildren }): VNode | null {
  currentSession()?.head.push(props.children);
  return null;
}
