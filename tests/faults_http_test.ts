/**
 * Time parameters before year 1 answer 400, not PostgreSQL's 22008 as a 500 (issue #14):
 * the real server (createWebApp + Deno.serve) on a fresh, migrated PostgreSQL database.
 */
import assert from "node:assert/strict";
import { serveApi } from "./_api_server.ts";
import { freshPostgres } from "./_db.ts";
import { skipWithoutPostgres } from "./_services.ts";

Deno.test({
  name: "faults: time parameters before year 1 or after 9999 are a 400 naming the parameter",
  ignore: skipWithoutPostgres(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const db = await freshPostgres({ migrate: true });
    const server = await serveApi(db.sql, { onError: () => {} });
    try {
      const cases: [string, string][] = [
        ["/api/snapshot?at=0000-01-01", "at"],
        ["/api/anomalies?since=-62135596801", "since"],
        ["/api/flights/406d95/track?from=0000-01-01", "from"],
        ["/api/flights/406d95/track?from=2017-02-05&to=+010000-01-01T00:00:00Z", "to"],
      ];
      for (const [path, param] of cases) {
        const res = await fetch(`${server.origin}${path}`);
        const body = await res.json();
        assert.equal(res.status, 400, `${path}: ${JSON.stringify(body)}`);
        assert.match(JSON.stringify(body), new RegExp(`${param}: `), path);
      }
      // The first second of year 1 is still a time: no 400 there (an empty answer).
      const ok = await fetch(
        `${server.origin}/api/anomalies?since=-62135596800`,
      );
      await ok.body?.cancel();
      assert.equal(ok.status, 200);
    } finally {
      await server.shutdown();
      await db.close();
    }
  },
});
