/**
 * Fault case 8 of issue #8: a soak of 300,000 keep-alive requests (CONNECTIONS connections) against
 * 2 workers, one worker class per runtime (node20 process, node24 thread, bun process, deno thread:
 * both classes covered, and both Node versions). Every request must succeed; the RSS of the whole
 * process tree after warm-up grows by at most 10%, and no process of the tree holds more fds after
 * the soak than before it (/proc/PID/fd, both read with the server idle; the RSS as the least of
 * eight reads over two seconds, see settledTreeRssKiB).
 *
 * The warm-up is long because Deno's tree grows once, by about 6 MiB (6%), somewhere after 100,000
 * requests and then stays flat: sampled every 20,000 requests up to 500,000 (and every 100,000 up to
 * 900,000), two runs stepped 99 -> 105/106 MiB at 130,000-150,000 and never moved again. After a
 * 30,000-request warm-up that one-off step read as 10.3% growth and failed a CI run; it is not a leak.
 * Run by `npm run test:faults` (not `npm test`), which runs this file alone: it keeps both cores
 * busy for about 80 s, and a file beside it measured its neighbour's load (a Deno worker killed
 * beside it took 999 ms to recover against kill.fault.ts's 1 s bound, 300 ms alone).
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, type RuntimeKey, waitIdentities } from "../helpers/tsuv.ts";
import {
  CONNECTIONS,
  report,
  settledTreeRssKiB,
  startWorkers,
  treeFds,
  type WorkerClassName,
} from "./harness.ts";
import { LoadClient } from "./load-client.ts";

/** Requests counted by the soak, after the warm-up. */
const TOTAL = 300_000;
const WARMUP = 200_000;
/** Let the server see the clients' FINs and close those sockets before counting fds. */
const SETTLE_MS = 500;
const SOAKS: [RuntimeKey, WorkerClassName][] = [
  ["node20", "process"],
  ["node24", "thread"],
  ["bun", "process"],
  ["deno", "thread"],
];

afterEach(async () => {
  await killAll();
});

async function run(port: number, requests: number): Promise<{ ok: number; failed: number; ms: number }> {
  const client = new LoadClient({ port, connections: CONNECTIONS, timeoutMs: 10_000 }).start();
  const start = performance.now();
  while (client.counts().total < requests) await Bun.sleep(50);
  const counts = await client.stop();
  return { ok: counts.ok, failed: counts.failed, ms: performance.now() - start };
}

for (const [runtime, workerClass] of SOAKS) {
  test(`${runtime}, ${workerClass} workers: ${TOTAL} keep-alive requests, no RSS growth over 10%, no fd leak`, async () => {
    const t = await startWorkers(runtime, workerClass);
    await waitIdentities(t.url, 2);
    const warm = await run(t.port, WARMUP);
    await Bun.sleep(SETTLE_MS);
    const rssBefore = await settledTreeRssKiB(t.pid);
    const fdsBefore = treeFds(t.pid);
    const soak = await run(t.port, TOTAL);
    await Bun.sleep(SETTLE_MS);
    const rssAfter = await settledTreeRssKiB(t.pid);
    const fdsAfter = treeFds(t.pid);
    // Compared over the processes alive at both reads: helpers come and go by themselves (Node's
    // fd-sharing helper exits once every worker has its socket; esbuild services, one per
    // TypeScript loader, may be started later), and a process that went away leaks nothing.
    const common = [...rssBefore.keys()].filter((pid) => rssAfter.has(pid));
    const sum = (map: Map<number, number>) => common.reduce((total, pid) => total + (map.get(pid) ?? 0), 0);
    const growth = (sum(rssAfter) - sum(rssBefore)) / sum(rssBefore);
    report(`soak ${runtime} ${workerClass}`, {
      warmUpRequests: warm.ok + warm.failed,
      requests: soak.ok + soak.failed,
      failed: warm.failed + soak.failed,
      requestsPerSecond: Math.round(soak.ok / (soak.ms / 1000)),
      rssBeforeMiB: Math.round(sum(rssBefore) / 1024),
      rssAfterMiB: Math.round(sum(rssAfter) / 1024),
      rssGrowthPercent: Math.round(growth * 1000) / 10,
      fdsBefore: Object.fromEntries(fdsBefore),
      fdsAfter: Object.fromEntries(fdsAfter),
    });
    expect(warm.failed + soak.failed).toBe(0);
    expect(growth).toBeLessThanOrEqual(0.1);
    // No process of the tree appeared during the soak, and none holds more fds than before.
    for (const pid of fdsAfter.keys()) expect(fdsBefore.has(pid)).toBe(true);
    for (const [pid, count] of fdsAfter) expect(count).toBeLessThanOrEqual(fdsBefore.get(pid) as number);
  }, 120_000);
}
