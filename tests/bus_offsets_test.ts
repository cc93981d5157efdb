/**
 * lib/bus/offsets.ts against BigInt: the same answer on edges (0, one digit more, int64's
 * largest) and on seeded random pairs of every length up to int64's.
 */
import assert from "node:assert/strict";
import { offsetAtMost } from "../lib/bus/offsets.ts";

Deno.test("offsetAtMost agrees with BigInt comparison", () => {
  let seed = 5;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const offsets = ["0", "1", "9", "10", "99", "100", "101", "9223372036854775807"];
  for (let i = 0; i < 2000; i++) {
    const digits = 1 + Math.floor(random() * 19);
    let text = String(1 + Math.floor(random() * 9));
    for (let d = 1; d < digits; d++) text += String(Math.floor(random() * 10));
    offsets.push(text, (BigInt(text) + 1n).toString(), (BigInt(text) - 1n).toString());
  }
  let both = 0;
  for (const a of offsets) {
    for (const b of offsets.slice(0, 120)) {
      const expected = BigInt(a) <= BigInt(b);
      assert.equal(offsetAtMost(a, b), expected, `${a} <= ${b}`);
      assert.equal(offsetAtMost(b, a), BigInt(b) <= BigInt(a), `${b} <= ${a}`);
      if (expected) both++;
    }
  }
  assert.ok(both > 1000, "both answers reached");
});
