/**
 * The OpenAPI schema of a time query parameter, shared by openapi.ts and alerts_openapi.ts
 * so that every time parameter says the same thing as routes/api/_params.ts `parseTime`.
 *
 * @module
 */

/** Years 0001-9999 (PostgreSQL has no year 0), months, days, hours, minutes, seconds. */
const YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})";
const DATE = `${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])`;
const CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?";
const ZONE = "([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])";
/**
 * What routes/api/_params.ts `parseTime` accepts, as a pattern: a date (UTC midnight), a date
 * and time with a zone, or unix seconds within years 1-9999 (up to 11 digits, or a negative
 * one of up to 10). Days 29-31 are left out of the pattern (not every month has them) though
 * the server takes them where they exist.
 */
export const TIME = {
  type: "string",
  description: "ISO 8601 with a zone (`2017-02-05T16:00:00Z`), a date (UTC midnight) or unix " +
    "seconds; years 1 to 9999",
  pattern: `^(${DATE}(T${CLOCK}${ZONE})?|[0-9]{1,11}(\\.[0-9]{1,6})?|-[0-9]{1,10})$`,
  examples: ["2017-02-05T16:00:00Z", "1486310400"],
};
