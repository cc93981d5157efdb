import assert from "node:assert/strict";
import {
  envNames,
  parseProducerConfig,
  parseStackConfig,
  parseWebConfig,
  parseWorkerConfig,
  redactConfig,
} from "../lib/config.ts";
import { hasCode } from "../lib/errors.ts";

function rejects(fn: () => unknown, pattern: RegExp) {
  try {
    fn();
  } catch (error) {
    assert.ok(hasCode(error, "config_invalid"), String(error));
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.fail("expected a config error");
}

Deno.test("producer: a secret without a client id fails fast, naming both variables", () => {
  rejects(
    () => parseProducerConfig({ OPENSKY_CLIENT_SECRET: "s3cret" }),
    /^Cannot start producer as OPENSKY_CLIENT_SECRET is set without OPENSKY_CLIENT_ID$/,
  );
  rejects(
    () => parseProducerConfig({ OPENSKY_CLIENT_ID: "me" }),
    /OPENSKY_CLIENT_ID is set without OPENSKY_CLIENT_SECRET/,
  );
});

Deno.test("producer: mode defaults to live with credentials, replay without", () => {
  const live = parseProducerConfig({ OPENSKY_CLIENT_ID: "me", OPENSKY_CLIENT_SECRET: "x" });
  assert.equal(live.mode, "live");
  assert.ok(Object.isFrozen(live));
  const replay = parseProducerConfig({ REPLAY_FILES: "a.jsonl, b.jsonl.gz" });
  assert.equal(replay.mode, "replay");
  assert.deepEqual(replay.REPLAY_FILES, ["a.jsonl", "b.jsonl.gz"]);
  rejects(() => parseProducerConfig({}), /REPLAY_FILES/);
});

Deno.test("bad values name the variable", () => {
  rejects(() => parseProducerConfig({ REPLAY_FILES: "a", OPENSKY_BBOX: "1,2,3" }), /OPENSKY_BBOX/);
  rejects(() => parseProducerConfig({ REPLAY_FILES: "a", POLL_INTERVAL_SECONDS: "-1" }), /POLL/);
  rejects(() => parseWebConfig({ PORT: "http" }), /^Cannot start web as PORT: /);
  rejects(() => parseWebConfig({ WS_DELTA_INTERVAL_MS: "5" }), /WS_DELTA_INTERVAL_MS/);
  rejects(() => parseWorkerConfig({ DATABASE_URL: "not a url" }), /DATABASE_URL/);
});

Deno.test("defaults follow the design and empty strings count as unset", () => {
  const web = parseWebConfig({ PORT: "" });
  assert.equal(web.PORT, 8000);
  assert.equal(web.WS_DELTA_INTERVAL_MS, 200);
  assert.equal(web.WS_STALE_THRESHOLD_SECONDS, 60);
  assert.equal(web.DATA_DIR, ".data");
  assert.deepEqual(web.KAFKA_BROKERS, []);
  const stack = parseStackConfig({ OPENSKY_BBOX: "45.8,5.9,47.8,10.5" });
  assert.equal(stack.mode, "replay");
  assert.deepEqual(stack.OPENSKY_BBOX, [45.8, 5.9, 47.8, 10.5]);
});

Deno.test("redaction hides secrets and database passwords", () => {
  const config = parseProducerConfig({
    OPENSKY_CLIENT_ID: "me",
    OPENSKY_CLIENT_SECRET: "s3cret",
    DATABASE_URL: "postgres://u:hunter2@db:5432/x",
  });
  const text = JSON.stringify(redactConfig(config));
  assert.ok(!text.includes("s3cret") && !text.includes("hunter2"), text);
  assert.match(text, /postgres:\/\/u:\*\*\*@db:5432\/x/);
});

Deno.test("envNames lists what each service reads, for --allow-env", () => {
  assert.ok(envNames("producer").includes("OPENSKY_CLIENT_SECRET"));
  assert.ok(!envNames("web").includes("OPENSKY_CLIENT_SECRET"));
  assert.ok(envNames("worker").includes("WORKER_GROUP_ID"));
});
