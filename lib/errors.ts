/**
 * The closed list of domain error codes. Code throws built-in errors or
 * {@link SkySentinelError} with one of these codes; the edges (services,
 * routes) turn them into log lines, exit codes or HTTP statuses.
 *
 * @module
 */

export const ERROR_CODES = [
  /** The environment or a flag is wrong: the program cannot start. */
  "config_invalid",
  /** Input failed validation (a message, a row, a parameter). */
  "validation_failed",
  /** An upstream (OpenSky, Kafka, PostgreSQL, an upstream hub) is unreachable or refused. */
  "upstream_unavailable",
  /** OpenSky said no more credits for now. */
  "rate_limited",
  /** The program is shutting down. */
  "shutting_down",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class SkySentinelError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SkySentinelError";
    this.code = code;
  }
}

/** True when `error` is a {@link SkySentinelError} with the given code. */
export function hasCode(error: unknown, code: ErrorCode): error is SkySentinelError {
  return error instanceof SkySentinelError && error.code === code;
}
