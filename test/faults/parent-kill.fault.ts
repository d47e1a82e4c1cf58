/**
 * Fault case 6 of issue #8: the parent is killed with SIGKILL (no chance to stop its workers). Two
 * seconds later no worker may still be listening: the port refuses connections and every worker
 * PID is gone. Process workers notice their supervisor is gone (src/worker.ts: orphan exit within
 * ORPHAN_EXIT_MS); thread workers die with their process. On every runtime, both classes.
 * Figures: one `[fault] ...` line per test (docs/reliability.md).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { childPids, getBody, killAll, processAlive, RUNTIMES, waitIdentities } from "../helpers/tsuv.ts";
import { CLASSES, report, startWorkers } from "./harness.ts";
import { probeConnection } from "./probe.ts";

const SLOW = 60_000;

afterEach(async () => {
  await killAll();
});

for (const runtime of RUNTIMES) {
  for (const workerClass of CLASSES) {
    test(
      `${runtime}, ${workerClass} workers: SIGKILL of the parent leaves no worker listening 2 s later`,
      async () => {
        const t = await startWorkers(runtime, workerClass);
        await waitIdentities(t.url, 2);
        // Threads share the parent's PID; processes each have their own.
        const workers = workerClass === "process" ? childPids(t) : [t.pid];
        expect(workers).toHaveLength(workerClass === "process" ? 2 : 1);
        expect(await getBody(t.url, "/")).not.toBeNull();
        await t.kill(); // SIGKILL
        const killedAt = performance.now();
        let goneMs = Number.NaN;
        while (performance.now() - killedAt < 2000) {
          if (!workers.some(processAlive)) {
            goneMs = performance.now() - killedAt;
            break;
          }
          await Bun.sleep(20);
        }
        const wait = 2000 - (performance.now() - killedAt);
        if (wait > 0) await Bun.sleep(wait);
        const probe = await probeConnection(t.port);
        const alive = workers.filter(processAlive);
        report(`parent-sigkill ${runtime} ${workerClass}`, {
          workersGoneMs: Number.isNaN(goneMs) ? null : Math.round(goneMs),
          stillAlive: alive.length,
          portAfter2s: probe,
        });
        // Anything left would be an orphan serving unsupervised: kill it so the run stays clean.
        for (const pid of alive) process.kill(pid, "SIGKILL");
        expect(alive).toEqual([]);
        expect(probe).toBe("refused");
      },
      SLOW,
    );
  }
}

describe("bounds", () => {
  test("the orphan exit bound this case relies on is under 2 s", async () => {
    const { ORPHAN_EXIT_MS } = await import("../../src/worker.ts");
    expect(ORPHAN_EXIT_MS).toBeLessThan(2000);
  });
});
