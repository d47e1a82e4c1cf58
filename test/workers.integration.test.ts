/**
 * Worker supervision end to end: a real tsuv with `--workers 2`, in both worker classes, on Node 20,
 * Node 24, Bun and Deno, driven with real signals and real HTTP. Each response of the fixture app
 * names the worker that served it (pid:threadId), so a test can tell when a replacement serves.
 *
 * - N workers serve (concurrent requests that hold the event loop spread over both);
 * - a dead worker is replaced: process class by `kill -9` of its PID, thread class by a route that
 *   ends its thread with process.exit(1), as a crash would (an uncaught exception is logged and the
 *   thread serves on, test/stray-errors.test.ts);
 * - a route that spins forever is detected within the healthcheck timeout + 1 s while other
 *   requests keep succeeding, and its worker is replaced;
 * - SIGHUP (rolling restart), SIGTTIN, SIGTTOU, SIGTERM.
 * Faults with their own bounds live in test/faults/ (`npm run test:faults`): SIGTERM with requests in
 * flight (shutdown.fault.ts), the parent SIGKILLed (parent-kill.fault.ts, which replaced the test
 * here), a worker whose startup fails (startup-failure.fault.ts, likewise).
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  childPids,
  getBody,
  type IdentityProbe,
  killAll,
  logCount,
  processAlive,
  RUNTIMES,
  type RuntimeKey,
  startTsuv,
  startTwoWorkers,
  WORKER_CLASSES,
  type WorkerClassName,
  waitIdentities,
  waitLog,
  waitNewIdentity,
} from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/workers.ts";
/** Per-test limit: each test starts a real tsuv with two workers (Deno and Node start slower). */
const SLOW = 60_000;

afterEach(async () => {
  await killAll();
});

/**
 * Bursts of /busy requests: each holds its worker's event loop a moment, so a burst spreads over
 * every worker instead of one fast worker answering it all.
 */
const BUSY: IdentityProbe = { path: "/busy?ms=30", burst: 16, requestTimeoutMs: 10_000 };

type Outcome = { ok: true; body: string } | { ok: false; reset: boolean; error: string };

/** One request on a fresh connection: its body, or how it failed (a reset told apart). */
async function fetchOutcome(base: string): Promise<Outcome> {
  try {
    const response = await fetch(`${base}/`, {
      headers: { connection: "close" },
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.text();
    return response.ok
      ? { ok: true, body }
      : { ok: false, reset: false, error: `status ${response.status}: ${body.slice(0, 80)}` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, reset: code === "ECONNRESET", error: `${code ?? ""} ${(error as Error).message}` };
  }
}

/** Poll until every worker answers (a worker is ready only once it listens). */
function waitServing(base: string, workers: number): Promise<Set<string>> {
  return waitIdentities(base, workers, 30_000, BUSY);
}

/**
 * tsuv with two workers. The healthcheck timeout stays at its 5 s default except where a test needs
 * a short one: on a loaded machine a 1 s ping can miss for no fault of the worker.
 */
function start(runtime: RuntimeKey, workerClass: WorkerClassName, healthcheck = "5") {
  return startTwoWorkers(runtime, `${APP}:app`, workerClass, ["--timeout-worker-healthcheck", healthcheck]);
}

/**
 * tsuv with two workers of an app that is slow to start, with the default drain time (31 s for a
 * process, 5 s for a thread): not waited for, since Bun's and Deno's parent says "running on" only
 * once a worker listens.
 */
function startStarting(runtime: RuntimeKey, app: string, workerClass: WorkerClassName) {
  const args = [app, "--port", "0", "--workers", "2", "--worker-class", workerClass];
  return startTsuv(runtime, args, { waitReady: false });
}

for (const runtime of RUNTIMES) {
  for (const workerClass of WORKER_CLASSES) {
    describe(`${runtime}, ${workerClass} workers`, () => {
      test(
        "two workers serve, and the parent logs like uvicorn",
        async () => {
          const t = await start(runtime, workerClass);
          const seen = await waitServing(t.url, 2);
          expect(seen.size).toBe(2);
          const pids = new Set([...seen].map((id) => Number(id.split(":")[0])));
          // Threads share the parent's pid; processes each have their own.
          if (workerClass === "thread") expect([...pids]).toEqual([t.pid]);
          else expect(pids.has(t.pid)).toBe(false);
          expect(t.stderr() + t.stdout()).toContain(`Started parent process [${t.pid}]`);
        },
        SLOW,
      );

      test(
        "a dead worker is replaced and its replacement serves",
        async () => {
          const t = await start(runtime, workerClass);
          const old = await waitServing(t.url, 2);
          if (workerClass === "process") {
            const victim = childPids(t)[0] as number;
            process.kill(victim, "SIGKILL");
            await t.waitFor(new RegExp(`Child process \\[${victim}\\] died`), 5000);
          } else {
            expect(await getBody(t.url, "/crash")).toStartWith("crashing");
            await t.waitFor(/Child thread died/, 5000);
          }
          await waitNewIdentity(t.url, old, { ...BUSY, burst: 8 });
        },
        SLOW,
      );

      test(
        "a worker stuck in while(true) fails its healthcheck within timeout + 1 s and is replaced",
        async () => {
          const t = await start(runtime, workerClass, "1");
          const old = await waitServing(t.url, 2);
          const spunAt = performance.now();
          void getBody(t.url, "/spin", 10_000);
          const unhealthy =
            workerClass === "process"
              ? /Child process \[\d+\] failed healthcheck/
              : /Worker thread failed healthcheck/;
          await t.waitFor(unhealthy, 5000);
          const detectedMs = performance.now() - spunAt;
          expect(detectedMs).toBeLessThan(2000 + 250); // 1 s timeout + 1 s, plus log transport slack
          // Other requests keep succeeding meanwhile (on reusePort runtimes the hung listener still
          // gets its share of new connections until it is gone, so some of those wait, and are
          // reset when it is killed). The kernel hashes each connection to one listener, about half
          // to the hung one: with 10 requests all went there once in a CI run (1 in 1,024), so 20.
          const during = await Promise.all(Array.from({ length: 20 }, () => getBody(t.url, "/", 5000)));
          expect(during.filter((body) => body !== null).length).toBeGreaterThan(0);
          await waitNewIdentity(t.url, old, { ...BUSY, burst: 8 });
          if (workerClass === "thread")
            await t.waitFor(/Worker thread did not exit within 1\.00 seconds\./, 5000);
          else await Bun.sleep(200); // the SIGKILLed child's listener closes with it
          // Once the hung worker is gone, every request succeeds again...
          const after = await Promise.all(Array.from({ length: 20 }, () => getBody(t.url, "/", 5000)));
          const failed = after.filter((body) => body === null).length;
          if (runtime === "deno" && workerClass === "thread") {
            // ...except on Deno, whose terminate() leaves a busy-looping thread and its reusePort
            // listener alive (docs/workers.md, denoland/deno PR #35657): about a third of new
            // connections hang (all 20 passing by chance: 0.03%). If this fails, Deno fixed it:
            // update docs/workers.md and drop this branch.
            expect(failed).toBeGreaterThan(0);
            expect(t.stderr()).toContain("Deno cannot stop a worker thread that is stuck in a busy loop");
          } else {
            expect(failed).toBe(0);
          }
        },
        SLOW,
      );

      test(
        "SIGHUP restarts every worker, one at a time, while requests keep succeeding",
        async () => {
          const t = await start(runtime, workerClass);
          const old = await waitServing(t.url, 2);
          let failures = 0;
          let requests = 0;
          let running = true;
          const load = (async () => {
            while (running) {
              requests++;
              // A generous timeout: on a loaded machine a slow answer is not a dropped request.
              if ((await getBody(t.url, "/", 10_000)) === null) failures++;
            }
          })();
          t.signal("SIGHUP");
          const restarted =
            workerClass === "process" ? /Child process \[\d+\] restarted/ : /Worker thread restarted/;
          await waitLog(t, restarted, 2, 40_000);
          running = false;
          await load;
          // A retired Bun/Deno worker lingers 200 ms (src/runtime/linger.ts) after the "restarted"
          // line before it stops listening: poll until only new workers answer (bounded).
          const deadline = performance.now() + 5000;
          let now = await waitServing(t.url, 2);
          while ([...now].some((id) => old.has(id)) && performance.now() < deadline) {
            await Bun.sleep(100);
            now = await waitServing(t.url, 2);
          }
          for (const id of now) expect(old.has(id)).toBe(false);
          expect(requests).toBeGreaterThan(0);
          console.log(
            `[${runtime} ${workerClass}] SIGHUP: ${failures} failed of ${requests} sequential requests`,
          );
          // Not always zero: a worker that stops resets connections it accepted whose request had not
          // arrived yet (Node.js, measured ~1 in 10^4), and with reusePort (Bun, Deno) the kernel resets
          // connections queued on the old listener when it closes (docs/workers.md). The readiness
          // gating itself is tested with fakes (test/supervisors).
          expect(failures).toBeLessThanOrEqual(Math.max(2, requests / 500));
        },
        SLOW,
      );

      test(
        "SIGTTIN adds a worker, SIGTTOU removes one but never the last",
        async () => {
          const t = await start(runtime, workerClass);
          await waitServing(t.url, 2);
          const plural = workerClass === "process" ? "processes" : "threads";
          t.signal("SIGTTIN");
          await t.waitFor(new RegExp(`Received SIGTTIN, increasing the number of ${plural}\\.`), 5000);
          await waitServing(t.url, 3);
          // One at a time: signals sent back to back may be merged into one (Deno does this).
          for (let i = 1; i <= 3; i++) {
            t.signal("SIGTTOU");
            await waitLog(t, /Received SIGTTOU, decreasing number of/, i);
          }
          await t.waitFor(
            new RegExp(
              `Already reached one ${workerClass}, cannot decrease the number of ${plural} anymore\\.`,
            ),
            5000,
          );
          await waitLog(t, /Finished server process/, 2);
          expect(await getBody(t.url, "/")).not.toBeNull();
        },
        SLOW,
      );

      test(
        "--limit-max-requests: workers are recycled one by one and no request fails (Bun, Deno: but a rare reset)",
        async () => {
          const t = await startTwoWorkers(runtime, `${APP}:app`, workerClass, ["--limit-max-requests", "3"]);
          // One connection per request, one after the other: each worker reaches its limit a few
          // times over, and with reusePort (Bun, Deno) each has its own listener to lose. Until
          // replacements serve (a third and a fourth worker identity), every request succeeds, with
          // one exception on Bun and Deno: a retiring worker's graceful stop closes a connection it
          // accepted whose request has not arrived yet, as uvicorn's does (docs/reliability.md,
          // Known bounds; about 1 in 20 recycles here). Node's workers share the parent's listener
          // and never do. A reset is all it may be: no error status, no refusal, no timeout.
          const served = new Set<string>();
          const failures: string[] = [];
          let resets = 0;
          const deadline = performance.now() + 30_000;
          for (let i = 0; served.size < 4 && performance.now() < deadline; i++) {
            const outcome = await fetchOutcome(t.url);
            if (outcome.ok) served.add(outcome.body);
            else if (outcome.reset) resets++;
            else failures.push(`request ${i}: ${outcome.error}`);
            await Bun.sleep(5);
          }
          expect(failures).toEqual([]);
          expect(resets).toBeLessThanOrEqual(runtime === "bun" || runtime === "deno" ? 2 : 0);
          expect(served.size).toBe(4);
          expect(t.stderr() + t.stdout()).toContain(
            "reached --limit-max-requests; starting its replacement.",
          );
        },
        SLOW,
      );

      test(
        "SIGTERM with both workers stuck in the app's import: killed after 2 s of silence, not the full drain time",
        async () => {
          const t = await startStarting(runtime, "test/fixtures/apps/stuck-import.ts", workerClass);
          // Both workers in the import's loop (the fixture's line comes just before it). A fixed 300 ms
          // after "Started server process" failed once in CI: under load a Node 20 worker had not
          // reached the import yet, and stopped at once, as a worker not stuck does.
          await waitLog(t, /import began/, 2);
          // Stuck workers would outlive a parent killed by afterEach (they never see it go): by PID.
          const children = workerClass === "process" ? childPids(t) : [];
          try {
            const signalledAt = performance.now();
            t.signal("SIGTERM");
            const code = await Promise.race([t.exited, Bun.sleep(10_000).then(() => "still running")]);
            const tookMs = performance.now() - signalledAt;
            expect(code).toBe(0);
            expect(tookMs).toBeLessThan(4500);
            expect(logCount(t, /did not exit: it was still starting and its event loop has not run/)).toBe(2);
            for (const pid of children) expect(processAlive(pid)).toBe(false);
          } finally {
            for (const pid of children) if (processAlive(pid)) process.kill(pid, "SIGKILL");
          }
        },
        SLOW,
      );

      test(
        "SIGTERM during a slow startup hook (its event loop free): the hook finishes and the shutdown hook runs",
        async () => {
          const t = await startStarting(runtime, "test/fixtures/apps/slow-startup.ts", workerClass);
          await waitLog(t, /startup hook began/, 2);
          t.signal("SIGTERM");
          const code = await Promise.race([t.exited, Bun.sleep(15_000).then(() => "still running")]);
          expect(code).toBe(0);
          expect(logCount(t, /startup hook finished/)).toBe(2);
          expect(logCount(t, /shutdown hook ran/)).toBe(2);
          expect(t.stderr() + t.stdout()).not.toContain("did not exit");
        },
        SLOW,
      );

      test(
        "SIGTERM stops every worker and exits 0",
        async () => {
          const t = await start(runtime, workerClass);
          await waitServing(t.url, 2);
          const children = workerClass === "process" ? childPids(t) : [];
          t.signal("SIGTERM");
          expect(await t.exited).toBe(0);
          const log = t.stderr() + t.stdout();
          expect(log).toContain("Received SIGTERM, exiting.");
          expect(log).toContain(`Stopping parent process [${t.pid}]`);
          expect(logCount(t, /Finished server process/)).toBe(2);
          for (const pid of children) expect(processAlive(pid)).toBe(false);
        },
        SLOW,
      );
    });
  }
}
