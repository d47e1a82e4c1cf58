/**
 * Node's socket sharing and net.ipv4.tcp_migrate_req (docs/workers.md, "Connection balance"). With
 * the sysctl at 0, Node's workers accept from one parent-bound socket; at 1, Node 22.12+ workers on
 * TCP each listen with SO_REUSEPORT (balanced by the kernel), and a SIGHUP rolling restart under
 * load must still lose nothing, since the kernel moves a closing listener's queue to another.
 * The sysctl is set here when writable (root) and restored after; where it is not, the mode its
 * current value gives is checked.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readTcpMigrateReq } from "../../src/runtime/sysctl.ts";
import { logCount, type RunningTsuv, waitIdentities, waitLog } from "../helpers/tsuv.ts";
import { CLASSES, CONNECTIONS, migrateReq, report, startWorkers, withMigrateReq } from "./harness.ts";
import { LoadClient } from "./load-client.ts";

const SLOW = 60_000;
const RUNTIME = "node24";

/** Listening TCP sockets on `port` (from /proc/net/tcp and tcp6: state 0A is LISTEN). */
function listeningSockets(port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${portHex}`) && fields[3] === "0A") count++;
    }
  }
  return count;
}

for (const workerClass of CLASSES) {
  describe(`${RUNTIME}, ${workerClass} workers`, () => {
    const restarted =
      workerClass === "process" ? /Child process \[\d+\] restarted/ : /Worker thread restarted/;

    /** Two workers started with the sysctl as it is now: how many sockets listen, and a SIGHUP under load. */
    async function check(sysctl: string | undefined): Promise<void> {
      const t: RunningTsuv = await startWorkers(RUNTIME, workerClass, [], { persistent: true });
      const client = new LoadClient({ port: t.port, connections: CONNECTIONS, timeoutMs: 5000 });
      const fresh = new LoadClient({ port: t.port, connections: 4, timeoutMs: 5000, closeEach: true });
      try {
        await waitIdentities(t.url, 2);
        const reusePort = sysctl === "1";
        expect(listeningSockets(t.port)).toBe(reusePort ? 2 : 1);
        client.start();
        fresh.start();
        await Bun.sleep(300);
        const before = client.counts();
        const freshBefore = fresh.counts();
        const n = logCount(t, restarted);
        t.signal("SIGHUP");
        await waitLog(t, restarted, n + 2, 40_000);
        await Bun.sleep(500); // the second old worker's drain
        const after = client.counts();
        const freshAfter = fresh.counts();
        report(`node-sharing ${RUNTIME} ${workerClass} tcp_migrate_req=${sysctl}`, {
          listeners: listeningSockets(t.port),
          keepAlive: { requests: after.total - before.total, failed: after.failed - before.failed },
          newConnections: {
            requests: freshAfter.total - freshBefore.total,
            failed: freshAfter.failed - freshBefore.failed,
          },
        });
        expect(listeningSockets(t.port)).toBe(reusePort ? 2 : 1);
        expect(after.ok).toBeGreaterThan(before.ok);
        expect(freshAfter.ok).toBeGreaterThan(freshBefore.ok);
        expect(after.failed - before.failed).toBe(0);
        expect(freshAfter.failed - freshBefore.failed).toBe(0);
      } finally {
        await client.stop();
        await fresh.stop();
        await t.kill();
      }
    }

    test(
      "tcp_migrate_req 1: a reusePort listener per worker; 0: one shared socket; a SIGHUP under load loses nothing either way",
      async () => {
        if (migrateReq() === undefined) {
          // Not writable here: the mode the current value gives.
          await check(readTcpMigrateReq());
          return;
        }
        await withMigrateReq("1", () => check("1"));
        await withMigrateReq("0", () => check("0"));
      },
      SLOW,
    );
  });
}
