/**
 * Fault case 11: a worker that runs out of heap (test/faults/app.ts /exhaust-heap, under a 96 MB
 * heap limit), two workers of each class, on Node 20, Node 24 and Deno. The request that did it is
 * cut; then the dead worker is replaced and both workers answer again, as after a crash.
 *
 * Pinned: on Deno a thread that runs out of heap aborts the whole process (V8's fatal
 * out-of-memory, SIGTRAP, exit 133): every thread worker goes with it, and the supervisor too.
 * Node ends only that thread (ERR_WORKER_OUT_OF_MEMORY). So on Deno, an app that can run out of
 * memory wants process workers (docs/workers.md). Bun is not here: JavaScriptCore has no heap
 * limit to set, so its run would take the machine's memory.
 * Figures: one `[fault] ...` line per test.
 */
import { afterEach, expect, test } from "bun:test";
import { getBody, killAll, type RuntimeKey, waitIdentities, waitLog } from "../helpers/tsuv.ts";
import { CLASSES, report, startWorkers } from "./harness.ts";

const SLOW = 60_000;
const HEAP_MB = 96;
const HEAP_LIMIT: Partial<Record<RuntimeKey, Record<string, string>>> = {
  node20: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
  node24: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
  deno: { DENO_V8_FLAGS: `--max-old-space-size=${HEAP_MB}` },
};

afterEach(async () => {
  await killAll();
});

for (const runtime of ["node20", "node24", "deno"] as const) {
  for (const workerClass of CLASSES) {
    const abortsProcess = runtime === "deno" && workerClass === "thread";
    test(
      `${runtime}, ${workerClass} workers: a worker out of heap ${
        abortsProcess ? "aborts the whole process (pinned)" : "is replaced"
      }`,
      async () => {
        const t = await startWorkers(runtime, workerClass, [], { env: HEAP_LIMIT[runtime] });
        const before = await waitIdentities(t.url, 2);
        const started = performance.now();
        const answer = await getBody(t.url, "/exhaust-heap", 30_000);
        expect(answer).toBeNull();
        if (abortsProcess) {
          const code = await t.exited;
          report(`out-of-memory ${runtime} ${workerClass}`, { exitCode: code });
          expect(t.stderr() + t.stdout()).toContain("Fatal JavaScript out of memory");
          expect(code).toBe(133);
          return;
        }
        await waitLog(
          t,
          workerClass === "thread" ? /Child thread died/ : /Child process \[\d+\] died/,
          1,
          15_000,
        );
        const after = await waitIdentities(t.url, 2, 20_000);
        const replacedMs = Math.round(performance.now() - started);
        report(`out-of-memory ${runtime} ${workerClass}`, { replacedMs });
        // One of the two is new: the replacement.
        expect([...after].filter((id) => !before.has(id))).toHaveLength(1);
        if (workerClass === "thread") expect(t.stderr()).toContain("ERR_WORKER_OUT_OF_MEMORY");
      },
      SLOW,
    );
  }
}
