/**
 * The bit stream of `skysentinel.v2.bin` change records (lib/hub/v2/bits.ts,
 * docs/protocol.md "Primitives"): Exp-Golomb codes of every order round-trip
 * up to 2^53 - 1 and take the bits the page says, fixed-width fields and
 * strings round-trip unaligned, and a reader refuses what runs past its end
 * or leaves non-zero padding.
 */
import assert from "node:assert/strict";
import { BitReader, BitWriter, egBits, FrameError } from "../lib/hub/v2/mod.ts";

Deno.test("v2 bits: Exp-Golomb codes round-trip and take 2 bits per doubling past 2^k", () => {
  const values = [0, 1, 2, 3, 4, 7, 8, 100, 4095, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 5];
  const w = new BitWriter(4);
  const plan: [number, number][] = [];
  for (let k = 0; k < 24; k++) {
    for (const v of values) if (v + 2 ** k <= Number.MAX_SAFE_INTEGER) plan.push([v, k]);
  }
  let bits = 0;
  for (const [v, k] of plan) {
    w.eg(v, k);
    bits += egBits(v, k);
  }
  w.seg(-3, 1);
  w.seg(12_345_678, 20);
  w.bits(0xabc, 12);
  w.string("EZY158T ");
  w.string("Zürich");
  w.eg(Number.MAX_SAFE_INTEGER - 1, 0); // 2^53 - 2: a 53-bit code after 52 zeros
  const bytes = w.view();
  const r = new BitReader(bytes, 0, bytes.length);
  for (const [v, k] of plan) assert.equal(r.eg(k), v, `eg(${k}) of ${v}`);
  assert.equal(r.seg(1), -3);
  assert.equal(r.seg(20), 12_345_678);
  assert.equal(r.bits(12), 0xabc);
  assert.equal(r.string(32), "EZY158T ");
  assert.equal(r.string(32), "Zürich");
  assert.equal(r.eg(0), Number.MAX_SAFE_INTEGER - 1);
  r.finish();
  // Order k: k + 1 bits for 0..2^k - 1, then 2 more per doubling.
  assert.equal(egBits(0, 0), 1);
  assert.equal(egBits(1, 0), 3);
  assert.equal(egBits(7, 3), 4);
  assert.equal(egBits(8, 3), 6);
  assert.ok(bits < bytes.length * 8);
});

Deno.test("v2 bits: a reader refuses codes past its end, over-long codes and non-zero padding", () => {
  const refuses = (bytes: number[], read: (r: BitReader) => void, message: string) => {
    const b = Uint8Array.from(bytes);
    assert.throws(
      () => read(new BitReader(b, 0, b.length)),
      (e: unknown) => e instanceof FrameError && e.message.includes(message),
      message,
    );
  };
  // eg(4) of 300 is 9 zeros and 10 bits: cut after 2 bytes.
  const w = new BitWriter();
  w.eg(300, 0);
  const full = [...w.view()];
  refuses(full.slice(0, 2), (r) => r.eg(0), "truncated");
  refuses([0, 0, 0], (r) => r.eg(0), "truncated Exp-Golomb code");
  refuses([0, 0, 0, 0, 0, 0, 0, 0x01, 0xff], (r) => r.eg(0), "too long");
  refuses([0xff], (r) => r.bits(12), "truncated bit field");
  // One bit read of 0b1010_0000: the rest of the byte must be zero.
  refuses([0xa0], (r) => {
    r.bits(1);
    r.finish();
  }, "non-zero padding");
  refuses([0x80, 0x00], (r) => {
    r.bits(1);
    r.finish();
  }, "1 bytes after the change records");
  // A string with invalid UTF-8 (a lone continuation byte), and one over its limit.
  const bad = new BitWriter();
  bad.eg(1, 0);
  bad.bits(0x80, 8);
  refuses([...bad.view()], (r) => r.string(32), "not valid UTF-8");
  const long = new BitWriter();
  long.string("ABCDEFGHIJ");
  refuses([...long.view()], (r) => r.string(8), "string of 10 bytes");
});
