/**
 * Memory of tsuv with N thread workers vs N process workers: the RSS (and PSS) summed over the
 * whole process tree, after every worker has served traffic and the numbers have settled.
 */
import { RUNTIME_NAMES, type RuntimeKey, tsuvArgs, tsuvCommand } from "./contenders.ts";
import { type Client, runLoad } from "./load.ts";
import { children, freePort, launch, sleep, type TreeMemory, treeMemory, waitReady } from "./proc.ts";
import { medianRatio } from "./throughput.ts";

export interface MemoryResult {
  runtime: RuntimeKey;
  workerClass: "thread" | "process";
  workers: number;
  command: string;
  ok: boolean;
  reason?: string;
  /** The median round's tree (by RSS), so its PSS and counts are one sample's. */
  memory?: TreeMemory;
  /**
   * Every round's tree, in round order (absent in runs saved before memory had rounds). Rounds
   * alternate the worker classes, as the throughput rounds alternate contenders.
   */
  rounds?: TreeMemory[];
  /**
   * Served the bench app compiled to JavaScript (Node 20 only): there each thread worker of a
   * TypeScript app keeps a module-hooks thread of its own, which this row leaves out.
   */
  javascriptApp?: boolean;
}

export async function measureMemory(
  runtime: RuntimeKey,
  workerClass: "thread" | "process",
  workers: number,
  client: Client,
  log: (line: string) => void,
  /** Instead of the bench app (bench/apps/hello.ts): the same app compiled to JavaScript. */
  javascriptApp?: string,
): Promise<MemoryResult> {
  const port = await freePort();
  const args = tsuvArgs(port, workers, workerClass);
  if (javascriptApp) args[0] = javascriptApp;
  const cmd = [...tsuvCommand(runtime), ...args];
  const result: MemoryResult = { runtime, workerClass, workers, command: cmd.join(" "), ok: false };
  if (javascriptApp) result.javascriptApp = true;
  const label = `${RUNTIME_NAMES[runtime]}${javascriptApp ? " (JavaScript app)" : ""}`;
  const server = launch({ cmd }, port);
  try {
    await waitReady(server);
    if (workerClass === "process") {
      // Every process worker must exist before we count (extra children, e.g. esbuild's service, are fine).
      const deadline = performance.now() + 15_000;
      while (children(server.pid).length < workers) {
        if (performance.now() > deadline)
          throw new Error(`only ${children(server.pid).length} child processes`);
        await sleep(100);
      }
    }
    // Traffic on many connections reaches every worker, so each has loaded the app and served.
    await runLoad(client, port, "plaintext", { connections: 16, threads: 1, durationS: 1 });
    // Then wait for the tree to settle: two samples 500 ms apart within 2% of each other.
    let last = treeMemory(server.pid);
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      const now = treeMemory(server.pid);
      const settled = Math.abs(now.rssKiB - last.rssKiB) <= last.rssKiB * 0.02;
      last = now;
      if (settled) break;
    }
    if (server.exited()) throw new Error(`exited:\n${server.output()}`);
    result.memory = last;
    result.ok = true;
    log(
      `  ${label} ${workers} ${workerClass} workers: RSS ${(last.rssKiB / 1024).toFixed(1)} MiB, PSS ${(last.pssKiB / 1024).toFixed(1)} MiB (${last.processes} processes, ${last.threads} threads)`,
    );
  } catch (error) {
    result.reason = (error as Error).message.trim().split("\n").slice(0, 12).join("\n");
    log(`  ${label} ${workers} ${workerClass} workers: FAILED ${result.reason}`);
  } finally {
    await server.stop();
  }
  return result;
}

/**
 * One row from the rounds of one setup (same runtime, class and app): the median round's tree, and
 * every round's. A setup that failed in any round is reported as that failure.
 */
export function mergeRounds(rounds: MemoryResult[]): MemoryResult {
  const first = rounds[0];
  if (!first) throw new Error("mergeRounds: no rounds");
  const failed = rounds.find((r) => !r.ok || !r.memory);
  if (failed) return failed;
  const trees = rounds.map((r) => r.memory as TreeMemory);
  const byRss = [...trees].sort((a, b) => a.rssKiB - b.rssKiB);
  return { ...first, memory: byRss[Math.floor((byRss.length - 1) / 2)], rounds: trees };
}

/**
 * RSS of thread workers over process workers: the median of the per-round ratios where both have
 * rounds (as every throughput ratio is), else the one sample's ratio.
 */
export function threadProcessRatio(
  thread: MemoryResult | undefined,
  process: MemoryResult | undefined,
  field: "rssKiB" | "pssKiB" = "rssKiB",
): number | undefined {
  if (!thread?.memory || !process?.memory) return undefined;
  if (thread.rounds && process.rounds)
    return medianRatio(
      thread.rounds.map((tree) => tree[field]),
      process.rounds.map((tree) => tree[field]),
    );
  return thread.memory[field] / process.memory[field];
}
