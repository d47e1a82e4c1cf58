/**
 * The access log's batching (src/line-batch.ts): one write per event-loop turn, in order, never
 * behind a later error line, and nothing left unwritten when a server stops.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { lineBatch } from "../src/line-batch.ts";
import { createLogger } from "../src/logging.ts";
import { killAll, ROOT, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

/** A batch whose timer is in the test's hands. */
function manual() {
  const writes: string[] = [];
  const timers: (() => void)[] = [];
  const batch = lineBatch(
    (text) => writes.push(text),
    (flush) => timers.push(flush),
  );
  const tick = () => {
    for (const fire of timers.splice(0)) fire();
  };
  return { batch, writes, timers, tick };
}

describe("lineBatch", () => {
  test("lines of one turn go out in one write, in order, when the timer fires", () => {
    const { batch, writes, timers, tick } = manual();
    batch.push("a");
    batch.push("b");
    batch.push("c");
    expect(writes).toEqual([]);
    expect(timers.length).toBe(1);
    tick();
    expect(writes).toEqual(["a\nb\nc"]);
    batch.push("d");
    tick();
    expect(writes).toEqual(["a\nb\nc", "d"]);
  });

  test("flush() writes now, and only what is pending", () => {
    const { batch, writes, tick } = manual();
    batch.flush();
    expect(writes).toEqual([]);
    batch.push("a");
    batch.flush();
    expect(writes).toEqual(["a"]);
    tick();
    batch.flush();
    expect(writes).toEqual(["a"]);
  });

  test("64 KiB pending forces a write without waiting for the timer", () => {
    const { batch, writes } = manual();
    const line = "x".repeat(1024);
    for (let i = 0; i < 64; i++) batch.push(line);
    expect(writes.length).toBe(1);
    expect(writes[0]?.split("\n").length).toBe(64);
  });

  test("a writer that throws loses its lines, never the caller's request", () => {
    const batch = lineBatch(
      () => {
        throw new Error("EPIPE");
      },
      () => {},
    );
    batch.push("a");
    expect(() => batch.flush()).not.toThrow();
  });

  test("the default timer writes within the next turns", async () => {
    const writes: string[] = [];
    const batch = lineBatch((text) => writes.push(text));
    batch.push("a");
    batch.push("b");
    expect(writes).toEqual([]);
    await Bun.sleep(20);
    expect(writes).toEqual(["a\nb"]);
  });
});

test("logger: an error line never overtakes the access lines logged before it", () => {
  const merged: string[] = [];
  const logger = createLogger({
    level: "info",
    format: "text",
    useColors: false,
    accessLog: true,
    stdout: (text) => merged.push(...text.split("\n").map((line) => `out ${line}`)),
    stderr: (line) => merged.push(`err ${line}`),
  });
  logger.access("1.1.1.1:1", "GET", "/one", "1.1", 200);
  logger.access("1.1.1.1:1", "GET", "/two", "1.1", 500);
  logger.error("after two");
  logger.child({ worker: 1 }).access("1.1.1.1:1", "GET", "/three", "1.1", 200);
  logger.flush();
  expect(merged).toEqual([
    'out INFO:     1.1.1.1:1 - "GET /one HTTP/1.1" 200 OK',
    'out INFO:     1.1.1.1:1 - "GET /two HTTP/1.1" 500 Internal Server Error',
    "err ERROR:    after two",
    'out INFO:     1.1.1.1:1 - "GET /three HTTP/1.1" 200 OK',
  ]);
});

const APP = join(ROOT, "test", "fixtures", "apps", "main.ts");
const REQUESTS = 40;

afterEach(killAll);

for (const runtime of RUNTIMES) {
  test(`${runtime}: every request answered before SIGTERM has its access line`, async () => {
    const t = await startTsuv(runtime, [`${APP}:app`, "--port", "0"]);
    // Fire them together (one burst, batched into few writes), then stop at once.
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => fetch(`${t.url}/n${i}`).then((r) => r.status)),
    );
    expect(answers.every((status) => status === 200)).toBe(true);
    t.signal("SIGTERM");
    expect(await t.exited).toBe(0);
    const lines = t
      .stdout()
      .split("\n")
      .filter((line) => / - "GET \/n\d+ HTTP\/1\.1" 200/.test(line));
    expect(lines.length).toBe(REQUESTS);
  }, 30_000);
}
