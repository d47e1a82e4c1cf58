/**
 * The reloader (uvicorn's ChangeReload, for --reload): the server runs in one child process (this
 * same tsuv re-run as a process worker); when a watched file changes, the child is stopped
 * gracefully (killed if it outlives a short timeout) and a new one started.
 *
 * - A burst of saves is one restart: changes are debounced by --reload-delay.
 * - A child that cannot start (syntax error, throwing module, failing startup hook: exit 3) or dies
 *   is reported, and the reloader waits for the next change instead of exiting or looping.
 * - Node: the reloader binds the socket once and every child inherits it, so connections made during
 *   a restart queue instead of failing. Bun, Deno (cannot share a socket with a child): the reloader
 *   listens itself and pipes connections to the child, which listens on 127.0.0.1 on a port of its
 *   own; connections made during a restart are held until the new child is ready (runtime/reload-proxy.ts).
 * - SIGINT/SIGTERM stop the child and then the reloader; a second SIGINT kills the child at once.
 *   A child also exits by itself if the reloader dies (IPC disconnect, src/worker.ts).
 */
import { statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import type { Config } from "../config.ts";
import { rereadEnvFile } from "../env-file.ts";
import { EXIT, errorMessage } from "../errors.ts";
import { listenTargetFromConfig } from "../listen-address.ts";
import { ansi, type Logger } from "../logging.ts";
import type { RuntimeAdapter, SignalName } from "../runtime/adapter.ts";
import { ReloadProxy } from "../runtime/reload-proxy.ts";
import { type Clock, systemClock } from "./clock.ts";
import { announcedUrl, type PreparedListen, prepareOrExitCode } from "./listen.ts";
import { SignalQueue } from "./signals.ts";
import { overdueWarning } from "./stopping.ts";
import {
  Debouncer,
  defaultWatchBackend,
  realPathOf,
  type WatchBackend,
  WatchErrors,
  type Watching,
  watchDirs,
} from "./watch.ts";
import { createReloadFilter, type PathKind, pythonList, resolveReloadDirs } from "./watch-filter.ts";
import { WorkerHandle } from "./worker-handle.ts";

/** How often the loop handles signals and looks at the child. */
export const RELOAD_TICK_MS = 100;
/**
 * A reloading child drains in-flight requests for this long when the user set no
 * --timeout-graceful-shutdown (the server's own default is 30 s: too long for a save-and-refresh
 * loop, and an open EventSource in a browser tab would hold every reload that long).
 */
export const RELOAD_DRAIN_SECONDS = 2;
/** Slack after the child's drain limit (shutdown hook, exit) before it is killed. */
export const RELOAD_KILL_SLACK_SECONDS = 1;
/** Where a child listens behind the reload proxy (Bun, Deno): loopback, a port of its own. */
export const CHILD_HOST = "127.0.0.1";
/** After a kill, how long to wait for the exit before giving up on the child. */
export const RELOAD_KILL_GRACE_MS = 2000;

export interface ReloadDeps {
  clock?: Clock;
  backend?: WatchBackend;
  /** The working directory (default: the process's). */
  cwd?: string;
  pathKind?: (path: string) => PathKind;
}

function pathKind(path: string): PathKind {
  try {
    return statSync(path).isDirectory() ? "directory" : "other";
  } catch {
    return "missing";
  }
}

export class ChangeReload {
  readonly signals = new SignalQueue();
  shouldExit = false;
  /** A second SIGINT: kill the child now. */
  forced = false;
  /** The current child (undefined before the first start). */
  child: WorkerHandle | undefined;
  /** How many children were started (the first start included). */
  starts = 0;
  private readonly clock: Clock;
  private readonly cwd: string;
  private prepared: PreparedListen | undefined;
  /** Bun, Deno: the reloader's own listener, piping to the current child (see module doc). */
  proxy: ReloadProxy | undefined;
  private changes = new Set<string>();
  private childReported = false;
  private restartRequested = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly adapter: RuntimeAdapter,
    private readonly logger: Logger,
    private readonly deps: ReloadDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.cwd = deps.cwd ?? resolve(".");
  }

  /** Seconds a stopping child may take before it is killed. */
  get stopTimeoutSeconds(): number {
    return (this.config.timeoutGracefulShutdown ?? RELOAD_DRAIN_SECONDS) + RELOAD_KILL_SLACK_SECONDS;
  }

  async run(): Promise<number> {
    // A missing --reload-dir (or one that is a file) is a ConfigError (exit 1), thrown before anything starts.
    const dirs = resolveReloadDirs(
      this.config.reloadDir,
      this.cwd,
      this.deps.pathKind ?? pathKind,
      (path) => realPathOf(path) ?? path,
    ).sort();
    const filter = createReloadFilter(this.config.reloadInclude, this.config.reloadExclude);
    this.logger.info(`Will watch for changes in these directories: ${pythonList(dirs)}`);

    const prepared = await prepareOrExitCode(() => this.prepareListen(), this.logger);
    if (typeof prepared === "number") return prepared;
    this.prepared = prepared;
    const url = announcedUrl(this.config, prepared.address);
    this.logger.info(
      `tsuv running on ${url} (Press CTRL+C to quit)`,
      `tsuv running on ${ansi.bold(url)} (Press CTRL+C to quit)`,
    );

    const backend = this.deps.backend ?? defaultWatchBackend(this.adapter.info);
    const debouncer = new Debouncer(this.config.reloadDelay * 1000, (paths) => {
      for (const path of paths) this.changes.add(path);
      this.wake?.();
    });
    this.signals.listen({
      onSignal: (signal, listener) =>
        this.adapter.onSignal(signal, () => {
          listener();
          this.wake?.();
        }),
    });
    let watching: Watching | undefined;
    const watchErrors = new WatchErrors();
    try {
      watching = await watchDirs(
        backend,
        dirs,
        filter,
        (path) => debouncer.push(path),
        (error) => {
          const line = watchErrors.line(error);
          if (line) this.logger.error(line);
          else this.logger.debug(`File watcher error: ${errorMessage(error)}`);
        },
      );
      watching.ready.then(() => this.logger.debug(`File watcher ready (${backend.name}).`));
      const pid = this.adapter.pid;
      this.logger.info(
        `Started reloader process [${pid}] using ${backend.name}`,
        `Started reloader process [${ansi.cyan(ansi.bold(pid))}] using ${ansi.cyan(ansi.bold(backend.name))}`,
      );
      this.startChild();
      await this.loop();
    } finally {
      // Accept nothing more; connections piped to the child go on while it drains, then are cut.
      this.proxy?.stopAccepting();
      debouncer.cancel();
      await watching?.close();
      await this.stopChild();
      this.proxy?.close();
      this.signals.close();
      prepared.shared?.close();
    }
    const pid = this.adapter.pid;
    this.logger.info(
      `Stopping reloader process [${pid}]`,
      `Stopping reloader process [${ansi.cyan(ansi.bold(pid))}]`,
    );
    return EXIT.ok;
  }

  private async loop(): Promise<void> {
    while (!this.shouldExit) {
      await Promise.race([this.clock.sleep(RELOAD_TICK_MS), new Promise<void>((wake) => (this.wake = wake))]);
      this.wake = undefined;
      this.handleSignals();
      if (this.shouldExit) return;
      if (this.changes.size || this.restartRequested) {
        const paths = [...this.changes];
        this.changes.clear();
        this.restartRequested = false;
        if (paths.length)
          this.logger.warning(`Changes detected in ${this.describePaths(paths)}. Reloading...`);
        await this.restart();
        continue;
      }
      this.checkChild();
    }
  }

  /** Parent-bound socket where children can inherit one (Node), else the proxy (see module doc). */
  private async prepareListen(): Promise<PreparedListen> {
    const target = listenTargetFromConfig(this.config);
    if (this.adapter.info.capabilities.passSocketToChild) {
      const shared = await this.adapter.bindSharedSocket(target, this.config.backlog);
      if (shared)
        return { listen: { kind: "fd", fd: shared.fd }, shared, reserved: null, address: shared.address };
    }
    if (target.kind === "fd") return { listen: target, shared: null, reserved: null, address: target };
    const proxy = new ReloadProxy({
      os: this.adapter.info.os,
      onError: (error) => this.logger.debug(`Reload proxy: ${errorMessage(error)}`),
    });
    const address = await proxy.listen(target, this.config.backlog);
    this.proxy = proxy;
    // Each child takes a free loopback port of its own and reports it in its ready message.
    return {
      listen: { kind: "tcp", host: CHILD_HOST, port: 0, reusePort: false },
      shared: null,
      reserved: null,
      address,
    };
  }

  private startChild(): void {
    const prepared = this.prepared;
    if (!prepared) return;
    // The CLI loaded --env-file before the first child; each later one gets the file as it is now.
    if (this.starts > 0 && this.config.envFile)
      rereadEnvFile(this.config.envFile, this.adapter.env, this.logger, this.adapter.startedWithEnv?.());
    // The child drains for RELOAD_DRAIN_SECONDS unless the user chose a limit (CLI or environment).
    const argv =
      this.config.timeoutGracefulShutdown === undefined
        ? [`--timeout-graceful-shutdown=${RELOAD_DRAIN_SECONDS}`, ...this.config.argv]
        : this.config.argv;
    const port = this.adapter.spawnProcess({ argv, listen: prepared.listen }, prepared.shared);
    port.onMessage((message) => {
      if (message.type === "ready" && message.address.kind === "tcp" && this.child?.port === port)
        this.proxy?.route({ host: message.address.host, port: message.address.port });
    });
    port.onExit(() => {
      // Connections wait for the next child rather than go to a port nobody listens on.
      if (this.child?.port === port) this.proxy?.hold();
      this.wake?.();
    });
    this.child = new WorkerHandle(port, this.clock);
    this.childReported = false;
    this.starts += 1;
  }

  private async restart(): Promise<void> {
    // From now on new connections wait for the new child (Bun, Deno; Node's backlog does this).
    this.proxy?.hold();
    await this.stopChild();
    if (!this.shouldExit) this.startChild();
  }

  /**
   * Graceful stop, bounded: `stop`, then a kill once stopTimeoutSeconds pass (at once after a second
   * SIGINT); gives up on a child that does not even exit after its kill. Signals keep being handled.
   */
  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child?.alive) return;
    child.stop(this.stopTimeoutSeconds * 1000);
    const exited = new Promise<void>((done) => child.port.onExit(() => done()));
    while (child.alive) {
      this.handleSignals();
      const now = this.clock.now();
      if (child.killedAt !== undefined) {
        if (now - child.killedAt >= RELOAD_KILL_GRACE_MS) return;
      } else if (this.forced) {
        child.kill();
      } else if (child.stopDeadline !== undefined && now >= child.stopDeadline) {
        this.logger.warning(overdueWarning(`Child process [${child.pid ?? "?"}]`, child));
        child.kill();
      }
      await Promise.race([this.clock.sleep(RELOAD_TICK_MS), exited]);
    }
  }

  /** A child that exited by itself: say so once, then wait for a change (or restart a clean exit). */
  private checkChild(): void {
    const child = this.child;
    if (!child || child.alive || child.stopping || this.childReported) return;
    this.childReported = true;
    const name = `Child process [${child.pid ?? "?"}]`;
    if (child.exitCode === EXIT.ok && child.ready) {
      // The server chose to stop (e.g. --limit-max-requests): as a worker supervisor would, replace it.
      this.logger.info(`${name} exited; starting a new one.`);
      this.startChild();
      return;
    }
    const code = child.exitCode === null ? "killed by a signal" : `exit code ${child.exitCode}`;
    const what = child.startupFailureCode !== undefined ? "failed to start" : "died";
    this.logger.error(`${name} ${what} (${code}). Waiting for changes to reload...`);
  }

  private handleSignals(): void {
    for (const signal of this.signals.drain()) this.handleSignal(signal);
  }

  private handleSignal(signal: SignalName): void {
    switch (signal) {
      case "SIGINT":
        if (this.shouldExit) this.forced = true;
        this.shouldExit = true;
        return;
      case "SIGTERM":
      case "SIGBREAK":
        this.shouldExit = true;
        return;
      case "SIGHUP":
        if (this.shouldExit) return;
        this.logger.info("Received SIGHUP, reloading.");
        this.restartRequested = true;
        return;
      default:
        this.logger.debug(`Received signal ${signal}, but no handler is defined for it.`);
    }
  }

  /** 'src/a.ts', 'src/b.ts': relative to the working directory where possible, as uvicorn shows them. */
  private describePaths(paths: string[]): string {
    return [...new Set(paths)]
      .map((path) => {
        const rel = relative(this.cwd, path);
        return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
      })
      .sort()
      .map((path) => `'${path}'`)
      .join(", ");
  }
}
