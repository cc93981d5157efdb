/**
 * One `GET /states/all` request to the OpenSky REST API, with its failure
 * modes sorted into outcomes the poll loop can act on. It never throws for
 * an upstream problem: a timeout, a 5xx, a 429 or a body that is not JSON
 * each come back as a value.
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";
import { OpenSkyReply } from "../../contracts/opensky.ts";
import { formatZodError } from "../zod_error.ts";
import { type AuthProvider, describeFetchError } from "./auth.ts";

/** Label values of `producer_api_errors_total{type}`. */
export type ApiErrorType =
  | "timeout"
  | "network"
  | "http_5xx"
  | "http_4xx"
  | "auth"
  | "rate_limited"
  | "bad_json"
  | "bad_reply";

export type StatesResult =
  | {
    kind: "ok";
    reply: OpenSkyReply;
    /** Credits left today (`X-Rate-Limit-Remaining`), or null when absent. */
    remaining: number | null;
  }
  | {
    kind: "rate_limited";
    /** `X-Rate-Limit-Retry-After-Seconds`, or null when absent. */
    retryAfterS: number | null;
    remaining: number | null;
  }
  | {
    kind: "error";
    type: Exclude<ApiErrorType, "rate_limited">;
    message: string;
    /** HTTP status when there was a response. */
    status: number | null;
    /** The body when it is the problem (bad_json, bad_reply), else null. */
    raw: string | null;
    remaining: number | null;
  }
  /** The caller's signal fired (shutdown): nothing to report. */
  | { kind: "aborted" };

/** Options for {@link OpenSkyClient}. */
export interface OpenSkyClientOptions {
  auth: AuthProvider;
  /** `[lamin, lomin, lamax, lomax]`, or null for the whole world. */
  bbox: BBox | null;
  /** Timeout of one request including its body, ms. */
  timeoutMs: number;
  /** HTTP client (tests). Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Client of `GET {apiUrl}/states/all` for one box. */
export class OpenSkyClient {
  #url: string;
  #auth: AuthProvider;
  #timeoutMs: number;
  #fetch: typeof fetch;

  constructor(apiUrl: string, options: OpenSkyClientOptions) {
    this.#url = statesUrl(apiUrl, options.bbox);
    this.#auth = options.auth;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The request URL (no credentials in it). */
  get url(): string {
    return this.#url;
  }

  /**
   * Fetches one snapshot. A 401 with credentials drops the token, fetches a
   * new one and retries once (tokens can be revoked before `expires_in`).
   */
  async fetchStates(signal?: AbortSignal): Promise<StatesResult> {
    const first = await this.#attempt(signal);
    if (first.kind === "unauthorized" && !this.#auth.anonymous) {
      this.#auth.invalidate();
      const second = await this.#attempt(signal);
      if (second.kind !== "unauthorized") return second;
      return authError("OpenSky answered 401 twice, with a fresh token", second.remaining, 401);
    }
    if (first.kind === "unauthorized") {
      return authError("OpenSky answered 401 to an anonymous request", first.remaining, 401);
    }
    return first;
  }

  async #attempt(
    signal?: AbortSignal,
  ): Promise<StatesResult | { kind: "unauthorized"; remaining: number | null }> {
    if (signal?.aborted) return { kind: "aborted" };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let authorization: string | null;
    try {
      authorization = await this.#auth.authorization(combined);
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted" };
      return authError(error instanceof Error ? error.message : String(error), null, null);
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (authorization) headers.authorization = authorization;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.#url, { headers, signal: combined });
      if (response.status !== 200) await response.body?.cancel();
      text = response.status === 200 ? await response.text() : "";
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted" };
      const timedOut = timeout.aborted;
      return {
        kind: "error",
        type: timedOut ? "timeout" : "network",
        message: timedOut
          ? `OpenSky did not answer within ${this.#timeoutMs} ms`
          : `OpenSky request failed: ${describeFetchError(error)}`,
        status: null,
        raw: null,
        remaining: null,
      };
    }
    const remaining = numberHeader(response.headers, "x-rate-limit-remaining");
    const status = response.status;
    if (status === 401) return { kind: "unauthorized", remaining };
    if (status === 429) {
      return {
        kind: "rate_limited",
        retryAfterS: numberHeader(response.headers, "x-rate-limit-retry-after-seconds"),
        remaining,
      };
    }
    if (status !== 200) {
      return {
        kind: "error",
        type: status >= 500 ? "http_5xx" : "http_4xx",
        message: `OpenSky answered HTTP ${status}`,
        status,
        raw: null,
        remaining,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return {
        kind: "error",
        type: "bad_json",
        message: `OpenSky reply is not JSON: ${error instanceof Error ? error.message : error}`,
        status,
        raw: text,
        remaining,
      };
    }
    const parsed = OpenSkyReply.safeParse(json);
    if (!parsed.success) {
      return {
        kind: "error",
        type: "bad_reply",
        message: `OpenSky reply: ${formatZodError(parsed.error)}`,
        status,
        raw: text,
        remaining,
      };
    }
    return { kind: "ok", reply: parsed.data, remaining };
  }
}

/** `{apiUrl}/states/all?lamin=..&lomin=..&lamax=..&lomax=..&extended=1`. */
export function statesUrl(apiUrl: string, bbox: BBox | null): string {
  const params = new URLSearchParams();
  if (bbox) {
    const [lamin, lomin, lamax, lomax] = bbox;
    params.set("lamin", String(lamin));
    params.set("lomin", String(lomin));
    params.set("lamax", String(lamax));
    params.set("lomax", String(lomax));
  }
  // extended=1 adds the aircraft category (index 17).
  params.set("extended", "1");
  return `${apiUrl.replace(/\/+$/, "")}/states/all?${params}`;
}

function authError(
  message: string,
  remaining: number | null,
  status: number | null,
): StatesResult {
  return { kind: "error", type: "auth", message, status, raw: null, remaining };
}

function numberHeader(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  if (value === null || value.trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
