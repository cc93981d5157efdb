/**
 * OpenSky authentication: OAuth2 client credentials (the only scheme OpenSky
 * accepts since basic auth was switched off on 18 March 2026), or anonymous.
 *
 * @module
 */
import { SkySentinelError } from "../errors.ts";

/** Supplies the `Authorization` header of an API request. */
export interface AuthProvider {
  /** True when requests go without credentials (anonymous limits apply). */
  readonly anonymous: boolean;
  /** The header value (`Bearer ...`), or null when anonymous. */
  authorization(signal?: AbortSignal): Promise<string | null>;
  /** Drops the cached token, so that the next call fetches a new one (after a 401). */
  invalidate(): void;
}

/** No credentials: OpenSky's anonymous limits apply (400 credits a day, 10 s resolution). */
export class AnonymousAuth implements AuthProvider {
  readonly anonymous = true;
  authorization(): Promise<null> {
    return Promise.resolve(null);
  }
  invalidate(): void {}
}

/** Options for {@link ClientCredentialsAuth}. */
export interface ClientCredentialsOptions {
  clientId: string;
  clientSecret: string;
  /** Timeout of one token request, ms. Default 15 000. */
  timeoutMs?: number;
  /** Clock, unix ms (tests). Default `Date.now`. */
  now?: () => number;
  /** HTTP client (tests). Default the global `fetch`. */
  fetch?: typeof fetch;
}

interface CachedToken {
  value: string;
  /** Unix ms after which the token must not be used. */
  refreshAtMs: number;
}

/**
 * OAuth2 client-credentials flow against OpenSky's Keycloak token endpoint.
 * Tokens are cached and renewed shortly before `expires_in` runs out, so a
 * poll never goes out with a token about to lapse; concurrent callers share
 * one token request.
 */
export class ClientCredentialsAuth implements AuthProvider {
  readonly anonymous = false;
  #url: string;
  #clientId: string;
  #clientSecret: string;
  #timeoutMs: number;
  #now: () => number;
  #fetch: typeof fetch;
  #token: CachedToken | null = null;
  #pending: Promise<CachedToken> | null = null;
  #fetched = 0;

  constructor(tokenUrl: string, options: ClientCredentialsOptions) {
    this.#url = tokenUrl;
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /** How many tokens were fetched so far. */
  get tokensFetched(): number {
    return this.#fetched;
  }

  async authorization(signal?: AbortSignal): Promise<string> {
    const cached = this.#token;
    if (cached && this.#now() < cached.refreshAtMs) return `Bearer ${cached.value}`;
    this.#pending ??= this.#fetchToken(signal).finally(() => {
      this.#pending = null;
    });
    const token = await this.#pending;
    this.#token = token;
    return `Bearer ${token.value}`;
  }

  invalidate(): void {
    this.#token = null;
  }

  async #fetchToken(signal?: AbortSignal): Promise<CachedToken> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.#clientId,
      client_secret: this.#clientSecret,
    });
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new SkySentinelError(
        "upstream_unavailable",
        `OpenSky token request to ${this.#url} failed: ${describeFetchError(error)}`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      // 400/401 from Keycloak means the credentials themselves are wrong: say so, the
      // operator has to act. Never echo the secret.
      const hint = response.status === 400 || response.status === 401
        ? "; check OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET"
        : "";
      throw new SkySentinelError(
        "upstream_unavailable",
        `OpenSky token endpoint answered HTTP ${response.status}${hint}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SkySentinelError("upstream_unavailable", "OpenSky token reply is not JSON");
    }
    const { access_token: value, expires_in: expiresIn } = (json ?? {}) as Record<string, unknown>;
    if (typeof value !== "string" || value === "") {
      throw new SkySentinelError("upstream_unavailable", "OpenSky token reply has no access_token");
    }
    // OpenSky tokens last 30 minutes; fall back to that when expires_in is missing.
    const lifetimeS = typeof expiresIn === "number" && expiresIn > 0 ? expiresIn : 1800;
    // Renew a little early (a tenth of the lifetime, at most a minute) so that a poll in
    // flight never carries a token that lapses on the way.
    const marginS = Math.min(60, lifetimeS / 10);
    this.#fetched++;
    return { value, refreshAtMs: this.#now() + (lifetimeS - marginS) * 1000 };
  }
}

/** `timeout after 15000 ms`, `connection refused`, ...: one line for logs. */
export function describeFetchError(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  if (error instanceof DOMException && error.name === "AbortError") return "aborted";
  return error instanceof Error ? error.message : String(error);
}
