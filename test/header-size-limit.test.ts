/**
 * The request-head size limit is the runtime's: 16 KiB on Node and Bun (431 past it), 64 KiB on Deno
 * (400). uvicorn's --h11-max-incomplete-event-size has no tsuv twin; its hint (option-hints.ts) says
 * how to raise the limit instead, with the runtime's own flag through its options variable, which
 * every worker inherits: NODE_OPTIONS=--max-http-header-size=N, BUN_OPTIONS=--max-http-header-size=N
 * (the compiled binary reads BUN_OPTIONS too, checked by hand). Pinned here, for both worker classes,
 * so the hint stays true: a worker that missed the setting would answer some of the requests 431.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rawRequest } from "./behaviour/suite.ts";
import { killAll, type RuntimeKey, startTsuv, startTwoWorkers, WORKER_CLASSES } from "./helpers/tsuv.ts";

afterAll(killAll);

const APP = "test/fixtures/apps/workers.ts:app";
const RAISED = 65_536;

/** The status line's code for GET `path` with one header of `size` bytes, on a fresh connection. */
async function statusWithHeader(port: number, size: number, path = "/"): Promise<string> {
  const answer = await rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(size)}\r\nConnection: close\r\n\r\n`,
  );
  return answer.slice(9, 12) || "closed";
}

/** Each worker's answer to big-header requests: bursts until both workers answered, every one 200. */
async function bothWorkersServe(port: number, size: number): Promise<void> {
  const served = new Set<string>();
  for (let burst = 0; burst < 40 && served.size < 2; burst++) {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        rawRequest(
          port,
          `GET /busy?ms=15 HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(size)}\r\nConnection: close\r\n\r\n`,
        ),
      ),
    );
    for (const answer of answers) {
      expect(answer.slice(0, 12)).toBe("HTTP/1.1 200");
      served.add(answer.slice(answer.indexOf("\r\n\r\n") + 4));
    }
  }
  expect(served.size).toBe(2);
}

const RAISABLE: { runtime: RuntimeKey; variable: string }[] = [
  { runtime: "node20", variable: "NODE_OPTIONS" },
  { runtime: "node24", variable: "NODE_OPTIONS" },
  { runtime: "bun", variable: "BUN_OPTIONS" },
];

for (const { runtime, variable } of RAISABLE) {
  describe(`${runtime}: the runtime's 16 KiB limit`, () => {
    test("a 20 KB header is refused with 431 by default", async () => {
      const t = await startTsuv(runtime, [APP, "--port", "0", "--no-access-log"]);
      expect(await statusWithHeader(t.port, 15_000)).toBe("200");
      expect(await statusWithHeader(t.port, 20_000)).toBe("431");
      await t.kill();
    });

    for (const workerClass of WORKER_CLASSES) {
      test(`${variable}=--max-http-header-size raises it in both ${workerClass} workers`, async () => {
        const t = await startTwoWorkers(runtime, APP, workerClass, [], {
          env: { [variable]: `--max-http-header-size=${RAISED}` },
        });
        await bothWorkersServe(t.port, 40_000);
        expect(await statusWithHeader(t.port, RAISED + 1000)).toBe("431");
        await t.kill();
      });
    }
  });
}

test("deno: a fixed 64 KiB limit, past it 400", async () => {
  const t = await startTsuv("deno", [APP, "--port", "0", "--no-access-log"]);
  expect(await statusWithHeader(t.port, 60_000)).toBe("200");
  expect(await statusWithHeader(t.port, 70_000)).toBe("400");
  await t.kill();
});
