import { databaseUrl, kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";

/** Parses "host:port", "[v6]:port" into Deno.connect options. */
function hostPort(addr: string, defaultPort: number): { hostname: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr) ?? /^([^:]+)(?::(\d+))?$/.exec(addr);
  if (!m || !m[1]) throw new Error(`cannot parse address ${JSON.stringify(addr)}`);
  return { hostname: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

async function assertAccepts(what: string, target: { hostname: string; port: number }) {
  const connecting = Deno.connect({ ...target, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 5_000);
  });
  let result: Deno.TcpConn | "timeout";
  try {
    result = await Promise.race([connecting, timeout]);
  } catch (err) {
    throw new Error(
      `${what} at ${target.hostname}:${target.port} does not accept connections ` +
        `(start it with: deno task services start): ${err instanceof Error ? err.message : err}`,
    );
  } finally {
    clearTimeout(timer);
  }
  if (result === "timeout") {
    connecting.then((c) => c.close(), () => {});
    throw new Error(`${what}: connecting to ${target.hostname}:${target.port} timed out after 5 s`);
  }
  result.close();
}

Deno.test({
  name: "services: Kafka broker port from KAFKA_BROKERS accepts TCP connections",
  ignore: skipWithoutKafka(),
  fn: async () => {
    const brokers = kafkaBrokers();
    if (!brokers) throw new Error("KAFKA_BROKERS is not set (CI must start scripts/services.sh)");
    for (const broker of brokers) {
      await assertAccepts("Kafka broker", hostPort(broker, 9092));
    }
  },
});

Deno.test({
  name: "services: PostgreSQL port from DATABASE_URL accepts TCP connections",
  ignore: skipWithoutPostgres(),
  fn: async () => {
    const raw = databaseUrl();
    if (!raw) throw new Error("DATABASE_URL is not set (CI must start scripts/services.sh)");
    const url = new URL(raw);
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      throw new Error(`DATABASE_URL must be a postgres:// URL, got ${url.protocol}`);
    }
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
    await assertAccepts("PostgreSQL", { hostname, port: url.port ? Number(url.port) : 5432 });
  },
});
