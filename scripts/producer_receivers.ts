/**
 * `deno task producer:receivers`: the producer with an `--allow-net` that
 * includes the receivers named in SOURCES.
 *
 * Receivers are hosts the user chooses (a Raspberry Pi on the LAN, an
 * aggregator), so no static `--allow-net` list in deno.json can name them,
 * and granting all of the network would undo the narrow permissions every
 * other task keeps. This launcher reads SOURCES, KAFKA_BROKERS and
 * PRODUCER_PORT, takes the `producer` task's flags from deno.json, adds
 * exactly the receivers' `host:port` (and the brokers' and metrics port if
 * they differ from the defaults) to its `--allow-net`, and runs the producer
 * with them. `--print` prints the command instead.
 *
 * @module
 */
import { netPermissions, parseSourceUrl } from "../lib/sources/url.ts";

/** The producer task's command with `--allow-net` widened by exactly what `env` names. */
export function receiverProducerArgs(
  producerTask: string,
  env: { SOURCES?: string; KAFKA_BROKERS?: string; PRODUCER_PORT?: string },
): string[] {
  const args = producerTask.trim().split(/\s+/);
  if (args[0] !== "deno" || args[1] !== "run") {
    throw new TypeError("producer task is not `deno run`");
  }
  const specs = (env.SOURCES ?? "").split(",").map((s) => s.trim()).filter(Boolean).map(
    parseSourceUrl,
  );
  if (!specs.some((s) => s.kind !== "opensky" && s.kind !== "replay")) {
    throw new TypeError("SOURCES names no receiver (sbs://, beast://, http(s)://, v2+https://)");
  }
  const extra = [
    ...netPermissions(specs),
    ...(env.KAFKA_BROKERS ?? "").split(",").map((b) => b.trim()).filter(Boolean),
    ...(env.PRODUCER_PORT ? [`0.0.0.0:${env.PRODUCER_PORT}`] : []),
  ];
  const i = args.findIndex((a) => a.startsWith("--allow-net="));
  if (i < 0) throw new TypeError("producer task has no --allow-net list");
  const list = new Set(args[i]!.slice("--allow-net=".length).split(","));
  for (const host of extra) list.add(host);
  args[i] = `--allow-net=${[...list].join(",")}`;
  return args.slice(1); // without "deno"
}

if (import.meta.main) {
  const config = JSON.parse(await Deno.readTextFile("deno.json")) as {
    tasks: Record<string, string>;
  };
  const env = {
    SOURCES: Deno.env.get("SOURCES"),
    KAFKA_BROKERS: Deno.env.get("KAFKA_BROKERS"),
    PRODUCER_PORT: Deno.env.get("PRODUCER_PORT"),
  };
  let args: string[];
  try {
    args = receiverProducerArgs(config.tasks.producer!, env);
  } catch (error) {
    console.error(`producer:receivers: ${(error as Error).message}`);
    Deno.exit(2);
  }
  if (Deno.args.includes("--print")) {
    console.log(["deno", ...args].join(" "));
    Deno.exit(0);
  }
  const child = new Deno.Command("deno", {
    args,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn();
  // Pass Ctrl+C / SIGTERM on, so the producer shuts down cleanly.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => child.kill(signal));
    } catch {
      // not on this platform
    }
  }
  Deno.exit((await child.status).code);
}
