/**
 * The database layer on real PostgreSQL (DATABASE_URL) and on the embedded
 * PGlite: migrations, the migration runner's guarantees, day partitions of
 * flights_history, and the embedded database's lifecycle.
 */
import assert from "node:assert/strict";
import {
  connect,
  loadMigrations,
  migrate,
  MIGRATIONS_DIR,
  openDatabase,
  redactUrl,
  type Sql,
} from "../lib/db/mod.ts";
import { startEmbedded } from "../lib/db/embedded.ts";
import { hasCode } from "../lib/errors.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import type { Flight } from "../contracts/mod.ts";
import { flightFromRow, type FlightRow, flightSelectList } from "../lib/db/history_rows.ts";
import { freshEmbedded, freshPostgres, measuredColumns } from "./_db.ts";
import { skipWithoutPostgres } from "./_services.ts";

const TABLES = ["flights_current", "flights_history", "flights", "anomalies", "schema_migrations"];
const ROOT = new URL("../", import.meta.url);

/** Probe migrations that fail or double a row when applied twice (test-only SQL, no flight data). */
const PROBES = {
  "9001_probe_table.sql": `CREATE TABLE migrate_probe (file text NOT NULL);
-- Keeps the transaction open a moment, so concurrent runs really overlap.
SELECT pg_sleep(0.2);
INSERT INTO migrate_probe VALUES ('9001');
`,
  "9002_probe_row.sql": "INSERT INTO migrate_probe VALUES ('9002');\n",
};

/** The first aircraft of the real Switzerland recording, at 2018-08-01T11:30:00Z. */
async function realFlight(): Promise<Flight> {
  const text = await Deno.readTextFile(
    new URL("fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl", ROOT),
  );
  const snapshot = JSON.parse(text.slice(0, text.indexOf("\n"))) as { states: unknown[] };
  const result = stateVectorToFlight(snapshot.states[0]);
  assert.ok(result.ok, "fixture row maps to a flight");
  return result.flight;
}

/** A copy of migrations/ plus `extra` files, in a temp folder. */
async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_migrations_" });
  for (const m of await loadMigrations()) await Deno.writeTextFile(`${dir}/${m.file}`, m.sql);
  for (const [file, text] of Object.entries(extra)) {
    await Deno.writeTextFile(`${dir}/${file}`, text);
  }
  return dir;
}

async function allFiles(dir: URL | string = MIGRATIONS_DIR): Promise<string[]> {
  return (await loadMigrations(dir)).map((m) => m.file);
}

async function missingTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT name FROM unnest(${TABLES}::text[]) AS name WHERE to_regclass(name) IS NULL`;
  return rows.map((r) => r.name);
}

async function insertHistory(sql: Sql, flight: Flight): Promise<number> {
  // Smoothed columns = raw here: this checks storage, not the Kalman filter.
  const row = {
    icao24: flight.icao24,
    ts: new Date(flight.time_position_unix * 1000),
    ...measuredColumns(flight),
  };
  const result = await sql`
    INSERT INTO flights_history ${sql(row)} ON CONFLICT (icao24, ts) DO NOTHING`;
  return result.count;
}

/** The flight objects stored in flights_history, rebuilt from the columns. */
async function storedFlights(sql: Sql, icao24?: string): Promise<Flight[]> {
  const rows = await sql<FlightRow[]>`
    SELECT ${sql.unsafe(flightSelectList(""))} FROM flights_history
    WHERE ${icao24 === undefined ? sql`TRUE` : sql`icao24 = ${icao24}`} ORDER BY icao24, ts`;
  return rows.map(flightFromRow);
}

// --- scenarios run on both databases ---------------------------------------------------------

async function migratesOnceAndThenSkips(sql: Sql): Promise<void> {
  const files = await allFiles();
  assert.deepEqual(await migrate(sql), { applied: files, skipped: [] });
  assert.deepEqual(await missingTables(sql), []);
  const [fn] = await sql`
    SELECT to_regprocedure('flights_history_ensure_partition(date)') IS NOT NULL AS ok`;
  assert.equal(fn?.ok, true);
  assert.deepEqual(await migrate(sql), { applied: [], skipped: files });
  const [count] = await sql`SELECT count(*)::int AS n FROM schema_migrations`;
  assert.equal(count?.n, files.length);
}

async function partitionsByDay(sql: Sql): Promise<void> {
  const flight = await realFlight();
  assert.equal(
    new Date(flight.time_position_unix * 1000).toISOString(),
    "2018-08-01T11:30:00.000Z",
  );
  const [first] = await sql`SELECT flights_history_ensure_partition('2018-08-01') AS part`;
  assert.equal(first?.part, "flights_history_20180801");
  const [again] = await sql`SELECT flights_history_ensure_partition('2018-08-01') AS part`;
  assert.equal(again?.part, "flights_history_20180801");

  assert.equal(await insertHistory(sql, flight), 1);
  assert.equal(await insertHistory(sql, flight), 0, "duplicate (icao24, ts) is ignored");
  const rows = await sql`
    SELECT tableoid::regclass::text AS part FROM flights_history WHERE icao24 = ${flight.icao24}`;
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.part, "flights_history_20180801");
  assert.deepEqual(await storedFlights(sql, flight.icao24), [flight]);

  // A day without a partition is refused, not lost silently.
  const nextDay = { ...flight, time_position_unix: Date.UTC(2018, 7, 2) / 1000 };
  await assert.rejects(insertHistory(sql, nextDay), { code: "23514" });
  // Bounds are UTC midnights whatever the session's time zone and date style.
  await sql.begin(async (tx) => {
    await tx`SET LOCAL TIME ZONE 'America/New_York'`;
    await tx`SET LOCAL DateStyle = 'SQL, DMY'`;
    await tx`SELECT flights_history_ensure_partition('2018-08-02')`;
  });
  assert.equal(await insertHistory(sql, nextDay), 1);
  const [row] = await sql`
    SELECT tableoid::regclass::text AS part FROM flights_history WHERE ts = '2018-08-02T00:00:00Z'`;
  assert.equal(row?.part, "flights_history_20180802");
}

async function refusesChangedMigration(sql: Sql): Promise<void> {
  const dir = await migrationsWith({ "9001_probe_table.sql": PROBES["9001_probe_table.sql"] });
  try {
    await migrate(sql, { dir });
    // Line endings alone are not a change (a Windows checkout converts them).
    const initial = await Deno.readTextFile(`${dir}/0001_initial.sql`);
    await Deno.writeTextFile(`${dir}/0001_initial.sql`, initial.replaceAll("\n", "\r\n"));
    assert.deepEqual((await migrate(sql, { dir })).applied, []);

    await Deno.writeTextFile(
      `${dir}/9001_probe_table.sql`,
      `${PROBES["9001_probe_table.sql"]}-- edited after it was applied\n`,
    );
    await Deno.writeTextFile(`${dir}/9002_probe_row.sql`, PROBES["9002_probe_row.sql"]);
    await assert.rejects(
      migrate(sql, { dir }),
      (error: Error) =>
        hasCode(error, "config_invalid") && error.message.includes("9001_probe_table.sql"),
    );
    const [later] =
      await sql`SELECT count(*)::int AS n FROM schema_migrations WHERE version = 9002`;
    assert.equal(later?.n, 0, "nothing runs after a refusal");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function failedMigrationRollsBack(sql: Sql): Promise<void> {
  const dir = await migrationsWith({
    "9101_probe_broken.sql": "CREATE TABLE half_done (n int);\nSELECT nonsense FROM;\n",
  });
  try {
    await assert.rejects(migrate(sql, { dir }), /9101_probe_broken\.sql failed at line 2/);
    const [state] = await sql`
      SELECT to_regclass('half_done') IS NULL AS rolled_back,
        (SELECT count(*)::int FROM schema_migrations WHERE version = 9101) AS recorded`;
    assert.deepEqual(state, { rolled_back: true, recorded: 0 });
    // The connection is usable again and the fixed file applies.
    await Deno.writeTextFile(`${dir}/9101_probe_broken.sql`, "CREATE TABLE half_done (n int);\n");
    assert.deepEqual((await migrate(sql, { dir })).applied, ["9101_probe_broken.sql"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Two runs at once over `clients` (one per run): every file applied exactly once. */
async function concurrentRunsApplyOnce(clients: [Sql, Sql]): Promise<void> {
  const dir = await migrationsWith(PROBES);
  try {
    const files = await allFiles(dir);
    const sql = clients[0];
    // Whatever state the database is in, the probes are new to it.
    await migrate(sql);
    const [a, b] = await Promise.all(clients.map((client) => migrate(client, { dir })));
    assert.ok(a && b);
    assert.deepEqual([...a.applied, ...b.applied].sort(), Object.keys(PROBES));
    const [count] = await sql`SELECT count(*)::int AS n FROM schema_migrations`;
    assert.equal(count?.n, files.length);
    const probe = await sql`SELECT file FROM migrate_probe ORDER BY file`;
    assert.deepEqual(probe.map((r) => r.file), ["9001", "9002"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// --- no database ------------------------------------------------------------------------------

Deno.test("db: redactUrl hides passwords", () => {
  assert.equal(redactUrl("postgres://u:s3cret@db:5432/x"), "postgres://u:***@db:5432/x");
  assert.equal(
    redactUrl("postgres://u:p@ss@db/x?sslmode=require"),
    "postgres://u:***@db/x?sslmode=require",
  );
  assert.equal(
    redactUrl("postgres://u:pw@h1:5432,h2:5432/x"),
    "postgres://u:***@h1:5432,h2:5432/x",
  );
  assert.equal(
    redactUrl("postgres://u@db/x?password=pw&a=1"),
    "postgres://u@db/x?password=***&a=1",
  );
  assert.equal(
    redactUrl("postgres://postgres@127.0.0.1:5/postgres"),
    "postgres://postgres@127.0.0.1:5/postgres",
  );
});

Deno.test("db: loadMigrations orders by number and rejects bad names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skysentinel_migrations_" });
  try {
    await Deno.writeTextFile(`${dir}/0010_later.sql`, "SELECT 10;");
    await Deno.writeTextFile(`${dir}/0009_earlier.sql`, "SELECT 9;");
    await Deno.writeTextFile(`${dir}/README.md`, "not a migration");
    assert.deepEqual(await allFiles(dir), ["0009_earlier.sql", "0010_later.sql"]);
    assert.deepEqual(await allFiles(new URL(`file://${dir}`)), [
      "0009_earlier.sql",
      "0010_later.sql",
    ]);

    await Deno.writeTextFile(`${dir}/0010_same_number.sql`, "SELECT 10;");
    await assert.rejects(loadMigrations(dir), (e: Error) => hasCode(e, "config_invalid"));
    await Deno.remove(`${dir}/0010_same_number.sql`);

    await Deno.writeTextFile(`${dir}/7_short.sql`, "SELECT 7;");
    await assert.rejects(loadMigrations(dir), /7_short\.sql/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- PostgreSQL -------------------------------------------------------------------------------

Deno.test({
  name: "db/postgres: migrations create every table; a second run applies nothing",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres();
    try {
      await migratesOnceAndThenSkips(db.sql);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "db/postgres: two concurrent runs apply each migration exactly once",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres();
    const clients: [Sql, Sql] = [connect(db.url, { max: 1 }), connect(db.url, { max: 1 })];
    try {
      await concurrentRunsApplyOnce(clients);
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
      await db.close();
    }
  },
});

Deno.test({
  name:
    "db/postgres: two `deno task migrate` processes (task permissions) apply each migration once",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres();
    try {
      const run = () =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            `--allow-net=${new URL(db.url).host}`,
            "--allow-env=DATABASE_URL,DATA_DIR,PG*",
            "--allow-read=migrations",
            "scripts/migrate.ts",
          ],
          cwd: ROOT,
          env: { DATABASE_URL: db.url },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const outputs = await Promise.all([run(), run()]);
      const decoder = new TextDecoder();
      const applied: string[] = [];
      for (const out of outputs) {
        assert.equal(out.code, 0, decoder.decode(out.stderr));
        for (const line of decoder.decode(out.stdout).split("\n")) {
          if (line.startsWith("applied ")) applied.push(line.slice("applied ".length));
        }
      }
      assert.deepEqual(applied.sort(), await allFiles());
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "db/postgres: an applied migration that changed is refused, naming the file",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres();
    try {
      await refusesChangedMigration(db.sql);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "db/postgres: a failing migration rolls back and names its file and line",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres();
    try {
      await failedMigrationRollsBack(db.sql);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "db/postgres: flights_history partitions by UTC day; duplicates are ignored",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const db = await freshPostgres({ migrate: true });
    const other = connect(db.url, { max: 1 });
    try {
      await partitionsByDay(db.sql);
      // Two writers meeting a new day together both get the partition.
      const parts = await Promise.all(
        [db.sql, other].map((sql) =>
          sql`SELECT flights_history_ensure_partition('2018-08-03') AS part`
        ),
      );
      assert.deepEqual(parts.map((rows) => rows[0]?.part), [
        "flights_history_20180803",
        "flights_history_20180803",
      ]);
    } finally {
      await other.end();
      await db.close();
    }
  },
});

Deno.test({
  name: "db/postgres: openDatabase connects and migrates; an unreachable server is a clear error",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const fresh = await freshPostgres();
    try {
      const db = await openDatabase({ url: fresh.url, max: 2 });
      assert.equal(db.kind, "postgres");
      assert.deepEqual(await missingTables(db.sql), []);
      await db.close();
      await db.close();
    } finally {
      await fresh.close();
    }
    await assert.rejects(
      openDatabase({ url: "postgres://nobody:secret@127.0.0.1:1/nothing" }),
      (e: Error) =>
        hasCode(e, "upstream_unavailable") && e.message.includes("nobody:***@") &&
        !e.message.includes("secret"),
    );
  },
});

// --- embedded PGlite --------------------------------------------------------------------------

Deno.test("db/embedded: migrations, concurrent runs on the shared client, partitions", async () => {
  const db = await freshEmbedded();
  try {
    await migratesOnceAndThenSkips(db.sql);
    await concurrentRunsApplyOnce([db.sql, db.sql]);
    await partitionsByDay(db.sql);
  } finally {
    await db.close();
  }
});

Deno.test("db/embedded: changed migrations are refused; failing ones roll back", async () => {
  const db = await freshEmbedded();
  try {
    await refusesChangedMigration(db.sql);
    await failedMigrationRollsBack(db.sql);
  } finally {
    await db.close();
  }
});

Deno.test("db/embedded: a restart on the same dataDir keeps the rows", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skysentinel_pglite_" });
  try {
    const flight = await realFlight();
    const first = await openDatabase({ dataDir });
    assert.equal(first.kind, "embedded");
    await first.sql`SELECT flights_history_ensure_partition('2018-08-01')`;
    assert.equal(await insertHistory(first.sql, flight), 1);
    await first.close();

    const second = await openDatabase({ dataDir });
    try {
      assert.equal(await insertHistory(second.sql, flight), 0);
      assert.deepEqual(await storedFlights(second.sql), [flight]);
      assert.deepEqual((await migrate(second.sql)).applied, []);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("db/embedded: handles share one server and client; the folder is locked", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skysentinel_pglite_" });
  try {
    const [a, b] = await Promise.all([openDatabase({ dataDir }), openDatabase({ dataDir })]);
    assert.equal(a.sql, b.sql);
    assert.equal(a.url, b.url);

    // Work from both components interleaves safely on the one connection.
    const [counted] = await Promise.all([
      b.sql`SELECT count(*)::int AS n FROM flights_current`,
      a.sql.begin(async (tx) => {
        await tx`CREATE TABLE share_probe (n int)`;
        await tx`INSERT INTO share_probe VALUES (1)`;
      }),
    ]);
    assert.equal(counted[0]?.n, 0);

    // The server takes no second client: it hangs up before authenticating.
    const port = Number(new URL(a.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const startup = new TextEncoder().encode(
        "....\0\x03\0\0user\0postgres\0database\0postgres\0\0",
      );
      new DataView(startup.buffer).setInt32(0, startup.length);
      await conn.write(startup);
      const reply = new Uint8Array(64);
      const n = await conn.read(reply);
      assert.ok(n === null || reply[0] !== "R".charCodeAt(0), "no authentication reply");
    } finally {
      conn.close();
    }

    // Another process (here: a direct start) cannot open the same folder.
    await assert.rejects(
      startEmbedded({ dataDir: `${dataDir}/pglite` }),
      (e: Error) => hasCode(e, "upstream_unavailable") && e.message.includes("in use"),
    );

    await a.close();
    await a.close();
    const [still] = await b.sql`SELECT n FROM share_probe`;
    assert.equal(still?.n, 1);
    await b.close();

    const reopened = await openDatabase({ dataDir, migrate: false });
    assert.notEqual(reopened.sql, a.sql);
    await reopened.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("db/embedded: a DATA_DIR the program may not write is a clear error", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "skysentinel-db-perm-" });
  try {
    const allowed = `${tmp}/allowed`;
    const script = `
      import { openDatabase } from ${
      JSON.stringify(new URL("../lib/db/mod.ts", import.meta.url).href)
    };
      try {
        await openDatabase({ dataDir: ${JSON.stringify(`${tmp}/elsewhere`)} });
        console.log("opened");
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, message: error.message }));
      }`;
    const file = `${tmp}/open.ts`;
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        `--config=${new URL("../deno.json", import.meta.url).pathname}`,
        `--allow-read=.,${tmp}`,
        `--allow-write=${allowed}`,
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(stdout.startsWith("{"), `no error reported; stdout: ${stdout}; stderr: ${stderr}`);
    const result = JSON.parse(stdout.split("\n").at(-1) ?? "null");
    assert.equal(result.code, "config_invalid", stdout);
    assert.match(result.message, /Cannot open the embedded database in .*elsewhere\/pglite/);
    assert.match(result.message, /DATA_DIR/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
