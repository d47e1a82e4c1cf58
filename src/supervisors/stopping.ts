/**
 * Workers on their way out: a graceful stop with a deadline, the stale list of workers asked to
 * stop that have not exited yet (seed: `stale_threads`), and the kill of one that outlives its
 * deadline. The supervisor asks; nothing here waits (reap() runs once per supervisor tick).
 */
import type { Logger } from "../logging.ts";
import type { RuntimeInfo } from "../runtime/adapter.ts";
import type { Clock } from "./clock.ts";
import type { WorkerClass } from "./supervisor.ts";
import { STARTING_SILENCE_MS, type WorkerHandle } from "./worker-handle.ts";

/** After a kill, how long to wait for the exit event before giving up on a worker. */
export const KILL_GRACE_MS = 2000;

export interface StoppingHost {
  readonly workerClass: Pick<WorkerClass, "name" | "stopping" | "forcedWarning">;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly runtime: RuntimeInfo;
  /** Seconds a stopping worker may drain before it is killed. */
  timeoutSeconds(): number;
}

/** The warning for a worker killed at its stop deadline: uvicorn's, or why it came early. */
export function overdueWarning(name: string, worker: WorkerHandle): string {
  if (worker.stuckStarting) {
    const seconds = (STARTING_SILENCE_MS / 1000).toFixed(0);
    return `${name} did not exit: it was still starting and its event loop has not run for ${seconds} s (stuck in the app's import?).`;
  }
  return `${name} did not exit within ${(worker.stopTimeout / 1000).toFixed(2)} seconds.`;
}

export class StoppingWorkers {
  /** Asked to stop (or killed) and not seen to exit yet. */
  readonly stale: WorkerHandle[] = [];

  constructor(private readonly host: StoppingHost) {}

  /** Ask for a graceful stop, once; `retire`: the others serve on (RunningServer.close). */
  stop(worker: WorkerHandle, retire = false): void {
    if (!worker.alive || worker.stopping) return;
    const line = this.host.workerClass.stopping?.(worker);
    if (line) this.host.logger.info(line);
    worker.stop(this.host.timeoutSeconds() * 1000, retire);
  }

  /** Graceful stop while the others serve on; tracked as stale until it exits or is forced. */
  retire(worker: WorkerHandle): void {
    this.stop(worker, true);
    this.keepUntilExit(worker);
  }

  /** Track a worker (stopping or killed) until its exit is seen. */
  keepUntilExit(worker: WorkerHandle): void {
    if (!this.stale.includes(worker)) this.stale.push(worker);
  }

  /** Kill a stopping worker past its deadline, with uvicorn's warning. */
  forceIfOverdue(worker: WorkerHandle, now: number): void {
    if (worker.killed || worker.stopDeadline === undefined || now < worker.stopDeadline) return;
    const { workerClass, logger } = this.host;
    logger.warning(overdueWarning(workerClass.name(worker), worker));
    worker.kill();
    const warning = workerClass.forcedWarning?.(this.host.runtime);
    if (warning) logger.warning(warning);
  }

  /** A killed worker whose exit never came within KILL_GRACE_MS: nothing more to wait for. */
  givenUp(worker: WorkerHandle, now: number): boolean {
    return worker.killedAt !== undefined && now - worker.killedAt >= KILL_GRACE_MS;
  }

  /** Force stale workers past their deadline; forget those that exited (or never will). */
  reap(): void {
    const now = this.host.clock.now();
    for (const worker of [...this.stale]) {
      if (worker.alive) this.forceIfOverdue(worker, now);
      if (!worker.alive || this.givenUp(worker, now)) this.stale.splice(this.stale.indexOf(worker), 1);
    }
  }
}
