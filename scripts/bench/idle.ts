/**
 * What a server costs while it serves nothing: the CPU time and the wake-ups of its whole process
 * tree over a window of idle seconds, tsuv (one worker, two thread workers, two process workers)
 * beside the raw runtime's one- and two-worker servers. A supervisor that pings its workers, a main
 * loop's tick and a worker's heartbeat all cost something here, where a raw server sleeps; in a
 * container that bills CPU, or on a laptop, that is what a quiet app costs.
 *
 * Every contender of every runtime idles in the same window (idle servers hardly disturb each
 * other), measured from /proc: each thread's time on a CPU (schedstat, in ns) and its voluntary
 * context switches (a thread that blocked and was woken again), summed over the tree.
 */
import { readdirSync, readFileSync } from "node:fs";
import {
  type Contender,
  RUNTIME_NAMES,
  type RuntimeKey,
  rawServerFor,
  rawWorkersFor,
  tsuv,
} from "./contenders.ts";
import { freePort, launch, type Running, request, sleep, tree, waitReady } from "./proc.ts";

export interface IdleResult {
  runtime: RuntimeKey;
  id: string;
  label: string;
  tsuv: boolean;
  workers: number;
  command: string;
  ok: boolean;
  reason?: string;
  /** CPU time of the whole tree per minute of idling, in ms. */
  cpuMsPerMinute?: number;
  /** Voluntary context switches of the whole tree per second: how often its threads wake. */
  wakeupsPerSecond?: number;
  /** Threads in the tree at the end of the window. */
  threads?: number;
}

/** The section's results as a run saves them. */
export interface IdleRun {
  windowS: number;
  settleS: number;
  results: IdleResult[];
}

export interface IdleOptions {
  /** The idle window measured, in seconds. */
  windowS: number;
  /**
   * Seconds between the last request and the window, for start-up's own aftermath to pass: V8
   * shrinks a heap that stopped growing with a few GCs some seconds after it goes quiet (tsuv on
   * Node 20 alone, 10-s windows from 3 s after start: 90 CPU-ms in the first, 7-8 in each of the
   * next five).
   */
  settleS: number;
  log: (line: string) => void;
}

/** Per thread (keyed "pid/tid"): ns on a CPU and voluntary context switches so far. */
export type TreeSched = Map<string, { cpuNs: number; wakeups: number }>;

/** Every thread of every process in the tree, with its time on a CPU and its voluntary context switches. */
export function treeSched(pid: number): TreeSched {
  const threads: TreeSched = new Map();
  for (const p of tree(pid)) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // exited between the scan and now
    }
    for (const task of tasks) {
      try {
        const dir = `/proc/${p}/task/${task}`;
        const cpuNs = Number(readFileSync(`${dir}/schedstat`, "utf8").split(" ")[0]);
        const status = readFileSync(`${dir}/status`, "utf8");
        const wakeups = Number(status.match(/^voluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
        threads.set(`${p}/${task}`, { cpuNs, wakeups });
      } catch {}
    }
  }
  return threads;
}

/**
 * What the tree's threads did between two samples. A thread alive at the end counts from the first
 * sample, or from its birth if it started since; one that ended in between is left out: its
 * counters went with it (idle runtimes end pool threads that have idled a while, Deno's for one),
 * and an idle thread's last seconds are next to nothing.
 */
export function schedDelta(start: TreeSched, end: TreeSched): { cpuNs: number; wakeups: number } {
  let cpuNs = 0;
  let wakeups = 0;
  for (const [key, now] of end) {
    const then = start.get(key);
    cpuNs += now.cpuNs - (then?.cpuNs ?? 0);
    wakeups += now.wakeups - (then?.wakeups ?? 0);
  }
  return { cpuNs, wakeups };
}

/** The contenders idled for one runtime: the raw servers, then tsuv as one worker and two of each class. */
export function idleContenders(runtime: RuntimeKey): Contender[] {
  return [
    rawServerFor(runtime),
    tsuv(runtime),
    rawWorkersFor(runtime),
    tsuv(runtime, 2, "thread"),
    tsuv(runtime, 2, "process"),
  ];
}

/**
 * Start every contender of the given runtimes, have each serve a few requests (on fresh
 * connections, so more than one worker gets some), let them settle, then measure one idle window.
 */
export async function measureIdle(runtimes: RuntimeKey[], options: IdleOptions): Promise<IdleRun> {
  const started: { runtime: RuntimeKey; contender: Contender; server: Running; result: IdleResult }[] = [];
  for (const runtime of runtimes) {
    for (const contender of idleContenders(runtime)) {
      const port = await freePort();
      const spec = contender.launch(port);
      const server = launch(spec, port);
      started.push({
        runtime,
        contender,
        server,
        result: {
          runtime,
          id: contender.id,
          label: contender.label,
          tsuv: contender.tsuv,
          workers: contender.workers,
          command: spec.cmd.join(" "),
          ok: false,
        },
      });
    }
  }
  try {
    const serving = await Promise.all(
      started.map(async ({ server, result }) => {
        try {
          await waitReady(server);
          for (let i = 0; i < 8; i++) await request(server.port, "/", { timeoutMs: 2000 });
          return true;
        } catch (error) {
          result.reason = (error as Error).message.trim().split("\n")[0];
          return false;
        }
      }),
    );
    await sleep(options.settleS * 1000);
    const before = started.map(({ server }) => treeSched(server.pid));
    const from = performance.now();
    await sleep(options.windowS * 1000);
    const seconds = (performance.now() - from) / 1000;
    started.forEach(({ server, result }, i) => {
      const start = before[i];
      if (!serving[i] || !start) return;
      if (server.exited()) {
        result.reason = `exited (${server.exitStatus()}) while idle`;
        return;
      }
      const end = treeSched(server.pid);
      const { cpuNs, wakeups } = schedDelta(start, end);
      result.cpuMsPerMinute = (cpuNs / 1e6) * (60 / seconds);
      result.wakeupsPerSecond = wakeups / seconds;
      result.threads = end.size;
      result.ok = true;
    });
  } finally {
    await Promise.all(started.map(({ server }) => server.stop()));
  }
  for (const { runtime, result } of started) {
    options.log(
      result.ok
        ? `  ${RUNTIME_NAMES[runtime]} ${result.label}: ${result.cpuMsPerMinute?.toFixed(1)} CPU-ms/min, ${result.wakeupsPerSecond?.toFixed(1)} wake-ups/s`
        : `  ${RUNTIME_NAMES[runtime]} ${result.label}: FAILED ${result.reason}`,
    );
  }
  return { windowS: options.windowS, settleS: options.settleS, results: started.map(({ result }) => result) };
}

/** The report's section. */
export function renderIdleMarkdown({ results, windowS, settleS }: IdleRun): string[] {
  const lines = [
    "## Idle: what a server costs while it serves nothing",
    "",
    `Every server below started at once, served 8 requests, rested ${settleS} s (V8 and JavaScriptCore shrink a heap with a few GCs some seconds after it goes quiet), and then idled together for ${windowS} s, measured. CPU is the time the whole process tree's threads spent on a CPU (\`/proc/PID/task/TID/schedstat\`), per minute of idling; wake-ups are their voluntary context switches per second (a thread that blocked and was woken). A single tsuv server sets no timer of its own; a thread worker's main loop ticks once a second (its heartbeat), and a supervisor checks its workers every 0.5 s, pinging each process worker (every other pong carries its heartbeat); a raw server wakes only for its runtime's own timers. No target: this is what a quiet deployment pays.`,
    "",
    "| runtime | server | workers | CPU-ms per minute | wake-ups per second | threads |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    lines.push(
      r.ok
        ? `| ${RUNTIME_NAMES[r.runtime]} | ${r.label} | ${r.workers} | ${r.cpuMsPerMinute?.toFixed(1)} | ${r.wakeupsPerSecond?.toFixed(1)} | ${r.threads} |`
        : `| ${RUNTIME_NAMES[r.runtime]} | ${r.label} | ${r.workers} | failed: ${r.reason} | | |`,
    );
  }
  lines.push("");
  return lines;
}
