/**
 * Sending one alert to a rule's webhook and ntfy targets.
 *
 * - Webhook: `POST webhook_url` with the event as JSON (the body is exactly
 *   the bytes signed), `X-SkySentinel-Signature: <hex HMAC-SHA256 of the
 *   body with webhook_secret>`, `X-SkySentinel-Event: <event id>` (the same
 *   id on a retry, so a receiver can drop duplicates).
 * - ntfy: `POST ntfy_url` with the message as the body and `Title`,
 *   `Click`, `Tags` headers (lib/alerts/ntfy.ts).
 * - Retries: network errors, timeouts, 408, 429 and 5xx are retried with
 *   exponential backoff (`initialMs`, doubling, at most `maxMs`) up to
 *   `attempts` tries in all; other answers are final. What is not delivered
 *   after the last try goes to the dead-letter callback with the reason.
 * - Targets on loopback, private, link-local or unique-local networks (the
 *   literal address or any address the name resolves to) are refused unless
 *   `allowPrivate` (ALERTS_ALLOW_PRIVATE_TARGETS=true), so that a rule
 *   cannot make the server probe the operator's network. Refusals are dead
 *   letters too, without retries. Redirects are not followed, for the same
 *   reason.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import { ntfyMessage } from "../../lib/alerts/ntfy.ts";
import { SIGNATURE_HEADER, signBody } from "../../lib/alerts/signature.ts";
import { isLocalName, isPrivateAddress } from "../../lib/alerts/targets.ts";

/** Defaults of {@link DeliveryOptions}. */
export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_INITIAL_MS = 500;
export const DEFAULT_MAX_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What a delivery needs from the rule. */
export interface DeliveryTarget {
  webhook_url: string | null;
  webhook_secret: string | null;
  ntfy_url: string | null;
}

/** Options of {@link deliverAlert}. */
export interface DeliveryOptions {
  /** ALERTS_ALLOW_PRIVATE_TARGETS. */
  allowPrivate: boolean;
  /** Base URL of the globe for ntfy's click URL. */
  publicUrl: string;
  /** Tries in all. Default {@link DEFAULT_ATTEMPTS}. */
  attempts?: number;
  initialMs?: number;
  maxMs?: number;
  /** Per request. Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Resolves a host name to addresses. Default Deno.resolveDns (A and AAAA). */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Stops waiting between retries (shutdown). */
  signal?: AbortSignal;
}

/** The outcome for one target. */
export interface TargetOutcome {
  target: "webhook" | "ntfy";
  url: string;
  ok: boolean;
  attempts: number;
  /** Last HTTP status, or null (no answer, or refused before sending). */
  status: number | null;
  /** Why not ok. */
  reason?: string;
}

/** Refuses a target on a private network unless allowed; returns why, or null when fine. */
export async function checkTarget(
  url: string,
  options: Pick<DeliveryOptions, "allowPrivate" | "resolve">,
): Promise<string | null> {
  if (options.allowPrivate) return null;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return "not a URL";
  }
  const literal = host.replace(/^\[|\]$/g, "");
  const isLiteral = /^[\d.]+$/.test(literal) || literal.includes(":");
  if (isLiteral) {
    return isPrivateAddress(literal)
      ? `refused: ${literal} is a loopback or private address (ALERTS_ALLOW_PRIVATE_TARGETS=true allows it)`
      : null;
  }
  if (isLocalName(host)) {
    return `refused: ${host} names a local host (ALERTS_ALLOW_PRIVATE_TARGETS=true allows it)`;
  }
  let addresses: string[];
  try {
    addresses = await (options.resolve ?? resolveDns)(host);
  } catch (error) {
    return `cannot resolve ${host}: ${error instanceof Error ? error.message : error}`;
  }
  if (addresses.length === 0) return `cannot resolve ${host}`;
  const bad = addresses.find(isPrivateAddress);
  return bad
    ? `refused: ${host} resolves to ${bad}, a private address (ALERTS_ALLOW_PRIVATE_TARGETS=true allows it)`
    : null;
}

async function resolveDns(hostname: string): Promise<string[]> {
  const results = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  return results.flatMap((r) => r.status === "fulfilled" ? r.value : []);
}

/** Sends the event to the rule's targets (webhook and ntfy in parallel). */
export async function deliverAlert(
  event: AlertEvent,
  target: DeliveryTarget,
  options: DeliveryOptions,
): Promise<TargetOutcome[]> {
  const jobs: Promise<TargetOutcome>[] = [];
  if (target.webhook_url) {
    const url = target.webhook_url;
    const body = JSON.stringify(event);
    const secret = target.webhook_secret;
    jobs.push((async () => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "SkySentinel-Alerts/1",
        "x-skysentinel-event": event.id,
      };
      // The contract requires a secret with a webhook_url; an unsigned POST would still be
      // worse than none for a receiver that checks, so a missing secret is a dead letter.
      if (!secret) return refused("webhook", url, "the rule has no webhook_secret to sign with");
      headers[SIGNATURE_HEADER.toLowerCase()] = await signBody(body, secret);
      return await send("webhook", url, { body, headers }, options);
    })());
  }
  if (target.ntfy_url) {
    const url = target.ntfy_url;
    const n = ntfyMessage(event, options.publicUrl);
    jobs.push(send("ntfy", url, {
      body: n.message,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "user-agent": "SkySentinel-Alerts/1",
        // Header values must be ISO-8859-1; ntfy also accepts RFC 2047, which is overkill here.
        title: latin1(n.title),
        click: n.click,
        tags: n.tags.join(","),
      },
    }, options));
  }
  return await Promise.all(jobs);
}

function refused(target: TargetOutcome["target"], url: string, reason: string): TargetOutcome {
  return { target, url, ok: false, attempts: 0, status: null, reason };
}

async function send(
  target: TargetOutcome["target"],
  url: string,
  request: { body: string; headers: Record<string, string> },
  options: DeliveryOptions,
): Promise<TargetOutcome> {
  const why = await checkTarget(url, options);
  if (why) return refused(target, url, why);
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const initialMs = options.initialMs ?? DEFAULT_INITIAL_MS;
  const maxMs = options.maxMs ?? DEFAULT_MAX_MS;
  let status: number | null = null;
  let reason = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        body: request.body,
        headers: request.headers,
        redirect: "manual",
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel();
      if (res.ok) return { target, url, ok: true, attempts: attempt, status };
      reason = `HTTP ${res.status}`;
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      if (!retryable) return { target, url, ok: false, attempts: attempt, status, reason };
    } catch (error) {
      status = null;
      reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (attempt < attempts) {
      const aborted = await wait(Math.min(maxMs, initialMs * 2 ** (attempt - 1)), options.signal);
      if (aborted) {
        return { target, url, ok: false, attempts: attempt, status, reason: `${reason}; stopping` };
      }
    }
  }
  return {
    target,
    url,
    ok: false,
    attempts,
    status,
    reason: `${reason} after ${attempts} tries`,
  };
}

/** Resolves true when aborted before `ms`. */
function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener("abort", onAbort);
  });
}

function latin1(text: string): string {
  return text.replace(/[^\x20-\x7e\xa0-\xff]/g, "?");
}
