import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { OpenSkyReply } from "../contracts/mod.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { fileStamp, RecordingWriter } from "../services/producer/recorder.ts";
import { realReplies } from "./_fake_opensky.ts";

async function readBack(path: string) {
  const out = [];
  for await (const item of readRecording((await Deno.open(path)).readable, { gzip: true })) {
    out.push(item);
  }
  return out;
}

Deno.test("record: file named by UTC start time; replies read back unchanged; valid gzip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "producer_record_" });
  try {
    const replies = (await realReplies()).slice(0, 25).map((l) =>
      OpenSkyReply.parse(JSON.parse(l))
    );
    const start = Date.parse("2026-03-18T09:30:05.123Z");
    const writer = await RecordingWriter.open(dir, { startMs: start });
    assert.equal(writer.path, `${dir}/opensky_states_2026-03-18T093005Z.jsonl.gz`);
    for (const reply of replies) await writer.write(reply);
    await writer.close();
    await writer.close(); // idempotent
    assert.equal(writer.lines, 25);
    const items = await readBack(writer.path);
    assert.deepEqual(items.map((i) => i.kind === "snapshot" ? i.reply : i), replies);
    // Standard gzip (what zcat reads): node's zlib checks the trailer and CRC.
    const text = new TextDecoder().decode(gunzipSync(await Deno.readFile(writer.path)));
    assert.equal(text.split("\n").filter(Boolean).length, 25);
    // A second writer in the same second gets its own file.
    const other = await RecordingWriter.open(dir, { startMs: start });
    assert.notEqual(other.path, writer.path);
    await other.close();
    assert.equal(fileStamp(0), "1970-01-01T000000Z");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: a writer that dies before close leaves every written reply readable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "producer_record_" });
  try {
    const replies = (await realReplies()).slice(0, 10).map((l) =>
      OpenSkyReply.parse(JSON.parse(l))
    );
    const writer = await RecordingWriter.open(dir);
    for (const reply of replies) await writer.write(reply);
    // Let the compressor's output reach the file, then copy the file as a crash would leave it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const crashed = `${dir}/crashed.jsonl.gz`;
    await Deno.copyFile(writer.path, crashed);
    await writer.close();
    const items = await readBack(crashed);
    assert.equal(items.at(-1)!.kind, "truncated");
    assert.deepEqual(
      items.filter((i) => i.kind === "snapshot").map((i) => i.kind === "snapshot" && i.reply),
      replies,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
