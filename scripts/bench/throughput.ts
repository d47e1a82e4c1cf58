/**
 * Throughput and latency of one group of contenders: start them all, check that each answers both
 * workloads correctly, warm them up, then measure in rounds, alternating contenders (A B C A B C ...)
 * so that a noisy neighbour hurts every contender alike and ratios stay meaningful.
 */
import type { Contender, Group } from "./contenders.ts";
import {
  type Client,
  JSON_BODY,
  type LoadOptions,
  type Measurement,
  pathOf,
  runLoad,
  type Workload,
} from "./load.ts";
import { freePort, launch, type Running, request, treeCpuSeconds, waitReady } from "./proc.ts";

export interface ContenderResult {
  id: string;
  label: string;
  short?: string;
  runtime?: string;
  group: string;
  tsuv: boolean;
  ok: boolean;
  /** Why it failed (start-up, wrong answer, died under load). */
  reason?: string;
  command?: string;
  readyMs?: number;
  runs: Record<Workload, Measurement[]>;
  latency: Measurement[];
}

export interface ThroughputOptions {
  client: Client;
  workloads: Workload[];
  rounds: number;
  load: LoadOptions;
  /** 0 skips warm-up (quick mode). */
  warmupS: number;
  /** Paced latency run, or undefined to skip it; `rounds` of its own. */
  latency?: LoadOptions & { rounds: number };
  /** Load every contender of the group at once: quick mode, which proves answers and measures nothing. */
  concurrent?: boolean;
  /**
   * For a group of single-process servers: the server on one CPU, wrk on another (taskset). Left
   * free to the scheduler, a one-worker server and wrk sometimes share a core, and that halves what
   * either gets: on this 2-core machine node:http measured 24.6-39.4k req/s in nine 1-second runs
   * left free, 37.2-39.9k pinned apart, 28.1-29.0k pinned together. Groups with more than one
   * worker are left free: their workers and wrk cannot each have a core.
   */
  pin?: { server: string; client: string };
  /**
   * Rounds and seconds for groups with more than one worker, in place of `rounds` and
   * `load.durationS`: longer, since each wrk run opens its connections at once and tsuv's Node
   * workers, which accept from one socket, even out such a burst within 1-3 s (docs/workers.md).
   */
  multiWorker?: { rounds: number; durationS: number };
  log(line: string): void;
}

/** Check the answers, not just the status: a server that 404s /json would otherwise look fast. */
async function verify(port: number): Promise<void> {
  const hello = await request(port, "/");
  if (hello.status !== 200 || hello.body !== "Hello, world!") {
    throw new Error(`GET / answered ${hello.status} ${JSON.stringify(hello.body.slice(0, 80))}`);
  }
  const echo = await request(port, pathOf("json"), { method: "POST", body: JSON_BODY });
  let same = false;
  try {
    same = JSON.stringify(JSON.parse(echo.body)) === JSON.stringify(JSON.parse(JSON_BODY));
  } catch {}
  if (echo.status !== 200 || !same) {
    throw new Error(`POST /json answered ${echo.status} ${JSON.stringify(echo.body.slice(0, 80))}`);
  }
}

function fail(result: ContenderResult, reason: string): void {
  result.ok = false;
  result.reason ??= reason.trim().split("\n").slice(0, 12).join("\n");
}

export async function runGroup(group: Group, options: ThroughputOptions): Promise<ContenderResult[]> {
  const { log } = options;
  const slots: { contender: Contender; result: ContenderResult; server?: Running }[] = [];
  try {
    // Start the whole group at once (start-up is mostly waiting), then check each one's answers.
    const singleProcess = group.contenders.every((c) => c.workers === 1);
    const pin = options.pin && singleProcess ? options.pin : undefined;
    const rounds = (!singleProcess && options.multiWorker?.rounds) || options.rounds;
    const groupLoad = {
      ...options.load,
      durationS: (!singleProcess && options.multiWorker?.durationS) || options.load.durationS,
    };
    for (const contender of group.contenders) {
      slots.push({
        contender,
        result: {
          id: contender.id,
          label: contender.label,
          short: contender.short,
          runtime: contender.runtime,
          group: group.id,
          tsuv: contender.tsuv,
          ok: true,
          runs: { plaintext: [], json: [], close: [] },
          latency: [],
        },
      });
    }
    await Promise.all(
      slots.map(async (slot) => {
        const { contender, result } = slot;
        try {
          const port = await freePort();
          const spec = { ...contender.launch(port), cpus: pin?.server };
          result.command = [...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`), ...spec.cmd].join(
            " ",
          );
          slot.server = launch(spec, port);
          result.readyMs = await waitReady(slot.server);
          await verify(port);
          log(`  ${contender.label}: serving on :${port} (ready after ${Math.round(result.readyMs)} ms)`);
        } catch (error) {
          fail(result, (error as Error).message);
          log(`  ${contender.label}: FAILED ${result.reason}`);
        }
      }),
    );

    const alive = () => slots.filter((s) => s.result.ok && s.server);
    const measure = async (slot: (typeof slots)[number], workload: Workload, load: LoadOptions) => {
      const server = slot.server as Running;
      try {
        const cpuBefore = treeCpuSeconds(server.pid);
        const m = await runLoad(options.client, server.port, workload, { ...load, cpus: pin?.client });
        if (server.exited()) throw new Error(`died under load:\n${server.output()}`);
        if (m.requests > 0) m.cpuUsPerRequest = ((treeCpuSeconds(server.pid) - cpuBefore) * 1e6) / m.requests;
        return m;
      } catch (error) {
        fail(slot.result, (error as Error).message);
        log(`  ${slot.contender.label}: FAILED ${slot.result.reason}`);
        return undefined;
      }
    };

    if (options.warmupS > 0) {
      for (const slot of alive()) {
        for (const workload of options.workloads) {
          await measure(slot, workload, { ...groupLoad, durationS: options.warmupS });
        }
      }
    }

    for (let round = 1; round <= rounds; round++) {
      for (const workload of options.workloads) {
        const one = async (slot: (typeof slots)[number]) => {
          const m = await measure(slot, workload, groupLoad);
          if (!m) return;
          slot.result.runs[workload].push(m);
          const errors = m.errors ? ` (${m.errors} errors)` : "";
          const cpu = m.cpuUsPerRequest === undefined ? "" : `, ${m.cpuUsPerRequest.toFixed(1)} CPU-us/req`;
          log(
            `  round ${round} ${workload.padEnd(9)} ${slot.contender.label.padEnd(44)} ${Math.round(m.rps).toString().padStart(7)} req/s${cpu}${errors}`,
          );
        };
        // A B C, then C B A: whoever runs first in a round (fresh caches, or just after a noisy
        // moment) is not always the same contender.
        const order = round % 2 ? alive() : alive().reverse();
        if (options.concurrent) await Promise.all(order.map(one));
        else for (const slot of order) await one(slot);
      }
    }

    if (options.latency && group.latency) {
      for (let round = 1; round <= options.latency.rounds; round++) {
        for (const slot of alive()) {
          if (slot.contender.noLatency) continue;
          const m = await measure(slot, "plaintext", options.latency);
          if (!m) continue;
          slot.result.latency.push(m);
          log(
            `  latency ${round} ${slot.contender.label.padEnd(44)} ${Math.round(m.rps)} req/s p50 ${m.p50Ms?.toFixed(2)} ms p99 ${m.p99Ms?.toFixed(2)} ms`,
          );
        }
      }
    }
  } finally {
    await Promise.all(slots.map((s) => s.server?.stop()));
  }
  return slots.map((s) => s.result);
}

/** The median of the pairwise ratios x[i] / y[i] (as many pairs as the shorter list has). */
export function medianRatio(x: number[], y: number[]): number {
  const n = Math.min(x.length, y.length);
  return median(Array.from({ length: n }, (_, i) => (x[i] as number) / (y[i] as number)));
}

export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
