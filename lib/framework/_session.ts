/**
 * The render in progress on the server. `renderToString` is synchronous, so
 * one module-level slot is enough: no two renders interleave.
 *
 * @module
 */
import type { ComponentChildren, ComponentType } from "preact";

/** Islands known to one handler: component → island name and SSR wrapper. */
export interface IslandLookup {
  lookup(component: ComponentType): { name: string; wrapper: ComponentType } | undefined;
}

/** What one page render collects. */
export interface RenderSession {
  islands: IslandLookup;
  /** Names of the islands rendered, for their `<script>` tags. */
  used: Set<string>;
  /** Children of `<Head>` elements, rendered into `<head>` afterwards. */
  head: ComponentChildren[];
  dev: boolean;
}

let current: RenderSession | null = null;

/** The session of the render in progress, or null (browser, or outside a render). */
export function currentSession(): RenderSession | null {
  return current;
}

/** Runs a synchronous render with `session` active. */
export function withSession<T>(session: RenderSession, render: () => T): T {
  const previous = current;
  current = session;
  try {
    return render();
  } finally {
    current = previous;
  }
}
