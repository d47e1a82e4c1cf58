/**
 * A supervisor's bookkeeping for one worker (thread or process): what it last said, and what the
 * supervisor asked of it. It never waits: every question is answered from recorded state, so no
 * supervisor decision can block on a hung worker.
 */

import { EXIT } from "../errors.ts";
import type { BoundAddress, WorkerPort } from "../runtime/adapter.ts";
import type { Clock } from "./clock.ts";
import { Heartbeat } from "./heartbeat.ts";

const STARTUP_FAILURE_EXIT: number = EXIT.app;

/**
 * How long a worker that is not serving yet may take to stop. It listens only once its app has
 * loaded and started (server.ts), so it holds no connection to drain, and one whose event loop runs
 * leaves at once ("not waiting for it"). One that does not is stuck in the app's import (a busy
 * loop, a blocking call): the full drain time (31 s for a process) would only delay the shutdown.
 */
export const STARTING_STOP_MS = 1000;

export class WorkerHandle {
  readonly startedAt: number;
  /** Reported ready (listening). No healthcheck before this (seed: is_ready_for_healthcheck). */
  ready = false;
  address: BoundAddress | undefined;
  /** Its healthcheck: heartbeats and pings (heartbeat.ts). */
  readonly heartbeat: Heartbeat;
  /** undefined while running; the exit code (null: killed by a signal) once gone. */
  exitCode: number | null | undefined = undefined;
  /** It reached --limit-max-requests and asks to be replaced (WorkerBoot.recycle); serving on. */
  recycleRequested = false;
  /** The worker said it cannot start (app load / startup failure, bad config). */
  fatal: { exitCode: number; message: string } | undefined;
  /** When a graceful stop was asked, and the drain time it was given. */
  stopRequestedAt: number | undefined;
  private stopTimeoutMs = 0;
  killedAt: number | undefined;

  constructor(
    readonly port: WorkerPort,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
    this.heartbeat = new Heartbeat(port, clock);
    port.onMessage((message) => {
      switch (message.type) {
        case "ready":
          this.ready = true;
          this.address = message.address;
          break;
        case "recycle":
          this.recycleRequested = true;
          break;
        case "fatal":
          this.fatal = { exitCode: message.exitCode, message: message.message };
          break;
        default:
          break;
      }
    });
    port.onExit((code) => {
      this.exitCode = code;
    });
  }

  get pid(): number | undefined {
    return this.port.pid;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  get stopping(): boolean {
    return this.stopRequestedAt !== undefined;
  }

  get killed(): boolean {
    return this.killedAt !== undefined;
  }

  /** Milliseconds from the stop request to its kill: the drain time, or STARTING_STOP_MS while not ready. */
  get stopTimeout(): number {
    return this.ready ? this.stopTimeoutMs : Math.min(this.stopTimeoutMs, STARTING_STOP_MS);
  }

  /**
   * When the stop is forced. Read when it is checked, so a worker whose "ready" was on its way when
   * the stop was asked gets the full drain time.
   */
  get stopDeadline(): number | undefined {
    return this.stopRequestedAt === undefined ? undefined : this.stopRequestedAt + this.stopTimeout;
  }

  /**
   * The exit code of a startup failure, else undefined: the worker said it cannot start (app load
   * or startup failed, bad config), or it exited with code 3 before it was ever ready. Other early
   * exits (a crash, a kill) are replaced like any dead worker.
   */
  get startupFailureCode(): number | undefined {
    if (this.ready) return undefined;
    if (this.fatal) return this.fatal.exitCode;
    if (this.exitCode === STARTUP_FAILURE_EXIT && !this.stopping && !this.killed) return STARTUP_FAILURE_EXIT;
    return undefined;
  }

  /** Ask for a graceful stop; it is forced (kill) once `timeoutMs` has passed. Idempotent. */
  stop(timeoutMs: number, retire = false): void {
    if (!this.alive || this.stopping) return;
    const now = this.clock.now();
    this.stopRequestedAt = now;
    this.stopTimeoutMs = timeoutMs;
    this.port.send(retire ? { type: "stop", retire } : { type: "stop" });
  }

  /** Hard stop: SIGKILL a process, terminate() a thread. */
  kill(): void {
    if (!this.alive || this.killed) return;
    this.killedAt = this.clock.now();
    this.port.kill();
  }
}
