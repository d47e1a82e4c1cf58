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
 * A worker not serving yet holds no connection to drain: it listens only once its app has loaded and
 * started (server.ts). While it loads, a stop ends it at once ("not waiting for it"); during the
 * app's startup hook it waits for the hook, as uvicorn does, sending heartbeats all along (at least
 * one a second, src/worker.ts). So one whose heartbeats have stopped this long is stuck (a busy loop
 * or a call that never returns in the app's import) and its stop is forced then, instead of after
 * the whole drain time (31 s for a process).
 */
export const STARTING_SILENCE_MS = 2000;

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
  /**
   * Its kept-alive connections from its last heartbeat that counted them after it had received
   * every shed asked, until the balance uses them (balance.ts); undefined while there is none newer.
   */
  private reportedConnections: number | undefined;
  private shedsSent = 0;

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
        case "heartbeat":
          // A count made before the worker got the last shed still includes what it sheds.
          if (message.connections !== undefined && message.sheds === this.shedsSent)
            this.reportedConnections = message.connections;
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

  /** Its connection count, if reported since connectionsSeen() (balance.ts); else undefined. */
  get freshConnections(): number | undefined {
    return this.reportedConnections;
  }

  /** The balance has used the last count: wait for a newer one. */
  connectionsSeen(): void {
    this.reportedConnections = undefined;
  }

  /** Ask it to end `count` connections after their next response (replacing any still pending). */
  askShed(count: number): void {
    this.shedsSent++;
    this.port.send({ type: "shed", count });
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

  /** The drain time the stop was given (ms). */
  get stopTimeout(): number {
    return this.stopTimeoutMs;
  }

  /**
   * When the stop is forced: after the drain time, or, for a worker not serving yet, once it has
   * been silent STARTING_SILENCE_MS since the stop was asked (see there). Read when it is checked:
   * a heartbeat, or a "ready" that was on its way, moves it.
   */
  get stopDeadline(): number | undefined {
    if (this.stopRequestedAt === undefined) return undefined;
    const drained = this.stopRequestedAt + this.stopTimeoutMs;
    if (this.ready) return drained;
    const silent = Math.max(this.stopRequestedAt, this.heartbeat.lastSeen) + STARTING_SILENCE_MS;
    return Math.min(drained, silent);
  }

  /** Its stop is forced because it fell silent while starting, not because the drain time ran out. */
  get stuckStarting(): boolean {
    const deadline = this.stopDeadline;
    return (
      deadline !== undefined &&
      this.stopRequestedAt !== undefined &&
      deadline < this.stopRequestedAt + this.stopTimeoutMs
    );
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
