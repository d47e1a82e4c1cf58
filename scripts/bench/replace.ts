/**
 * Worker replacement: `kill -9` one process worker of `tsuv --workers 2 --worker-class process`
 * and time until its replacement exists (a new child PID) and until it serves (a GET /pid on a
 * fresh connection answered by the new PID: bench/apps/hello.ts reports the serving process).
 */
import { readlinkSync, realpathSync } from "node:fs";
import { RUNTIME_NAMES, type RuntimeKey, tsuvArgs, tsuvCommand } from "./contenders.ts";
import { children, freePort, launch, type Running, request, sleep, waitReady } from "./proc.ts";

export interface ReplaceResult {
  runtime: RuntimeKey;
  command: string;
  ok: boolean;
  reason?: string;
  /** Per attempt: ms from SIGKILL to a new worker process, and to that process answering. */
  spawnedMs: number[];
  servingMs: number[];
}

/** Direct children running the runtime's binary (not, say, esbuild's service helper). */
function workerPids(server: Running, exe: string): number[] {
  return children(server.pid).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === exe;
    } catch {
      return false;
    }
  });
}

/** Probe /pid on fresh connections, a few at a time, so the kernel spreads them over the workers. */
async function servingPids(port: number): Promise<number[]> {
  const replies = await Promise.allSettled(
    Array.from({ length: 6 }, () => request(port, "/pid", { timeoutMs: 500 })),
  );
  return replies.flatMap((r) =>
    r.status === "fulfilled" && r.value.status === 200 ? [Number(r.value.body)] : [],
  );
}

export async function measureReplace(
  runtime: RuntimeKey,
  attempts: number,
  log: (line: string) => void,
): Promise<ReplaceResult> {
  const port = await freePort();
  const cmd = [...tsuvCommand(runtime), ...tsuvArgs(port, 2, "process")];
  const result: ReplaceResult = { runtime, command: cmd.join(" "), ok: false, spawnedMs: [], servingMs: [] };
  const server = launch({ cmd }, port);
  const exe = realpathSync(cmd[0] as string);
  try {
    await waitReady(server);
    for (let attempt = 0; attempt < attempts; attempt++) {
      // The victim must be a worker that serves: tsuv may have other runtime children (on Node, a
      // small helper that hands the listening socket to workers). Ask /pid until two workers answer.
      let before = workerPids(server, exe);
      const serving = new Set<number>();
      const wait = performance.now() + 15_000;
      while (serving.size < 2) {
        if (performance.now() > wait) {
          throw new Error(`expected 2 serving worker processes, saw ${[...serving].join(", ") || "none"}`);
        }
        before = workerPids(server, exe);
        for (const pid of await servingPids(port)) if (before.includes(pid)) serving.add(pid);
        if (serving.size < 2) await sleep(20);
      }
      const victim = [...serving][0] as number;
      const started = performance.now();
      process.kill(victim, "SIGKILL");
      let spawned = 0;
      let fresh: number[] = [];
      for (;;) {
        const elapsed = performance.now() - started;
        if (elapsed > 10_000)
          throw new Error(`no replacement serving 10 s after kill -9 of worker ${victim}`);
        if (server.exited())
          throw new Error(`the parent exited after its worker was killed:\n${server.output()}`);
        fresh = workerPids(server, exe).filter((pid) => !before.includes(pid));
        if (fresh.length && !spawned) spawned = elapsed;
        if (fresh.length && (await servingPids(port)).some((pid) => fresh.includes(pid))) break;
        await sleep(2);
      }
      const servingAfter = performance.now() - started;
      result.spawnedMs.push(spawned);
      result.servingMs.push(servingAfter);
      log(
        `  ${RUNTIME_NAMES[runtime]}: worker ${victim} killed; new process after ${spawned.toFixed(0)} ms, serving after ${servingAfter.toFixed(0)} ms`,
      );
      await sleep(300);
    }
    result.ok = true;
  } catch (error) {
    result.reason = (error as Error).message.trim().split("\n").slice(0, 12).join("\n");
    log(`  ${RUNTIME_NAMES[runtime]}: FAILED ${result.reason}`);
  } finally {
    await server.stop();
  }
  return result;
}
