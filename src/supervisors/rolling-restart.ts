/**
 * The rolling restart a SIGHUP asks for (seed: restart_all), gated on readiness: one slot at a time,
 * a replacement is started and the old worker is only retired once the replacement reports ready,
 * so the slot never goes without a serving worker. A replacement that exits first or is not ready
 * in time aborts the whole restart and the old workers keep serving: new code that cannot boot must
 * not take down the old code that can.
 *
 * Like the supervisor loop that drives it, nothing here waits: step() reads the state the workers'
 * messages recorded and is called again on the next tick.
 */
import type { Logger } from "../logging.ts";
import type { Clock } from "./clock.ts";
import type { WorkerClass } from "./supervisor.ts";
import type { WorkerHandle } from "./worker-handle.ts";

/** A replacement gets at least this long to report ready (longer if the healthcheck timeout is). */
export const READY_TIMEOUT_FLOOR_SECONDS = 30;

/** What a rolling restart needs from the supervisor running it. */
export interface RollingRestartHost {
  /** The supervisor's live slots, replaced in place as replacements are swapped in. */
  readonly slots: WorkerHandle[];
  readonly workerClass: Pick<WorkerClass, "singular" | "plural" | "restarted">;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How long a replacement may take to report ready before the restart is aborted. */
  readonly readyTimeoutSeconds: number;
  startWorker(): WorkerHandle;
  /** Stop a worker gracefully and track it until it exits. */
  retire(worker: WorkerHandle): void;
  /** Track a killed worker until its exit is seen. */
  keepUntilExit(worker: WorkerHandle): void;
}

interface Replacement {
  old: WorkerHandle;
  fresh: WorkerHandle;
  /** Clock time by which `fresh` must be ready. */
  deadline: number;
}

export class RollingRestart {
  /** Workers still to replace, in slot order. */
  private queue: WorkerHandle[];
  private current: Replacement | undefined;
  /** Another SIGHUP came during this round: it may have new code to load, so run one more. */
  private anotherRound = false;

  /** `workers`: only these (workers that asked to be recycled); by default every slot (SIGHUP). */
  constructor(
    private readonly host: RollingRestartHost,
    workers: readonly WorkerHandle[] = host.slots,
  ) {
    this.queue = [...workers];
  }

  /** The replacement being waited on, if any (shutdown must stop it with the others). */
  get replacement(): WorkerHandle | undefined {
    return this.current?.fresh;
  }

  requestAnotherRound(): void {
    this.anotherRound = true;
  }

  /**
   * Advance as far as possible without waiting: swap in a replacement that is ready, start the next
   * slot's. Returns false once the restart is over, finished or aborted.
   */
  step(): boolean {
    const current = this.current;
    if (current) {
      if (!current.fresh.ready) return this.keepWaiting(current);
      this.swapIn(current);
    }
    return this.startNext();
  }

  /** A slot was removed (SIGTTOU): a replacement started for its worker is not needed any more. */
  slotRemoved(worker: WorkerHandle): void {
    if (this.current?.old !== worker) return;
    this.host.retire(this.current.fresh);
    this.current = undefined;
  }

  /** True while the replacement may still become ready; false once it failed or ran out of time. */
  private keepWaiting({ fresh, deadline }: Replacement): boolean {
    const { workerClass, logger, clock, readyTimeoutSeconds } = this.host;
    const failed = fresh.startupFailureCode ?? (fresh.alive ? undefined : (fresh.exitCode ?? "killed"));
    if (failed === undefined && clock.now() < deadline) return true;
    const { singular, plural } = workerClass;
    const why =
      failed !== undefined
        ? `the new ${singular} exited before it was ready (exit code ${failed})`
        : `the new ${singular} was not ready within ${readyTimeoutSeconds.toFixed(2)} seconds`;
    // The wait is not a flag of its own: say which one sets it, for an app slow to start.
    const longer =
      failed === undefined
        ? ` For an app that takes longer to start, raise --timeout-worker-healthcheck: the wait is the longer of ${READY_TIMEOUT_FLOOR_SECONDS} s and that.`
        : "";
    logger.error(`Rolling restart aborted: ${why}; keeping the old ${plural}.${longer}`);
    fresh.kill();
    if (fresh.alive) this.host.keepUntilExit(fresh);
    this.current = undefined;
    return false;
  }

  private swapIn({ old, fresh }: Replacement): void {
    const { slots, workerClass, logger } = this.host;
    const idx = slots.indexOf(old);
    if (idx === -1) {
      // The old worker left its slot meanwhile (it died or failed its healthcheck, and keepAlive
      // replaced it): the slot has a new worker already.
      this.host.retire(fresh);
    } else {
      slots[idx] = fresh;
      logger.info(workerClass.restarted(old));
      this.host.retire(old);
    }
    this.current = undefined;
  }

  /** Start the replacement for the next worker still in a slot; false when none is left. */
  private startNext(): boolean {
    const { slots, clock, readyTimeoutSeconds } = this.host;
    for (;;) {
      const next = this.queue.shift();
      if (next === undefined) {
        if (!this.anotherRound) return false;
        this.queue = [...slots];
        this.anotherRound = false;
        continue;
      }
      // Gone since the round began (died and replaced, or removed by SIGTTOU): nothing to restart.
      if (!slots.includes(next)) continue;
      const deadline = clock.now() + readyTimeoutSeconds * 1000;
      this.current = { old: next, fresh: this.host.startWorker(), deadline };
      return true;
    }
  }
}
