/**
 * `HttpError` (Fresh v2 exports one of the same name) and the JSON error
 * body every API error uses: `{"error": {"code": "...", "message": "..."}}`
 * (contracts/api.ts `ApiError`).
 *
 * @module
 */

const DEFAULT_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  406: "not_acceptable",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  426: "upgrade_required",
  429: "rate_limited",
  500: "internal",
  501: "not_implemented",
  502: "bad_gateway",
  503: "unavailable",
  504: "gateway_timeout",
};

/** Machine-readable code for a status: `bad_request` for 400, `internal` for 500, ... */
export function defaultErrorCode(status: number): string {
  return DEFAULT_CODES[status] ?? (status >= 500 ? "internal" : "bad_request");
}

/** Options for {@link HttpError}. */
export interface HttpErrorOptions extends ErrorOptions {
  /** Machine-readable code; default from the status. */
  code?: string;
  /** Extra response headers (`Allow`, `Retry-After`, ...). */
  headers?: HeadersInit;
}

/**
 * Throw it from a handler or middleware to answer with `status`: API routes
 * get the JSON error body, pages get `_404` or `_error`. The message is shown
 * to the client, so it must be safe to show (name the bad parameter).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: HeadersInit | undefined;
  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be 400..599, got ${status}`);
    }
    super(message ?? defaultErrorCode(status).replaceAll("_", " "), options);
    this.name = "HttpError";
    this.status = status;
    this.code = options.code ?? defaultErrorCode(status);
    this.headers = options.headers;
  }
}

/** A JSON error response: `{"error": {"code", "message"}}`. */
export function errorResponse(
  status: number,
  message: string,
  options: { code?: string; headers?: HeadersInit } = {},
): Response {
  const headers = new Headers(options.headers);
  headers.set("Cache-Control", "no-store");
  return Response.json(
    { error: { code: options.code ?? defaultErrorCode(status), message } },
    { status, headers },
  );
}
