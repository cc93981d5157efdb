/**
 * Webhook signatures: `X-SkySentinel-Signature` is the lower-case hex
 * HMAC-SHA256 of the exact request body bytes, keyed with the rule's
 * `webhook_secret`. A receiver recomputes it over the raw body and compares
 * in constant time.
 *
 * @module
 */

/** Name of the signature header. */
export const SIGNATURE_HEADER = "X-SkySentinel-Signature";

const encoder = new TextEncoder();

/** Hex HMAC-SHA256 of `body` with `secret`. */
export async function signBody(body: string | Uint8Array, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes as BufferSource));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when `signature` is the body's signature (constant-time comparison). */
export async function verifySignature(
  body: string | Uint8Array,
  secret: string,
  signature: string,
): Promise<boolean> {
  const expected = await signBody(body, secret);
  const given = signature.trim().toLowerCase();
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}
