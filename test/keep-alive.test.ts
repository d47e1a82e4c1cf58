/**
 * --timeout-keep-alive 0 closes an idle connection soon after its response, as uvicorn's 0 closes
 * it at once. node:http and Bun.serve read 0 as "never": a kept-alive connection stayed open for
 * good, the opposite of what was asked (src/server.ts passes them 1 ms instead). How soon is each
 * server's own: Node waits 1 s past the time it advertises, Bun counts idle time in 4 s steps.
 * Deno.serve has no idle timeout at all (docs/runtimes.md), so it is not here.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { killAll, type RuntimeKey, startTsuv } from "./helpers/tsuv.ts";

afterEach(killAll);

/** Seconds from a response's arrival to the server closing the connection; null if still open at `limitS`. */
function idleCloseAfter(port: number, limitS: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answeredAt = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, limitS * 1000);
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    socket.on("data", () => {
      answeredAt ||= performance.now();
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(answeredAt ? (performance.now() - answeredAt) / 1000 : -1);
    });
    socket.on("error", reject);
  });
}

const WITH_IDLE_TIMEOUT: RuntimeKey[] = ["node20", "node24", "bun"];

describe.each(WITH_IDLE_TIMEOUT)("%s", (runtime) => {
  test("--timeout-keep-alive 0 closes an idle connection within seconds, not never", async () => {
    const server = await startTsuv(runtime, [
      "test/fixtures/apps/behaviour.ts:app",
      "--port",
      "0",
      "--timeout-keep-alive",
      "0",
    ]);
    const after = await idleCloseAfter(server.port, 7);
    expect(after).not.toBeNull();
    expect(after as number).toBeGreaterThanOrEqual(0);
    expect(after as number).toBeLessThan(6);
  }, 15_000);
});
