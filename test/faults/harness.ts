/**
 * Shared pieces of the load-driven fault cases (test/faults/*.fault.ts): a tsuv with workers serving
 * test/faults/app.ts, the process tree's RSS and fds from /proc, the tcp_migrate_req sysctl, and
 * one line of measured figures per case (collected into docs/reliability.md by hand). Waiting for
 * the workers, log counting and child PIDs are in test/helpers/tsuv.ts.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { TCP_MIGRATE_REQ_PATH } from "../../src/runtime/sysctl.ts";
import {
  type RuntimeKey,
  type StartOptions,
  startTwoWorkers,
  WORKER_CLASSES,
  type WorkerClassName,
} from "../helpers/tsuv.ts";
import type { FailureRecord, LoadClient } from "./load-client.ts";

export const APP = "test/faults/app.ts:app";
export type { WorkerClassName };
export const CLASSES = WORKER_CLASSES;
/** Connections of the steady load: enough to keep two workers busy, few enough for 2 cores. */
export const CONNECTIONS = 8;

/** tsuv with two workers serving APP (test/helpers/tsuv.ts startTwoWorkers). */
export function startWorkers(
  runtime: RuntimeKey,
  workerClass: WorkerClassName,
  extra: string[] = [],
  options: StartOptions = {},
) {
  return startTwoWorkers(runtime, APP, workerClass, extra, options);
}

/** The live processes of a tsuv tree: the parent and its children (from /proc). */
export function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

/** RSS (KiB) per process of the tree. */
export function treeRssKiB(root: number): Map<number, number> {
  const rss = new Map<number, number>();
  for (const pid of treePids(root)) {
    try {
      const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m);
      rss.set(pid, Number(match?.[1] ?? 0));
    } catch {
      // gone meanwhile
    }
  }
  return rss;
}

/**
 * The tree's RSS with the server idle, per process the least of `samples` reads `intervalMs` apart.
 * A garbage-collected runtime's RSS moves with where its collector happens to be: Bun's process
 * tree read 132-140 MiB at rest between solo soaks, and one CI run read 124 MiB before a soak and
 * 147 MiB after it (18%) where four solo runs of the same case read -3% to +2%. The least of a
 * few reads is where each process settles; a leak raises it as surely as a single read, and both
 * ends of a soak are read the same way.
 */
export async function settledTreeRssKiB(
  root: number,
  samples = 8,
  intervalMs = 250,
): Promise<Map<number, number>> {
  const least = treeRssKiB(root);
  for (let i = 1; i < samples; i++) {
    await Bun.sleep(intervalMs);
    const now = treeRssKiB(root);
    for (const [pid, kib] of now) least.set(pid, Math.min(kib, least.get(pid) ?? kib));
    // A process gone meanwhile is left out: only those alive at every read are compared.
    for (const pid of least.keys()) if (!now.has(pid)) least.delete(pid);
  }
  return least;
}

/** Open fds per process of the tree. */
export function treeFds(root: number): Map<number, number> {
  const fds = new Map<number, number>();
  for (const pid of treePids(root)) {
    try {
      fds.set(pid, readdirSync(`/proc/${pid}/fd`).length);
    } catch {
      // gone meanwhile
    }
  }
  return fds;
}

/** The current net.ipv4.tcp_migrate_req, or undefined where it cannot be read and written. */
export function migrateReq(): string | undefined {
  try {
    const value = readFileSync(TCP_MIGRATE_REQ_PATH, "utf8").trim();
    writeFileSync(TCP_MIGRATE_REQ_PATH, value); // writable? (root in a fresh container: yes)
    return value;
  } catch {
    return undefined;
  }
}

/** Run `body` with tcp_migrate_req set to `value`, always restoring the original. */
export async function withMigrateReq<T>(value: "0" | "1", body: () => Promise<T>): Promise<T> {
  const original = readFileSync(TCP_MIGRATE_REQ_PATH, "utf8").trim();
  writeFileSync(TCP_MIGRATE_REQ_PATH, value);
  try {
    return await body();
  } finally {
    writeFileSync(TCP_MIGRATE_REQ_PATH, original);
  }
}

export interface FailureSummary {
  total: number;
  /** Reset before any response byte on a kept-alive connection (the keep-alive close race). */
  keepAliveRace: number;
  /** Failures on a fresh connection (reset of a new connection: a listener's queue, a refusal). */
  fresh: number;
  /** Anything else (cut mid-response, non-2xx, timeouts on reused connections). */
  other: number;
  /** Failures by the identity of the worker the connection was last served by. */
  byWorker: Record<string, number>;
}

export function summarize(
  failures: FailureRecord[],
  from = 0,
  to = Number.POSITIVE_INFINITY,
): FailureSummary {
  const summary: FailureSummary = { total: 0, keepAliveRace: 0, fresh: 0, other: 0, byWorker: {} };
  for (const failure of failures) {
    if (failure.at < from || failure.at >= to) continue;
    summary.total++;
    if (!failure.reused) summary.fresh++;
    else if (failure.kind === "reset") summary.keepAliveRace++;
    else summary.other++;
    summary.byWorker[failure.lastBody] = (summary.byWorker[failure.lastBody] ?? 0) + 1;
  }
  return summary;
}

/** Connections per worker identity, from the last ok body of each connection. */
export function connectionsPerWorker(client: LoadClient): Record<string, number> {
  const out: Record<string, number> = {};
  for (const body of client.lastBodies()) out[body] = (out[body] ?? 0) + 1;
  return out;
}

/** One greppable line of measured figures (the docs table is built from these). */
export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[fault] ${name} ${JSON.stringify(figures)}`);
}
