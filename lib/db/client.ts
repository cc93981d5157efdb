/**
 * The PostgreSQL client: npm:postgres (postgres.js) with the options every
 * SkySentinel program uses. Column names stay snake_case as in the schema
 * (no case transform), timestamptz columns come back as JS `Date`s and int8
 * as strings (postgres.js defaults; int8 does not fit a JS number).
 *
 * Connections are TCP sockets with Nagle's algorithm off (`TCP_NODELAY`, see
 * {@link noDelaySocket}), as libpq sets it: with it on, a query sent right
 * after a COPY waited about 40 ms for a delayed ACK, once per transaction.
 *
 * Options a deployment may need per server (`prepare=false` behind a
 * transaction-mode pooler, `sslmode=require`, ...) go in the URL's query
 * string, which postgres.js reads; the options set here leave them alone.
 *
 * @module
 */
import net from "node:net";
import postgres from "postgres";
import { guardPostgresSocketRace } from "./_socket_race.ts";

/** A postgres.js client (a pool of connections). */
export type Sql = postgres.Sql;

/** A notice (or warning) sent by the server. */
export type Notice = postgres.Notice;

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Pool size: connections opened on demand. Default 10. */
  max?: number;
  /**
   * Called with every notice the server sends. The default drops NOTICE, INFO,
   * LOG and DEBUG ones (`CREATE ... IF NOT EXISTS` says "already exists,
   * skipping") and prints WARNINGs to stderr.
   */
  onnotice?: (notice: Notice) => void;
  /** Seconds an unused connection stays open; 0 keeps it open for good. Default 30. */
  idleTimeoutS?: number;
  /**
   * Seconds after which a connection is replaced (spreads load after a
   * failover); null never replaces it. Default: postgres.js's 30-60 min.
   */
  maxLifetimeS?: number | null;
  /** Shown in pg_stat_activity. Default `skysentinel`. */
  applicationName?: string;
}

/** Seconds to wait for a TCP connection and the start-up handshake. */
const CONNECT_TIMEOUT_S = 10;
const DEFAULT_IDLE_TIMEOUT_S = 30;

/**
 * Creates a client for `url` (`postgres://user:password@host:port/database`).
 * Connections open lazily, so this never fails: the first query does.
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  guardPostgresSocketRace();
  const lifetime = options.maxLifetimeS === undefined ? {} : { max_lifetime: options.maxLifetimeS };
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeoutS ?? DEFAULT_IDLE_TIMEOUT_S,
    connect_timeout: CONNECT_TIMEOUT_S,
    ...lifetime,
    onnotice: options.onnotice ?? quietNotices,
    connection: { application_name: options.applicationName ?? "skysentinel" },
    // A URL with several hosts keeps postgres.js' own sockets (it rotates through them).
    ...(singleHost(url) ? { socket: noDelaySocket } : {}),
  });
}

/** Whether the URL names one host (postgres.js takes `host1:port1,host2:port2`). */
function singleHost(url: string): boolean {
  const authority = url.replace(/^[a-z]+:\/\//i, "").split(/[/?]/, 1)[0] ?? "";
  return !authority.slice(authority.lastIndexOf("@") + 1).includes(",");
}

/**
 * The socket of a new connection, connecting, with Nagle's algorithm off.
 * postgres.js opens its sockets with Node's defaults (Nagle on) and takes a
 * `socket` factory instead; it then writes its start-up (or SSL) request at
 * once, which the socket holds until connected, and listens for `error` and
 * `close` as on its own, so refusals, timeouts and reconnects behave as
 * before. Measured: a statement after a binary COPY of 2,000 rows took 45 ms
 * with Nagle on, 1 to 4 ms with it off (the server's delayed ACK held the
 * statement's second segment).
 */
export function noDelaySocket(options: {
  host: readonly string[];
  port: readonly number[];
  path?: string | false;
}): net.Socket {
  const socket = new net.Socket();
  socket.setNoDelay(true);
  if (options.path) socket.connect(options.path);
  else socket.connect(options.port[0] ?? 5432, options.host[0] ?? "localhost");
  return socket;
}

function quietNotices(notice: Notice): void {
  if (notice.severity === "WARNING") {
    console.warn(`[postgres] warning: ${notice.message}`);
  }
}

/**
 * `url` with its password replaced by `***`, for logs and error messages.
 * Works on URLs `new URL` cannot parse too (postgres.js multi-host URLs) and
 * on `password=` query parameters.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, "$1:***@")
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, "$1***");
}
