/**
 * Fault case 7 of issue #8: a worker whose startup fails (the app throws at import, or its startup
 * hook throws). The parent exits 3 within 5 s (15 s asserted on a loaded box, see below) and does
 * not restart the worker in a loop: the log counts at most the two workers it started. On every
 * runtime, both classes.
 * Figures: one `[fault] ...` line per test (docs/reliability.md).
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, RUNTIMES, startTsuv } from "../helpers/tsuv.ts";
import { CLASSES, report } from "./harness.ts";

const SLOW = 60_000;
const FAILURES = [
  {
    label: "app throws at import",
    app: "test/fixtures/apps/throws.ts",
    line: /failed to load: boom at import/,
  },
  {
    label: "startup hook throws",
    app: "test/fixtures/apps/workers.ts:failing",
    line: /Exception in application startup: startup failed on purpose/,
  },
] as const;

afterEach(async () => {
  await killAll();
});

for (const runtime of RUNTIMES) {
  for (const workerClass of CLASSES) {
    for (const failure of FAILURES) {
      test(
        `${runtime}, ${workerClass} workers, ${failure.label}: exit 3 fast, no restart loop`,
        async () => {
          const started = performance.now();
          const t = await startTsuv(
            runtime,
            [failure.app, "--port", "0", "--workers", "2", "--worker-class", workerClass],
            { waitReady: false },
          );
          // The part tsuv controls: from the supervisor's verdict to the exit.
          const verdict = await t
            .waitFor(/failed to start \(exit code \d\)/, 30_000)
            .then(() => performance.now());
          const code = await t.exited;
          const exitMs = performance.now() - started;
          const afterVerdictMs = performance.now() - verdict;
          const result = { code, stdout: t.stdout(), stderr: t.stderr() };
          const log = result.stderr + result.stdout;
          const starts = log.match(/Started server process/g)?.length ?? 0;
          report(`startup-failure ${runtime} ${workerClass} ${failure.label}`, {
            exitCode: result.code,
            exitMs: Math.round(exitMs),
            afterVerdictMs: Math.round(afterVerdictMs),
            workerStarts: starts,
          });
          expect(result.code).toBe(3);
          // The bound is 5 s, met on an idle machine (0.8-1.8 s, docs/reliability.md);
          // Node spends ~1 s per worker starting (spawn, the TS hook), and on a 2-core box shared
          // with other test runs (load 8) that became 9.5 s once. The part tsuv controls, from the
          // verdict to the exit, is bounded tighter.
          expect(exitMs).toBeLessThan(15_000);
          expect(afterVerdictMs).toBeLessThan(2000);
          expect(log).toMatch(failure.line);
          expect(log).toMatch(
            /failed to start \(exit code 3\); stopping all (threads|processes) instead of restarting it\./,
          );
          // No restart loop: at most the two workers it started.
          expect(starts).toBeGreaterThanOrEqual(1);
          expect(starts).toBeLessThanOrEqual(2);
          expect(log).not.toMatch(/^\s+at /m);
        },
        SLOW,
      );
    }
  }
}
