/**
 * Readable one-line messages from zod errors, naming the field.
 *
 * @module
 */
import type { z } from "zod";

/** `lat: Too big: expected number to be <=90; icao24: Required` (at most `max` issues). */
export function formatZodError(
  error: z.ZodError,
  options: { max?: number; name?: (segment: PropertyKey, index: number) => string } = {},
): string {
  const max = options.max ?? 5;
  const name = options.name ?? ((segment: PropertyKey) => String(segment));
  const parts = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.length ? issue.path.map(name).join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join("; ");
}
