/**
 * A local stand-in for the OpenSky REST API and its OAuth2 token endpoint,
 * for producer tests. It serves REAL recorded replies (lines of
 * fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl by default)
 * and follows a script of failures: 429 with retry-after, 5xx, slow answers
 * (timeouts), revoked tokens (401), bodies that are not JSON, replies with
 * rows broken on purpose.
 *
 * Also here: {@link CapturingBus}, a Bus wrapper that records every `send`
 * so tests can check what one poll published.
 *
 * @module
 */
import type { Bus, BusSubscription, SubscribeOptions, TopicMessages } from "../lib/bus/types.ts";
import type { TopicSpec } from "../contracts/topics.ts";

export const SWITZERLAND_30MIN = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
);

/** The real replies of the Switzerland 30-minute recording, one string per snapshot. */
export async function realReplies(file: URL = SWITZERLAND_30MIN): Promise<string[]> {
  return (await Deno.readTextFile(file)).split("\n").filter((l) => l.trim() !== "");
}

/** One scripted answer to `GET /states/all`; when the script runs out, real replies follow. */
export type FakeStep =
  /** The next real reply (or `body`), 200. */
  | { kind: "reply"; body?: string }
  /** Any status with optional headers and body (429, 500, 503, 403...). */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** Waits `ms` before answering with the next real reply: longer than the client timeout = a timeout. */
  | { kind: "slow"; ms: number }
  /** 401 whatever the token (as if revoked). */
  | { kind: "unauthorized" };

/** A request seen by the fake. */
export interface SeenRequest {
  path: string;
  /** Authorization header, or null. */
  authorization: string | null;
  /** Query parameters of /states/all. */
  query: Record<string, string>;
  /** Status answered. */
  status: number;
  /** performance.now() when it arrived, ms. */
  atMs: number;
}

/** Options for {@link FakeOpenSky.start}. */
export interface FakeOpenSkyOptions {
  /** Scripted answers, in order. */
  script?: FakeStep[];
  /** Real replies served in turn (cycled). Default: the Switzerland 30-minute file. */
  replies?: string[];
  /** Client id/secret the token endpoint accepts. Default `sky` / `s3cr3t-value`. */
  clientId?: string;
  clientSecret?: string;
  /** `expires_in` of issued tokens, seconds; the fake rejects expired tokens with 401. Default 1800. */
  tokenLifetimeS?: number;
  /** Starting `X-Rate-Limit-Remaining`; each 200 costs `cost`. Default 4000 and 1. */
  credits?: number;
  cost?: number;
}

export class FakeOpenSky {
  readonly requests: SeenRequest[] = [];
  readonly tokenRequests: { grantType: string | null; clientId: string | null; ok: boolean }[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #script: FakeStep[];
  #replies: string[];
  #next = 0;
  #tokens = new Map<string, number>();
  #options: Required<
    Pick<FakeOpenSkyOptions, "clientId" | "clientSecret" | "tokenLifetimeS" | "cost">
  >;
  #credits: number;
  #closed = new AbortController();

  private constructor(options: FakeOpenSkyOptions, replies: string[]) {
    this.#script = [...(options.script ?? [])];
    this.#replies = replies;
    this.#credits = options.credits ?? 4000;
    this.#options = {
      clientId: options.clientId ?? "sky",
      clientSecret: options.clientSecret ?? "s3cr3t-value",
      tokenLifetimeS: options.tokenLifetimeS ?? 1800,
      cost: options.cost ?? 1,
    };
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  static async start(options: FakeOpenSkyOptions = {}): Promise<FakeOpenSky> {
    return new FakeOpenSky(options, options.replies ?? await realReplies());
  }

  get #origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** For OPENSKY_API_URL. */
  get apiUrl(): string {
    return `${this.#origin}/api`;
  }

  /** For OPENSKY_AUTH_URL. */
  get authUrl(): string {
    return `${this.#origin}/auth/token`;
  }

  /** Requests to /states/all. */
  get stateRequests(): SeenRequest[] {
    return this.requests.filter((r) => r.path === "/api/states/all");
  }

  /** Appends steps to the script. */
  push(...steps: FakeStep[]): void {
    this.#script.push(...steps);
  }

  async close(): Promise<void> {
    this.#closed.abort();
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const seen: SeenRequest = {
      path: url.pathname,
      authorization: request.headers.get("authorization"),
      query: Object.fromEntries(url.searchParams),
      status: 0,
      atMs: performance.now(),
    };
    this.requests.push(seen);
    const response = await this.#route(request, url);
    seen.status = response.status;
    return response;
  }

  async #route(request: Request, url: URL): Promise<Response> {
    if (url.pathname === "/auth/token" && request.method === "POST") return this.#token(request);
    if (url.pathname !== "/api/states/all") return new Response("not found", { status: 404 });
    const auth = request.headers.get("authorization");
    if (auth !== null) {
      const token = auth.replace(/^Bearer /, "");
      const expires = this.#tokens.get(token);
      if (!auth.startsWith("Bearer ") || expires === undefined || performance.now() > expires) {
        return new Response("token expired or unknown", { status: 401 });
      }
    }
    const step = this.#script.shift() ?? { kind: "reply" };
    switch (step.kind) {
      case "reply":
        return this.#reply(step.body);
      case "status":
        return new Response(step.body ?? `status ${step.status}`, {
          status: step.status,
          headers: { ...this.#creditHeaders(), ...step.headers },
        });
      case "slow": {
        // Ends at close() too, so a slow answer never holds the test up.
        const signal = this.#closed.signal;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, step.ms);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        return this.#reply();
      }
      case "unauthorized":
        return new Response("revoked", { status: 401 });
    }
  }

  #reply(body?: string): Response {
    let text = body;
    if (text === undefined) {
      text = this.#replies[this.#next % this.#replies.length]!;
      this.#next++;
    }
    this.#credits -= this.#options.cost;
    return new Response(text, {
      headers: { "content-type": "application/json", ...this.#creditHeaders() },
    });
  }

  #creditHeaders(): Record<string, string> {
    return { "x-rate-limit-remaining": String(Math.max(0, this.#credits)) };
  }

  async #token(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const grantType = form.get("grant_type");
    const clientId = form.get("client_id");
    const ok = grantType === "client_credentials" && clientId === this.#options.clientId &&
      form.get("client_secret") === this.#options.clientSecret;
    this.tokenRequests.push({ grantType, clientId, ok });
    if (!ok) return Response.json({ error: "unauthorized_client" }, { status: 401 });
    const token = `token-${this.tokenRequests.length}`;
    this.#tokens.set(token, performance.now() + this.#options.tokenLifetimeS * 1000);
    return Response.json({
      access_token: token,
      expires_in: this.#options.tokenLifetimeS,
      token_type: "Bearer",
    });
  }
}

/**
 * A real reply with some rows broken on purpose, for dead-letter tests
 * (derived data: the name says so). Row 0 loses its icao24, row 1 its
 * position, row 2 gets a string where a number belongs, row 3 is not an
 * array. The other rows are untouched.
 */
export function replyWithMalformedRowsDerived(realReply: string): {
  body: string;
  broken: number;
  intact: number;
  brokenIcao24: string[];
} {
  const reply = JSON.parse(realReply) as { time: number; states: unknown[][] };
  const rows = reply.states;
  if (rows.length < 6) throw new Error("need a reply with at least 6 rows");
  const brokenIcao24 = rows.slice(0, 4).map((r) => String(r[0]));
  rows[0]![0] = null as unknown as string;
  rows[1]![5] = null;
  rows[1]![6] = null;
  rows[2]![7] = "high" as unknown as number;
  (rows as unknown[])[3] = "not a state vector";
  return { body: JSON.stringify(reply), broken: 4, intact: rows.length - 4, brokenIcao24 };
}

/** A Bus that records every `send` before passing it on. */
export class CapturingBus implements Bus {
  readonly sends: TopicMessages[][] = [];
  #inner: Bus;

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  get kind(): "kafka" | "memory" {
    return this.#inner.kind;
  }

  ensureTopics(specs?: readonly TopicSpec[]): Promise<void> {
    return this.#inner.ensureTopics(specs);
  }

  async send(batch: TopicMessages[]): Promise<void> {
    this.sends.push(batch);
    await this.#inner.send(batch);
  }

  subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    return this.#inner.subscribe(options);
  }

  healthy(): boolean {
    return this.#inner.healthy();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Every message sent to `topic`, in order, with values as text. */
  messages(topic: string): { key: string | null; value: string }[] {
    const out: { key: string | null; value: string }[] = [];
    const decoder = new TextDecoder();
    for (const batch of this.sends) {
      for (const part of batch) {
        if (part.topic !== topic) continue;
        for (const m of part.messages) {
          out.push({
            key: m.key,
            value: typeof m.value === "string" ? m.value : decoder.decode(m.value),
          });
        }
      }
    }
    return out;
  }
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  while (!(await predicate())) {
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? "a condition"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
