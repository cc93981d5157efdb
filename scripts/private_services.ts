/**
 * A private Kafka and/or PostgreSQL, started by scripts/services.sh with a
 * SERVICES_DIR and ports of their own, for fault tests and `deno task chaos`:
 * they may be stopped and started at will without touching the shared
 * services other processes use.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./services.sh", import.meta.url));

/** Options for {@link PrivateServices.start}. */
export interface PrivateServicesOptions {
  /** State folder (data, logs). Default: a new temp folder. */
  dir?: string;
  /** Broker port. Default: a free one. */
  kafkaPort?: number;
  /** PostgreSQL port. Default: a free one. */
  pgPort?: number;
  /** Which services. Default both. */
  services?: readonly ("kafka" | "postgres")[];
  /** Progress lines (services.sh's stderr). Default: dropped. */
  log?: (line: string) => void;
}

/** A running private set of services; see the module doc. */
export class PrivateServices {
  readonly dir: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly pgPort: number;
  readonly services: readonly ("kafka" | "postgres")[];
  #log: (line: string) => void;

  private constructor(
    options: Required<Omit<PrivateServicesOptions, "log">> & {
      controllerPort: number;
      log: (line: string) => void;
    },
  ) {
    this.dir = options.dir;
    this.kafkaPort = options.kafkaPort;
    this.controllerPort = options.controllerPort;
    this.pgPort = options.pgPort;
    this.services = options.services;
    this.#log = options.log;
  }

  /** Starts the services (30 s or so for Kafka on a busy machine). */
  static async start(options: PrivateServicesOptions = {}): Promise<PrivateServices> {
    const [kafkaPort, controllerPort, pgPort] = freePorts(3);
    const services = new PrivateServices({
      dir: options.dir ?? await Deno.makeTempDir({ prefix: "skysentinel-services-" }),
      kafkaPort: options.kafkaPort ?? kafkaPort!,
      controllerPort: controllerPort!,
      pgPort: options.pgPort ?? pgPort!,
      services: options.services ?? ["kafka", "postgres"],
      log: options.log ?? (() => {}),
    });
    for (const service of services.services) await services.run("start", service);
    return services;
  }

  /** `127.0.0.1:port` of the broker. */
  get brokers(): string[] {
    return [`127.0.0.1:${this.kafkaPort}`];
  }

  /** The database URL (user and database `skysentinel`, as services.sh creates them). */
  get databaseUrl(): string {
    return `postgres://skysentinel@127.0.0.1:${this.pgPort}/skysentinel`;
  }

  /** Runs `services.sh <command> <service>` with this set's folder and ports. */
  async run(command: "start" | "stop", service: "kafka" | "postgres"): Promise<void> {
    const out = await new Deno.Command("bash", {
      args: [SCRIPT, command, service],
      env: {
        SERVICES_DIR: this.dir,
        KAFKA_PORT: String(this.kafkaPort),
        KAFKA_CONTROLLER_PORT: String(this.controllerPort),
        PGPORT_SKYSENTINEL: String(this.pgPort),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    for (const line of stderr.split("\n")) if (line) this.#log(line);
    if (!out.success) {
      throw new Error(`services.sh ${command} ${service} failed (${out.code}): ${stderr}`);
    }
  }

  /** Stops everything and removes the folder. */
  async destroy(): Promise<void> {
    for (const service of this.services) {
      await this.run("stop", service).catch((e) => this.#log(String(e)));
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** `count` distinct TCP ports nobody listens on right now (held together, so never the same). */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  return freePorts(1)[0]!;
}
