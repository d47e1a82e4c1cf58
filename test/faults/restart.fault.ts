/**
 * Fault cases 1 and 2 of issue #8 under steady load: a SIGHUP rolling restart, and SIGTTOU then
 * SIGTTIN, on every runtime and both worker classes. Two loads at once: CONNECTIONS kept-alive
 * connections (one request at a time each) and FRESH connections that ask for `connection: close`
 * (new connections all the time). Run by `npm run test:faults` (not `npm test`).
 *
 * Node.js: 0 failed requests, asserted. (A stopping worker serves a request that arrives on an idle
 * kept-alive connection within a grace, with `connection: close`, instead of closing the connection
 * under it: src/runtime/node-http.ts.)
 * Bun and Deno: their servers' graceful stop closes idle keep-alive connections at once, which would
 * reset a request just sent on one (the HTTP/1.1 keep-alive close race); a retiring worker therefore
 * first lingers, answering with `connection: close` (src/runtime/linger.ts). Asserted: no keep-alive
 * race at all, no failure of another kind, and none where no worker stops (SIGTTIN). Their workers
 * share the port with SO_REUSEPORT, and a closing listener resets new connections queued on it (a
 * reconnect of the kept-alive load too, bounded): with net.ipv4.tcp_migrate_req=1 (set here when
 * writable, restored after) Bun resets none; Deno still resets a few it had already accepted.
 * Figures: docs/reliability.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { logCount, RUNTIMES, type RunningTsuv, waitIdentities, waitLog } from "../helpers/tsuv.ts";
import {
  CLASSES,
  CONNECTIONS,
  connectionsPerWorker,
  migrateReq,
  report,
  startWorkers,
  summarize,
  withMigrateReq,
} from "./harness.ts";
import { LoadClient } from "./load-client.ts";

const SLOW = 60_000;
/** Connections of the connection: close load. */
const FRESH = 4;
const reusePortRuntime = (runtime: string) => runtime === "bun" || runtime === "deno";

for (const runtime of RUNTIMES) {
  for (const workerClass of CLASSES) {
    describe(`${runtime}, ${workerClass} workers`, () => {
      let t: RunningTsuv;
      let client: LoadClient;
      /** New connections all the time (connection: close): what a closing listener's queue holds. */
      let fresh: LoadClient;
      const restarted =
        workerClass === "process" ? /Child process \[\d+\] restarted/ : /Worker thread restarted/;

      beforeAll(async () => {
        t = await startWorkers(runtime, workerClass, [], { persistent: true });
        await waitIdentities(t.url, 2);
        client = new LoadClient({ port: t.port, connections: CONNECTIONS, timeoutMs: 5000 }).start();
        fresh = new LoadClient({
          port: t.port,
          connections: FRESH,
          timeoutMs: 5000,
          closeEach: true,
        }).start();
        await Bun.sleep(300);
      }, SLOW);

      afterAll(async () => {
        await client?.stop();
        await fresh?.stop();
        await t?.kill();
      });

      /** One SIGHUP under the running load: the failures of its window, checked against the bound. */
      async function sighup(label: string): Promise<ReturnType<typeof summarize>> {
        const before = client.counts();
        const freshBefore = fresh.counts();
        const from = client.now();
        const freshFrom = fresh.now();
        const n = logCount(t, restarted);
        t.signal("SIGHUP");
        const ms = await waitLog(t, restarted, n + 2, 40_000);
        await Bun.sleep(500); // the second old worker's drain
        const after = client.counts();
        const summary = summarize(client.failures, from, client.now());
        const freshAfter = fresh.counts();
        const newConnections = summarize(fresh.failures, freshFrom, fresh.now());
        report(`sighup ${runtime} ${workerClass}${label}`, {
          keepAlive: {
            requests: after.total - before.total,
            failed: after.failed - before.failed,
            ...summary,
          },
          newConnections: {
            requests: freshAfter.total - freshBefore.total,
            failed: freshAfter.failed - freshBefore.failed,
            reset: freshAfter.reset - freshBefore.reset,
            refused: freshAfter.refused - freshBefore.refused,
            timeout: freshAfter.timeout - freshBefore.timeout,
          },
          restartMs: Math.round(ms),
        });
        expect(freshAfter.ok).toBeGreaterThan(freshBefore.ok);
        expect(after.ok).toBeGreaterThan(before.ok);
        if (!reusePortRuntime(runtime)) {
          expect(after.failed - before.failed).toBe(0);
          expect(newConnections.total).toBe(0);
        }
        expect(summary.other).toBe(0);
        // No kept-alive connection loses a request (Node: idle grace; Bun, Deno: the linger)...
        expect(summary.keepAliveRace).toBe(0);
        // ...and a reconnect that fails (Bun, Deno: a closing listener's queue) is never on the
        // workers this SIGHUP started (the ones serving now).
        const started = await waitIdentities(t.url, 2, 20_000);
        for (const identity of Object.keys(summary.byWorker)) expect(started.has(identity)).toBe(false);
        if (!reusePortRuntime(runtime)) expect(summary.fresh).toBe(0);
        else expect(summary.fresh).toBeLessThanOrEqual(2 * CONNECTIONS);
        // New connections: never refused (the replacement listens before the old one closes), never
        // timed out; resets are bounded by what a closing listener can hold.
        expect(newConnections.other).toBe(0);
        expect(freshAfter.refused - freshBefore.refused).toBe(0);
        expect(newConnections.total).toBeLessThanOrEqual(2 * FRESH);
        return newConnections;
      }

      test(
        "SIGHUP rolling restart under steady load",
        async () => {
          const migrate = reusePortRuntime(runtime) ? migrateReq() : undefined;
          if (migrate === undefined) {
            await sighup("");
            return;
          }
          // Bun, Deno: with and without the kernel's migration of a closing listener's queue.
          await withMigrateReq("0", () => sighup(" tcp_migrate_req=0"));
          const migrated = await withMigrateReq("1", () => sighup(" tcp_migrate_req=1"));
          // Bun: the new connections a closing listener had queued are migrated: 0 resets in every
          // run but one (1 of 5,220, CI 2026-12-01), a connection Bun had accepted but not read when
          // stop(false) ran. Deno resets more (measured 0-5 per SIGHUP with 4 connections): such
          // accepted-but-unread connections, which no sysctl moves.
          if (runtime === "bun") expect(migrated.total).toBeLessThanOrEqual(1);
        },
        SLOW,
      );

      test(
        "SIGTTOU then SIGTTIN under steady load",
        async () => {
          const plural = workerClass === "process" ? "processes" : "threads";
          const identities = Object.keys(connectionsPerWorker(client));
          const before = client.counts();
          const from = client.now();
          const finished = logCount(t, /Finished server process/);
          t.signal("SIGTTOU");
          await waitLog(t, new RegExp(`Received SIGTTOU, decreasing number of ${plural}`), 1, 5000);
          await waitLog(t, /Finished server process/, finished + 1, 10_000);
          await Bun.sleep(300);
          const mid = client.now();
          const down = summarize(client.failures, from, mid);

          t.signal("SIGTTIN");
          await waitLog(t, new RegExp(`Received SIGTTIN, increasing the number of ${plural}`), 1, 5000);
          // The added worker serves new connections (the kept-alive ones stay where they are).
          await waitIdentities(t.url, 2, 20_000);
          await Bun.sleep(300);
          const up = summarize(client.failures, mid, client.now());
          const after = client.counts();
          report(`ttou-ttin ${runtime} ${workerClass}`, {
            requests: after.total - before.total,
            failed: after.failed - before.failed,
            ttou: down,
            ttin: up,
          });
          // Scale-down: no keep-alive race anywhere; on Bun and Deno a reconnect queued on the
          // removed worker's closing listener may still be reset, at most one per connection.
          if (!reusePortRuntime(runtime)) expect(down.total).toBe(0);
          expect(down.other).toBe(0);
          expect(down.keepAliveRace).toBe(0);
          expect(down.fresh).toBeLessThanOrEqual(CONNECTIONS);
          expect(Object.keys(down.byWorker).length).toBeLessThanOrEqual(1);
          for (const identity of Object.keys(down.byWorker)) expect(identities).toContain(identity);
          // Scale-up stops nothing: no failure at all.
          expect(up.total).toBe(0);
          expect(after.ok).toBeGreaterThan(before.ok);
        },
        SLOW,
      );
    });
  }
}
