/**
 * Evening out kept-alive connections over workers that accept from one shared socket (Node's
 * parent-bound socket, listen.ts). Whichever worker the kernel wakes first takes every connection
 * waiting, so a burst of keep-alive connections (a load balancer filling its pool, a load test
 * starting) can all land on one worker and stay there, leaving the others idle (docs/workers.md,
 * "Connection balance"). node:cluster avoids it by accepting in the parent and handing each
 * connection over, which costs every new connection two IPC messages.
 *
 * Here the workers report their connections in their heartbeats, and a worker holding more than
 * its share (plus some slack) is asked to end the excess after their next response, with
 * `connection: close`: the client opens a new connection, which an idle worker is the likeliest to
 * accept. Each step uses counts made after the previous step's requests were received (the
 * heartbeat's `sheds`), so a report in flight never asks twice for the same connections.
 *
 * Workers that bind their own sockets with SO_REUSEPORT (Bun, Deno; Node with
 * net.ipv4.tcp_migrate_req=1) are spread by the kernel's hash and report nothing: no step runs.
 */
import type { WorkerHandle } from "./worker-handle.ts";

/** A worker may hold its share plus this many connections (or 10% more, if more) before it sheds. */
export const BALANCE_SLACK = 2;

/**
 * How many connections each worker should end: down to the fair share, for each one holding more
 * than the share plus slack; none for the rest. The hysteresis keeps a near-even split (26/24, which
 * a connection closing on its own makes anyway) from shedding back and forth.
 */
export function excessConnections(counts: readonly number[]): number[] {
  if (counts.length < 2) return counts.map(() => 0);
  let total = 0;
  for (const count of counts) total += count;
  const share = Math.ceil(total / counts.length);
  const allowed = share + Math.max(BALANCE_SLACK, Math.ceil(share / 10));
  return counts.map((count) => (count > allowed ? count - share : 0));
}

/** A worker asked to end `shed` of the `connections` it reported. */
export interface BalanceAsk {
  worker: WorkerHandle;
  connections: number;
  shed: number;
}

/** The balance step of a supervisor's tick, for the workers of one shared socket. */
export class ConnectionBalance {
  /** What each worker was last asked to shed: a 0 is sent only to clear a request still pending. */
  private readonly asked = new WeakMap<WorkerHandle, number>();

  /**
   * One pass: once every serving worker has reported since the last, ask the crowded ones to shed.
   * Returns who was asked to end connections (for the supervisor's debug log), with the counts.
   */
  step(workers: readonly WorkerHandle[]): BalanceAsk[] {
    const serving = workers.filter((worker) => worker.ready && worker.alive && !worker.stopping);
    if (serving.length < 2) return [];
    const counts: number[] = [];
    for (const worker of serving) {
      const count = worker.freshConnections;
      if (count === undefined) return [];
      counts.push(count);
    }
    const excess = excessConnections(counts);
    const asks: BalanceAsk[] = [];
    serving.forEach((worker, i) => {
      const shed = excess[i] ?? 0;
      worker.connectionsSeen();
      if (shed === 0 && !this.asked.get(worker)) return;
      this.asked.set(worker, shed);
      worker.askShed(shed);
      if (shed > 0) asks.push({ worker, connections: counts[i] ?? 0, shed });
    });
    return asks;
  }
}
