/**
 * Fault cases 3 and 4 of issue #8 under steady keep-alive load, on every runtime:
 * - `kill -9` of one of 2 process workers: the failures are the requests in flight on that worker
 *   (at most one per connection it held), and throughput is back within 1 s;
 * - a handler that blocks its event loop forever (/hang), both worker classes: detected within the
 *   healthcheck timeout + 1 s, replaced, the thread terminated, and requests on the other worker
 *   keep succeeding (failures bounded by the hung worker's connections).
 * Run by `npm run test:faults` (not `npm test`), which runs this file alone: its bounds are the
 * tightest of the suite, and a neighbouring file's server start-ups slowed the recovery it measures
 * (three runs beside shutdown.fault.ts: Bun up to 599 ms, Deno 497 ms, Node 20 1,099 ms; one file at
 * a time 300, 300 and 598).
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  childPids,
  getBody,
  killAll,
  RUNTIMES,
  waitIdentities,
  waitLog,
  waitNewIdentity,
} from "../helpers/tsuv.ts";
import { CLASSES, CONNECTIONS, connectionsPerWorker, report, startWorkers, summarize } from "./harness.ts";
import { LoadClient, medianThroughput, recoveryMs } from "./load-client.ts";

const SLOW = 60_000;
/**
 * "Full throughput": a 300 ms window back at this fraction of the pre-fault median. Half: one of two
 * workers is gone, and kept-alive connections that move stay on the survivor (the replacement only
 * gets new connections), so the survivor's share is what can come back; on a machine where the
 * load is CPU-bound anyway that is about all of it.
 */
const FULL = 0.5;
/** Node's bound for the same (see the kill -9 case). */
const NODE_RECOVERY_MS = 2500;
/** How the replacement is looked for: fresh connections to "/", four askers, 3 s per request. */
const FRESH = { burst: 4, requestTimeoutMs: 3000 };

afterEach(async () => {
  await killAll();
});

for (const runtime of RUNTIMES) {
  describe(runtime, () => {
    test(
      "kill -9 of one of 2 process workers under load",
      async () => {
        const t = await startWorkers(runtime, "process");
        const old = await waitIdentities(t.url, 2);
        // Warm both workers first (new connections spread over both; a kept-alive load may sit on
        // one), so the survivor's throughput is not a cold JIT's.
        const warm = new LoadClient({ port: t.port, connections: CONNECTIONS, closeEach: true }).start();
        await Bun.sleep(800);
        expect((await warm.stop()).failed).toBe(0);
        const client = new LoadClient({ port: t.port, connections: CONNECTIONS, timeoutMs: 5000 }).start();
        await Bun.sleep(1000);
        // The worker holding the most kept-alive connections (a kept-alive load may sit on one).
        const perWorker = connectionsPerWorker(client);
        const on = (pid: number) => perWorker[`${pid}:0`] ?? 0;
        const victim = childPids(t).sort((a, b) => on(b) - on(a))[0] as number;
        const onVictim = on(victim);
        const killAt = client.now();
        process.kill(victim, "SIGKILL");
        await waitLog(t, new RegExp(`Child process \\[${victim}\\] died`), 1, 5000);
        const replacedMs = await waitNewIdentity(t.url, old, FRESH);
        const window = runtime.startsWith("node") ? NODE_RECOVERY_MS + 500 : 2000;
        await Bun.sleep(Math.max(0, killAt + window - client.now()));
        await client.stop();
        const failures = summarize(client.failures, killAt);
        const baseline = medianThroughput(client.buckets, killAt - 500, killAt);
        const recovered = recoveryMs(client.buckets, killAt, baseline, FULL);
        const dip = Math.min(
          ...client.buckets.slice(Math.floor(killAt / 100), Math.floor(killAt / 100) + 10),
        );
        report(`kill-9 ${runtime} process`, {
          ...failures,
          connectionsOnVictim: onVictim,
          baselinePer100ms: baseline,
          lowestPer100msAfterKill: dip,
          recoveryMs: Math.round(recovered),
          replacementServingMs: Math.round(replacedMs),
          per100msAroundKill: client.buckets
            .slice(Math.floor(killAt / 100) - 3, Math.floor(killAt / 100) + 20)
            .join(","),
        });
        expect(summarize(client.failures, 0, killAt).total).toBe(0);
        // Only the victim's requests fail, at most one per connection it held. With SO_REUSEPORT
        // (Bun, Deno) such a connection may reconnect onto the dying worker's listener before the
        // kernel has closed it, and be reset once more (measured 0-1 per kill).
        expect(failures.keepAliveRace + failures.other).toBeLessThanOrEqual(onVictim);
        expect(failures.fresh).toBeLessThanOrEqual(runtime === "bun" || runtime === "deno" ? onVictim : 0);
        for (const identity of Object.keys(failures.byWorker)) expect(identity).toBe(`${victim}:0`);
        // Node: the replacement is a new Node.js process loading the bundle and the app, seconds of
        // CPU that on a 2-core machine come out of the survivor's share (measured 1.3-1.9 s to get
        // back under a load average of 6-7; Bun and Deno 0.3-0.9 s). Bounded, but not to 1 s there.
        expect(recovered).toBeLessThanOrEqual(runtime.startsWith("node") ? NODE_RECOVERY_MS : 1000);
      },
      SLOW,
    );

    for (const workerClass of CLASSES) {
      test(
        `a handler stuck forever under load (${workerClass} workers)`,
        async () => {
          const t = await startWorkers(runtime, workerClass, ["--timeout-worker-healthcheck", "1"]);
          const old = await waitIdentities(t.url, 2);
          // Longer than detection + the thread's forced stop, so a stuck request ends as a reset.
          const client = new LoadClient({ port: t.port, connections: CONNECTIONS, timeoutMs: 8000 }).start();
          await Bun.sleep(700);
          const perWorker = connectionsPerWorker(client);
          const hangAt = client.now();
          void getBody(t.url, "/hang", 15_000);
          const unhealthy =
            workerClass === "process"
              ? /Child process \[\d+\] failed healthcheck/
              : /Worker thread failed healthcheck/;
          const detectedMs = await waitLog(t, unhealthy, 1, 10_000);
          const okAtDetection = client.counts().ok;
          if (workerClass === "thread")
            await waitLog(t, /Worker thread did not exit within 1\.00 seconds\./, 1, 5000);
          // (Deno threads: a share of new connections hangs on the unkillable thread's listener, so
          // polling for the replacement costs seconds of timeouts; the known limit is checked below.)
          const denoThread = runtime === "deno" && workerClass === "thread";
          const replacedMs = denoThread ? Number.NaN : await waitNewIdentity(t.url, old, FRESH);
          await Bun.sleep(1000);
          const okBeforeStop = client.counts().ok;
          await client.stop();
          const failures = summarize(client.failures, hangAt);
          const hung = Object.keys(failures.byWorker);
          report(`hang ${runtime} ${workerClass}`, {
            ...failures,
            connectionsPerWorkerAtHang: perWorker,
            detectedMs: Math.round(detectedMs),
            replacementServingMs: Math.round(replacedMs),
            okDuringHang: okAtDetection,
          });
          expect(detectedMs).toBeLessThan(1000 + 1000 + 500); // timeout + 1 s, + log transport on a loaded machine
          expect(summarize(client.failures, 0, hangAt).total).toBe(0);
          // The other worker kept serving meanwhile, and serving continues after.
          expect(okAtDetection).toBeGreaterThan(0);
          expect(okBeforeStop).toBeGreaterThan(okAtDetection);
          if (denoThread) {
            // Deno's terminate() cannot stop a busy-looping thread (docs/workers.md): it keeps its
            // reusePort listener, where a share of new connections hangs. Known limit, not bounded.
            expect(t.stderr() + t.stdout()).toContain("Deno cannot stop a worker thread");
            return;
          }
          // Only the hung worker's connections fail, at most one request each. On Bun and Deno the
          // hung worker's reusePort listener also stays open until it is killed, so a reconnecting
          // client can land there once more and be reset at the kill: at most one fresh failure per
          // client connection on top (measured in CI: Bun 6 + 4 fresh, Deno 5 + 2 fresh).
          const reusePort = runtime === "bun" || runtime === "deno";
          expect(hung.length).toBeLessThanOrEqual(1);
          if (!reusePort) expect(failures.fresh).toBe(0);
          expect(failures.keepAliveRace + failures.other).toBeLessThanOrEqual(
            hung.length ? (perWorker[hung[0] as string] ?? 0) : 0,
          );
          expect(failures.fresh).toBeLessThanOrEqual(reusePort ? CONNECTIONS : 0);
        },
        SLOW,
      );
    }
  });
}
