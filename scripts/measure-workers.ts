/**
 * Measures worker supervision per runtime (run: `bun scripts/measure-workers.ts [runtime...]`):
 * - RSS of tsuv with 4 thread workers against 4 process workers (parent + every child, from
 *   /proc/PID/status VmRSS, after all 4 workers answered and a 1 s settle);
 * - time from killing one worker (process: `kill -9 PID`; thread: a route that throws outside any
 *   request, which ends the thread) to the first response from its replacement;
 * - time from exec to all 4 workers serving.
 * Linux only (reads /proc). Prints a Markdown table.
 */
import { readFileSync } from "node:fs";
import {
  childPids,
  getBody,
  identities,
  killAll,
  processAlive,
  RUNTIMES,
  type RuntimeKey,
  startTsuv,
} from "../test/helpers/tsuv.ts";

const APP = "test/fixtures/apps/workers.ts:app";
const WORKERS = 4;
const ROUNDS = 3;

/** A burst of `burst` /busy requests (each holds its worker a moment, so the burst spreads). */
const busy = (burst: number) => ({ path: "/busy?ms=30", burst, requestTimeoutMs: 2000 });

async function waitServing(base: string, workers: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const start = performance.now();
  while (seen.size < workers) {
    if (performance.now() - start > 30_000) throw new Error(`only ${seen.size} workers answered`);
    for (const id of await identities(base, busy(4 * workers))) seen.add(id);
  }
  return seen;
}

async function untilNew(base: string, old: Set<string>): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (performance.now() - start > 30_000) throw new Error("no replacement answered");
    for (const id of await identities(base, busy(8))) if (!old.has(id)) return;
  }
}

function rssKiB(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** pid and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  let children: number[] = [];
  try {
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)) {
      if (task) children.push(Number(task));
    }
  } catch {
    children = [];
  }
  for (const child of children) out.push(...tree(child));
  return out;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

interface Result {
  runtime: RuntimeKey;
  workerClass: string;
  rssMiB: number;
  startMs: number;
  replaceMs: number[];
}

async function measure(runtime: RuntimeKey, workerClass: "process" | "thread"): Promise<Result> {
  const execAt = performance.now();
  const t = await startTsuv(
    runtime,
    [APP, "--port", "0", "--workers", String(WORKERS), "--worker-class", workerClass, "--no-access-log"],
    {
      readyTimeoutMs: 30_000,
    },
  );
  let seen = await waitServing(t.url, WORKERS);
  const startMs = performance.now() - execAt;
  await Bun.sleep(1000);
  const rssMiB = tree(t.pid).reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024;
  const replaceMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const killedAt = performance.now();
    if (workerClass === "process") {
      const live = childPids(t).filter(processAlive);
      process.kill(live[0] as number, "SIGKILL");
    } else {
      await getBody(t.url, "/crash", 2000);
    }
    await untilNew(t.url, seen);
    replaceMs.push(performance.now() - killedAt);
    seen = await waitServing(t.url, WORKERS);
    // Every identity seen so far is "old" for the next round.
    for (const id of seen) seen.add(id);
  }
  await t.kill();
  return { runtime, workerClass, rssMiB, startMs, replaceMs };
}

const wanted = (process.argv.slice(2) as RuntimeKey[]).filter((r) => RUNTIMES.includes(r));
const results: Result[] = [];
try {
  for (const runtime of wanted.length ? wanted : RUNTIMES) {
    for (const workerClass of ["thread", "process"] as const) {
      try {
        results.push(await measure(runtime, workerClass));
      } catch (error) {
        console.error(`${runtime} ${workerClass}: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
} finally {
  await killAll();
}

console.log(
  `| runtime | class | RSS, ${WORKERS} workers (MiB) | exec to ${WORKERS} serving (ms) | kill to replacement serving (ms, median of ${ROUNDS}) |`,
);
console.log("|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.runtime} | ${r.workerClass} | ${r.rssMiB.toFixed(0)} | ${r.startMs.toFixed(0)} | ${median(r.replaceMs).toFixed(0)} (${r.replaceMs.map((ms) => ms.toFixed(0)).join(", ")}) |`,
  );
}
