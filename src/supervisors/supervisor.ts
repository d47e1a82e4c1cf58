/**
 * The supervisor loop shared by the thread and process worker classes (uvicorn's Multiprocess and
 * the seed's Multithread, written once): every 0.5 s handle queued signals, then check each slot
 * (dead: replace; not ready: skip; unhealthy by its heartbeat.ts check: replace), step a rolling
 * restart (rolling-restart.ts), and force stale workers that outlived their stop deadline
 * (stopping.ts). What differs per class (how a worker starts, how its health is read, what happens
 * to an unhealthy one, log wording) is a WorkerClass.
 *
 * Nothing here waits on a worker: every decision reads state the workers' messages and exit events
 * recorded (WorkerHandle), and time comes from an injected Clock, so tests run it with fake
 * WorkerPorts on a virtual clock.
 */
import type { Config } from "../config.ts";
import { rereadEnvFile } from "../env-file.ts";
import { EXIT } from "../errors.ts";
import { listenTargetFromConfig } from "../listen-address.ts";
import type { Logger } from "../logging.ts";
import type {
  RuntimeAdapter,
  RuntimeInfo,
  SharedSocket,
  SignalName,
  WorkerBoot,
  WorkerPort,
} from "../runtime/adapter.ts";
import { tcpMigrateReqAdvice } from "../runtime/support.ts";
import { readTcpMigrateReq } from "../runtime/sysctl.ts";
import { ConnectionBalance } from "./balance.ts";
import { BootFailures, MAX_BOOT_DEATHS } from "./boot-failures.ts";
import { type Clock, systemClock } from "./clock.ts";
import { announcedUrl, type PreparedListen, prepareListen, prepareOrExitCode } from "./listen.ts";
import { READY_TIMEOUT_FLOOR_SECONDS, RollingRestart } from "./rolling-restart.ts";
import { SignalQueue } from "./signals.ts";
import { StoppingWorkers } from "./stopping.ts";
import { WorkerHandle } from "./worker-handle.ts";

/** How often the supervisor handles signals and checks its workers (uvicorn's 0.5 s). */
export const TICK_MS = 500;
/** How often shutdown re-checks workers (and a second SIGINT). */
export const SHUTDOWN_POLL_MS = 100;
export { MAX_BOOT_DEATHS } from "./boot-failures.ts";

/** What differs between thread and process workers. */
export interface WorkerClass {
  readonly kind: "thread" | "process";
  readonly singular: string;
  readonly plural: string;
  start(adapter: RuntimeAdapter, boot: WorkerBoot, shared: SharedSocket | null): WorkerPort;
  /** "Worker thread" / "Child process [PID]". */
  name(worker: WorkerHandle): string;
  /** Logged when a worker is found dead and replaced. */
  died(worker: WorkerHandle): string;
  /** Logged when a worker fails its healthcheck. */
  unhealthy(worker: WorkerHandle): string;
  /** Logged when a rolling restart swaps a worker out. */
  restarted(worker: WorkerHandle): string;
  /** Optional lines when a worker is asked to stop, and when shutdown waits for it (uvicorn's). */
  stopping?(worker: WorkerHandle): string;
  waiting?(worker: WorkerHandle): string;
  /** A warning to log after a stop had to be forced, if this runtime needs one. */
  forcedWarning?(runtime: RuntimeInfo): string | undefined;
  /** Is a ready worker healthy? Asks its Heartbeat (heartbeat.ts) one of two ways; may send a ping. */
  healthy(worker: WorkerHandle, timeoutMs: number): boolean;
  /** An unhealthy worker drains (threads: graceful stop, forced later) or is killed (processes). */
  readonly onUnhealthy: "drain" | "kill";
  /** Seconds a stopping worker may take before it is killed. */
  stopTimeoutSeconds(config: Config): number;
}

export interface SupervisorDeps {
  clock?: Clock;
  /** net.ipv4.tcp_migrate_req (tests pass a fake; default: read from /proc). */
  readTcpMigrateReq?: () => string | undefined;
  /** Override the rolling-restart readiness timeout (seconds). */
  readyTimeoutSeconds?: number;
}

export class Supervisor {
  /** The live slots (seed: `threads` / uvicorn: `processes`). */
  readonly slots: WorkerHandle[] = [];
  /** Workers asked to stop, until they exit (stopping.ts). */
  readonly stopping: StoppingWorkers;
  /** Target number of workers (seed: `threads_num`). */
  workersNum: number;
  shouldExit = false;
  /** A second SIGINT during shutdown: kill whatever is left now. */
  forced = false;
  exitCode: number = EXIT.ok;
  /**
   * Deaths before ready, counted per slot so a healthy neighbour does not hide a slot that crashes
   * on every boot, and the retries of failed slots after boot (boot-failures.ts).
   */
  private readonly bootFailures = new BootFailures();
  /**
   * Every initial worker has been ready once. Before that a worker that cannot start stops them all
   * (the app or its config is broken: exit 3). After it, the others are serving: one that cannot
   * start (code broken on disk since, a database down for a while) is retried with backoff, and
   * the server serves on with what it has.
   */
  booted = false;
  /** "tsuv running on ...", held back until a worker listens when workers bind with reusePort. */
  private pendingAnnouncement: string | undefined;
  /** When tick() last ran (clock ms): see overlookPause(). */
  private lastTickAt: number | undefined;
  /** The SIGHUP restart in progress, if any. */
  rolling: RollingRestart | undefined;
  readonly signals = new SignalQueue();
  protected readonly clock: Clock;
  private prepared: PreparedListen | undefined;
  private readonly balance = new ConnectionBalance();
  private wake: (() => void) | undefined;
  private readonly readyTimeoutOverride: number | undefined;
  private readonly readTcpMigrateReq: () => string | undefined;
  /** net.ipv4.tcp_migrate_req, read once by prepare(): how the workers listen and the advice agree. */
  private tcpMigrateReq: string | undefined;
  /** The next worker started says the app's start-up warnings (WorkerBoot.appWarnings). */
  private appWarningsDue = true;

  constructor(
    protected readonly config: Config,
    protected readonly adapter: RuntimeAdapter,
    protected readonly logger: Logger,
    readonly workerClass: WorkerClass,
    deps: SupervisorDeps = {},
  ) {
    this.workersNum = config.workers;
    this.clock = deps.clock ?? systemClock;
    this.readyTimeoutOverride = deps.readyTimeoutSeconds;
    this.readTcpMigrateReq = deps.readTcpMigrateReq ?? readTcpMigrateReq;
    this.stopping = new StoppingWorkers({
      workerClass,
      logger,
      clock: this.clock,
      runtime: adapter.info,
      timeoutSeconds: () => this.shutdownTimeoutSeconds,
    });
  }

  /** Workers asked to stop that have not exited yet (seed: `stale_threads`). */
  get stale(): WorkerHandle[] {
    return this.stopping.stale;
  }

  /** Queued signals, oldest first (seed: `signal_queue`). */
  get signalQueue(): SignalName[] {
    return this.signals.queue;
  }

  /** Seconds a stopping worker may drain before it is killed (seed: `_thread_shutdown_timeout`). */
  get shutdownTimeoutSeconds(): number {
    return this.workerClass.stopTimeoutSeconds(this.config);
  }

  /** How long a rolling-restart replacement may take to report ready. */
  get readyTimeoutSeconds(): number {
    return (
      this.readyTimeoutOverride ?? Math.max(READY_TIMEOUT_FLOOR_SECONDS, this.config.timeoutWorkerHealthcheck)
    );
  }

  private get healthcheckTimeoutMs(): number {
    return this.config.timeoutWorkerHealthcheck * 1000;
  }

  /** Bind or probe the socket the workers share (see listen.ts). */
  async prepare(): Promise<PreparedListen> {
    this.tcpMigrateReq = this.readTcpMigrateReq();
    this.prepared = await prepareListen(this.config, this.adapter, this.tcpMigrateReq);
    return this.prepared;
  }

  /** Supervise until told to stop; resolves with the exit code. */
  async run(): Promise<number> {
    const prepared = await prepareOrExitCode(() => this.prepare(), this.logger);
    if (typeof prepared === "number") return prepared;
    const runningOn = `tsuv running on ${announcedUrl(this.config, prepared.address)} (Press CTRL+C to quit)`;
    // A parent-bound socket queues connections already; with reusePort nothing listens until a
    // worker does, so the line waits for the first ready worker (a client acting on it connects).
    if (prepared.shared) this.logger.info(runningOn);
    else this.pendingAnnouncement = runningOn;
    this.logger.info(`Started parent process [${this.adapter.pid}]`);
    const reusePort = prepared.listen.kind === "tcp" && prepared.listen.reusePort;
    const advice = tcpMigrateReqAdvice(this.adapter.info, reusePort, this.workersNum, this.tcpMigrateReq);
    if (advice) this.logger.info(advice);
    this.signals.listen(this.adapter);
    let sharedOpen = prepared.shared !== null;
    const closeShared = () => {
      if (sharedOpen) prepared.shared?.close();
      sharedOpen = false;
    };
    try {
      this.initWorkers();
      while (!this.shouldExit) {
        // A serving worker's exit cuts the wait short (see startWorker).
        await Promise.race([this.clock.sleep(TICK_MS), new Promise<void>((wake) => (this.wake = wake))]);
        this.wake = undefined;
        this.tick();
      }
      // Draining starts: the parent's copy of the socket goes first, so once each worker closes its
      // own, a new connection is refused (a load balancer retries it elsewhere) instead of queueing
      // on a socket nobody accepts from any more and being reset at exit (issue #8, fault case 5).
      closeShared();
      this.terminateAll();
      await this.joinAll();
    } finally {
      this.signals.close();
      closeShared();
      prepared.reserved?.release(); // no worker ever listened
    }
    this.logger.info(`Stopping parent process [${this.adapter.pid}]`);
    return this.exitCode;
  }

  /** One pass of the loop. */
  tick(): void {
    this.overlookPause();
    this.handleSignals();
    this.keepAlive();
    this.startRecycling();
    this.stepRollingRestart();
    this.reapStale();
    // Workers that bind their own sockets are spread by the kernel (balance.ts).
    if (this.prepared?.shared) this.balanceConnections();
  }

  /** Ask workers crowded with kept-alive connections to end some (balance.ts); say so at debug level. */
  private balanceConnections(): void {
    for (const { worker, connections, shed } of this.balance.step(this.slots)) {
      this.logger.debug(
        `${this.workerClass.name(worker)} holds ${connections} kept-alive connections, more than its share; asking it to close ${shed} after their next response.`,
      );
    }
  }

  /**
   * A tick that comes more than a tick late means the supervisor itself did not run (paused with
   * its workers, or starved): the workers' healthchecks do not count the time it missed
   * (Heartbeat.overlook).
   */
  private overlookPause(): void {
    const now = this.clock.now();
    const last = this.lastTickAt;
    this.lastTickAt = now;
    if (last === undefined) return;
    const missed = now - last - TICK_MS;
    if (missed < TICK_MS) return;
    for (const worker of this.allWorkers()) worker.heartbeat.overlook(missed);
    this.logger.info(
      `The supervisor did not run for ${((now - last) / 1000).toFixed(1)} s (the process was paused, or starved of CPU); the healthchecks leave that time out.`,
    );
  }

  initWorkers(): void {
    for (let i = 0; i < this.workersNum; i++) this.slots.push(this.startWorker());
  }

  /** Ask every worker to stop gracefully (seed: terminate_all). */
  terminateAll(): void {
    for (const worker of this.allWorkers()) this.stopping.stop(worker);
  }

  /**
   * Wait until every worker has exited (seed: join_all), killing any that outlive the shutdown
   * timeout, or all at once on a second SIGINT. Bounded: a worker that does not even die after
   * its kill is given up on after KILL_GRACE_MS (stopping.ts).
   */
  async joinAll(): Promise<void> {
    const workers = this.allWorkers();
    this.terminateAll();
    for (const worker of workers) {
      const line = worker.alive ? this.workerClass.waiting?.(worker) : undefined;
      if (line) this.logger.info(line);
    }
    for (;;) {
      this.handleSignals();
      const now = this.clock.now();
      let pending = false;
      for (const worker of workers) {
        if (!worker.alive) continue;
        if (this.forced) worker.kill();
        else this.stopping.forceIfOverdue(worker, now);
        if (worker.alive && !this.stopping.givenUp(worker, now)) pending = true;
      }
      if (!pending) return;
      await this.clock.sleep(SHUTDOWN_POLL_MS);
    }
  }

  /** Rolling restart of every slot (SIGHUP; seed: restart_all). */
  restartAll(): void {
    if (this.rolling) {
      this.rolling.requestAnotherRound();
      return;
    }
    this.rolling = this.rollingRestart();
    this.stepRollingRestart();
  }

  /**
   * Workers that reached --limit-max-requests serve on while their replacements start, and are
   * retired once those are ready: the same readiness-gated swap as a SIGHUP restart, for them alone.
   * With reusePort (Bun, Deno) each worker has its own listener, and workers reaching the limit
   * together would otherwise leave none. A replacement that cannot start leaves the old one serving.
   * Waits for a restart in progress (which may replace them anyway); the request is kept until then.
   */
  private startRecycling(): void {
    if (this.rolling || this.shouldExit) return;
    const due = this.slots.filter((worker) => worker.recycleRequested && worker.alive && !worker.stopping);
    if (due.length === 0) return;
    for (const worker of due) {
      worker.recycleRequested = false;
      this.logger.info(
        `${this.workerClass.name(worker)} reached --limit-max-requests; starting its replacement.`,
      );
    }
    this.rolling = this.rollingRestart(due);
  }

  private rollingRestart(workers?: WorkerHandle[]): RollingRestart {
    return new RollingRestart(
      {
        slots: this.slots,
        workerClass: this.workerClass,
        logger: this.logger,
        clock: this.clock,
        readyTimeoutSeconds: this.readyTimeoutSeconds,
        startWorker: () => this.startWorker(),
        retire: (worker) => this.stopping.retire(worker),
        keepUntilExit: (worker) => this.stopping.keepUntilExit(worker),
      },
      workers,
    );
  }

  /** Shutdown freezes a restart where it is: terminateAll stops its replacement with the rest. */
  private stepRollingRestart(): void {
    if (this.rolling && !this.shouldExit && !this.rolling.step()) this.rolling = undefined;
  }

  /** Replace dead and unhealthy workers (seed: keep_subthread_alive). */
  keepAlive(): void {
    if (this.shouldExit) return;
    const timeoutMs = this.healthcheckTimeoutMs;
    for (let idx = 0; idx < this.slots.length; idx++) {
      if (this.shouldExit) return;
      const worker = this.slots[idx] as WorkerHandle;
      const failed = worker.startupFailureCode;
      if (failed !== undefined) {
        if (!this.booted) {
          this.startupFailed(worker, failed);
          return;
        }
        this.retryLater(idx, worker, failed);
        continue;
      }
      if (!worker.alive) {
        if (!this.bootFailures.waiting(worker)) this.logger.info(this.workerClass.died(worker));
        if (!worker.ready && !worker.stopping) {
          // Workers keep dying before they ever serve (a crash on boot that is not a clean exit 3):
          // that is a startup failure too, not something to retry twice a second forever.
          const deaths = this.bootFailures.deathsWith(worker);
          if (deaths >= MAX_BOOT_DEATHS) {
            if (!this.booted) {
              this.logger.error(
                `${this.workerClass.name(worker)} died ${deaths} times in a row before it was ready.`,
              );
              this.startupFailed(worker, EXIT.app);
              return;
            }
            this.retryLater(idx, worker, worker.exitCode ?? EXIT.app);
            continue;
          }
          const next = this.startWorker();
          this.bootFailures.replaced(next, deaths);
          this.slots[idx] = next;
          continue;
        }
        this.slots[idx] = this.startWorker();
        continue;
      }
      if (!worker.ready) continue;
      this.bootFailures.ready(worker);
      if (this.pendingAnnouncement) {
        // A worker listens on the reserved port now: the parent's hold on it can go (listen.ts).
        this.prepared?.reserved?.release();
        this.logger.info(this.pendingAnnouncement);
        this.pendingAnnouncement = undefined;
      }
      if (!this.workerClass.healthy(worker, timeoutMs)) {
        this.logger.warning(this.workerClass.unhealthy(worker));
        if (this.workerClass.onUnhealthy === "kill") {
          worker.kill();
          this.stopping.keepUntilExit(worker);
        } else {
          this.stopping.retire(worker);
        }
        this.slots[idx] = this.startWorker();
      }
    }
    if (!this.booted && this.slots.every((worker) => worker.ready)) this.booted = true;
  }

  /**
   * After boot, the worker in slot `idx` could not start: say so once, then start another after
   * the backoff, while the ready workers serve on. One still alive then (it reported its failure
   * but has not exited) is killed first.
   */
  private retryLater(idx: number, worker: WorkerHandle, exitCode: number): void {
    const now = this.clock.now();
    const delay = this.bootFailures.schedule(worker, now);
    if (delay !== undefined) {
      const serving = this.slots.filter((other) => other.ready && other.alive).length;
      this.logger.error(
        `${this.workerClass.name(worker)} failed to start (exit code ${exitCode}); starting another in ${(delay / 1000).toFixed(1)} s (${serving} of ${this.slots.length} ${this.workerClass.plural} serving).`,
      );
      return;
    }
    if (!this.bootFailures.due(worker, now)) return;
    if (worker.alive) {
      worker.kill();
      this.stopping.keepUntilExit(worker);
    }
    const next = this.startWorker();
    this.bootFailures.retrying(next);
    this.slots[idx] = next;
  }

  handleSignals(): void {
    for (const signal of this.signals.drain()) {
      const handler = this.signalHandler(signal);
      if (handler) handler();
      else this.logger.debug(`Received signal ${signal}, but no handler is defined for it.`);
    }
  }

  private signalHandler(signal: SignalName): (() => void) | undefined {
    switch (signal) {
      case "SIGINT":
        return () => this.handleInt();
      case "SIGTERM":
        return () => this.handleTerm();
      case "SIGBREAK":
        return () => this.handleBreak();
      case "SIGHUP":
        return () => this.handleHup();
      case "SIGTTIN":
        return () => this.handleTtin();
      case "SIGTTOU":
        return () => this.handleTtou();
      default:
        return undefined;
    }
  }

  handleInt(): void {
    if (this.shouldExit) {
      if (!this.forced) this.logger.info("Received SIGINT again, forcing exit.");
      this.forced = true;
      return;
    }
    this.exit("SIGINT");
  }

  handleTerm(): void {
    this.exit("SIGTERM");
  }

  handleBreak(): void {
    this.exit("SIGBREAK");
  }

  handleHup(): void {
    if (this.shouldExit) return;
    this.logger.info(`Received SIGHUP, restarting ${this.workerClass.plural}.`);
    // The new workers get --env-file as it is now, as --reload's children do (their environment
    // is this process's: inherited by a child process, copied or shared by a thread).
    if (this.config.envFile) {
      rereadEnvFile(this.config.envFile, this.adapter.env, this.logger, this.adapter.startedWithEnv?.());
    }
    // The new workers load the app as it is now, which may warn of other things.
    this.appWarningsDue = true;
    this.restartAll();
  }

  handleTtin(): void {
    if (this.shouldExit) return;
    this.logger.info(`Received SIGTTIN, increasing the number of ${this.workerClass.plural}.`);
    this.workersNum += 1;
    this.slots.push(this.startWorker());
  }

  handleTtou(): void {
    if (this.shouldExit) return;
    const { singular, plural } = this.workerClass;
    this.logger.info(`Received SIGTTOU, decreasing number of ${plural}.`);
    if (this.workersNum <= 1 || this.slots.length <= 1) {
      this.logger.info(`Already reached one ${singular}, cannot decrease the number of ${plural} anymore.`);
      return;
    }
    this.workersNum -= 1;
    const worker = this.slots.pop() as WorkerHandle;
    this.rolling?.slotRemoved(worker);
    this.stopping.retire(worker);
  }

  private exit(signal: SignalName): void {
    if (this.shouldExit) return;
    this.logger.info(`Received ${signal}, exiting.`);
    this.shouldExit = true;
  }

  private startupFailed(worker: WorkerHandle, exitCode: number): void {
    const { name, plural } = this.workerClass;
    this.logger.error(
      `${name(worker)} failed to start (exit code ${exitCode}); stopping all ${plural} instead of restarting it.`,
    );
    this.exitCode = exitCode;
    this.shouldExit = true;
  }

  private startWorker(): WorkerHandle {
    const listen = this.prepared?.listen ?? listenTargetFromConfig(this.config);
    const boot: WorkerBoot = {
      argv: this.config.argv,
      listen,
      recycle: true,
      appWarnings: this.appWarningsDue,
    };
    this.appWarningsDue = false;
    const port = this.workerClass.start(this.adapter, boot, this.prepared?.shared ?? null);
    const worker = new WorkerHandle(port, this.clock);
    // A serving worker's death is handled at once; one that dies while starting waits for the next
    // tick, so a worker that crashes on boot is restarted at most twice a second, as uvicorn's.
    port.onExit(() => {
      if (worker.ready) this.wake?.();
    });
    return worker;
  }

  /** Force stale workers past their deadline; forget those that exited (or never will). */
  reapStale(): void {
    this.stopping.reap();
  }

  /** Every worker still tracked: slots, stale ones, and a rolling-restart replacement. */
  allWorkers(): WorkerHandle[] {
    const all = [...this.slots];
    for (const worker of [...this.stale, this.rolling?.replacement]) {
      if (worker && !all.includes(worker)) all.push(worker);
    }
    return all;
  }
}
