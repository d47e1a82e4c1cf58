/**
 * One worker's life, as uvicorn's Server: load the app, run its startup hook, serve (in a thread
 * worker, ticking once a second for its heartbeat; a single server and a process worker set no
 * timer: mainLoop), and shut down gracefully: drain (drain.ts: stop accepting, let in-flight
 * requests and handed-off work finish within the timeout), then run the shutdown hook.
 */

import type { GivenApp, LoadedApp } from "./app.ts";
import { portableAppServer } from "./app-server.ts";
import { checkAppStopListeners } from "./app-stop-listeners.ts";
import type { Config } from "./config.ts";
import { drain } from "./drain.ts";
import { ConfigError, EXIT, errorMessage, StartupFailure, TsuvError } from "./errors.ts";
import { describeAddress, listenTargetFromConfig } from "./listen-address.ts";
import { loadApp } from "./load-app.ts";
import type { Logger } from "./logging.ts";
import { withRootPath } from "./middleware/root-path.ts";
import type { NodeAppState } from "./node-app-handler.ts";
import { createRequestHandler, type HandlerState } from "./request-handler.ts";
import type {
  BoundAddress,
  FetchHandler,
  ListenerLossStage,
  ListenTarget,
  NodeRequestListener,
  RunningServer,
  RuntimeAdapter,
  ServeOptions,
  TlsMaterial,
  WebSocketHooks,
} from "./runtime/adapter.ts";
import { loadTlsMaterial } from "./tls-material.ts";
import type { WebSocketLayer } from "./websocket.ts";
import { unservedHooksWarning } from "./websocket-hooks.ts";

/**
 * The WebSocket layer (crossws and the native adapters, 5 modules) and the node-interface handler
 * are imported only for an app that needs them: a plain fetch app starts ~2 ms sooner on Bun 1.4.5
 * and ~4 ms on Deno 2.9.6 (scripts/bench/startup-ab.ts). A literal import(), which Deno reads
 * ahead: a single server with --allow-read for the app alone still serves them.
 */
const loadWebSocket = () => import("./websocket.ts");

export interface ServerHooks {
  /**
   * Once a second, from the event loop: the heartbeat a supervisor watches. Without it the main
   * loop sets no timer at all.
   */
  onTick?: () => void;
  /**
   * Once the app's import is done, before its startup hook. A single server listens for stop
   * signals from here on (run.ts): until then a signal's default action ends the process, the one
   * way out of an import stuck in a loop that never yields.
   */
  onLoaded?: () => void;
  /** Once listening. */
  onReady?: (address: BoundAddress) => void;
  /** --limit-max-requests reached (once). Without this hook the server shuts down. */
  onMaxRequests?: () => void;
}

export interface ServerOptions {
  /** Where to listen; by default from the config (--uds, --fd, --host/--port). */
  listen?: ListenTarget;
  hooks?: ServerHooks;
  /** Log "tsuv running on ..." (off in workers: the supervisor says it once). */
  announce?: boolean;
  /**
   * Seconds the drain may take, when the caller knows it will be cut shorter than the config says
   * (a thread worker: see worker.ts). Default: --timeout-graceful-shutdown, else the 30 s cap.
   */
  drainLimitSeconds?: number;
  /** A thread worker: signals reach the process's main thread, never the app's listeners here. */
  inThread?: boolean;
  /** Say the start-up warnings about the app (WorkerBoot.appWarnings). Default: say them. */
  appWarnings?: boolean;
  /** The app itself, from the library's run(): served as it is, not imported (load-app.ts). */
  given?: GivenApp;
}

/** A listening server: what it serves with, for the main loop and the drain. */
interface Serving {
  running: RunningServer;
  state: HandlerState | NodeAppState;
  websockets: WebSocketLayer | null;
}

/** The app wrapped for serving: its handler's serve options, its state, its WebSocket layer. */
interface Handling {
  state: HandlerState | NodeAppState;
  websockets: WebSocketLayer | null;
  handler: Pick<ServeOptions, "fetch" | "trackCompletion" | "node" | "nodeUpgrade">;
}

/** With no --timeout-graceful-shutdown, a drain still ends: uvicorn users hit endless hangs here. */
export const DEFAULT_DRAIN_CAP_SECONDS = 30;
/**
 * The main loop's period in a thread worker: its heartbeat, once a second. uvicorn wakes every 0.1 s to
 * look at should_exit and refreshes its date header on every tenth wake; here a stop wakes the loop
 * itself (requestShutdown), and the date keeps itself (default-headers.ts), so a single server
 * sets no timer. The nine other wakes were most of an idle server's CPU: one server, idle for 20 s,
 * 6-7 clock ticks on Bun and 9-14 on Deno with them, 2-3 and 1-3 without (/proc/PID/stat, 10 ms
 * ticks).
 */
export const SERVER_TICK_MS = 1000;

/** What to do about an accept that failed at the open-file limit (EMFILE, Deno's "os error 24"). */
function openFileHint(error: unknown): string {
  return /EMFILE|too many open files/i.test(errorMessage(error))
    ? " The process reached its open-file limit: raise it (ulimit -n, or LimitNOFILE= under systemd)."
    : "";
}

export class Server {
  started = false;
  private shouldExit = false;
  /** Only this worker stops (rolling restart, scale-down): see RunningServer.close(). */
  private retire = false;
  private forceExit = false;
  private wake: (() => void) | null = null;
  /** Loading the app or running its startup hook, which a forced shutdown does not wait for. */
  private starting = false;
  /** Importing the app: nothing of it has started, so a stop does not wait for it (see below). */
  private loading = false;
  private onForced: (() => void) | null = null;
  /** Set once listening. */
  private running: RunningServer | undefined;

  constructor(
    private readonly config: Config,
    private readonly adapter: RuntimeAdapter,
    private readonly logger: Logger,
    private readonly options: ServerOptions = {},
  ) {}

  /**
   * Its kept-alive connections that stay (RunningServer.connections), where its runtime's server
   * counts them; undefined too once stopping, as a draining worker takes no part in balancing.
   */
  connections(): number | undefined {
    return this.shouldExit ? undefined : this.running?.connections?.();
  }

  /** End `count` connections after their next response (RunningServer.shed), for the supervisor's balance. */
  shed(count: number): void {
    if (!this.shouldExit) this.running?.shed?.(count);
  }

  /** Graceful stop, like uvicorn's should_exit. A second call while draining forces. */
  requestShutdown(force = false, retire = false): void {
    if (this.loading && !this.shouldExit) {
      // uvicorn imports the app before it installs its signal handlers, so a stop during the
      // import ends it at once. No startup hook has run and no shutdown hook is owed: waiting for
      // a hung or slow import would only hold a reload's restart (or a supervisor's stop) for
      // its whole timeout.
      this.logger.info("Shutdown requested while the app was still loading; not waiting for it.");
      this.shouldExit = true;
      this.forceExit = true;
      this.onForced?.();
      return;
    }
    if (this.shouldExit && force) {
      this.forceExit = true;
      this.onForced?.();
    } else if (this.starting && !this.shouldExit) {
      this.logger.info(
        "Shutdown requested; waiting for application startup to finish (CTRL+C again forces).",
      );
    }
    // Only a first request decides: a SIGTERM during a retirement does not make it one.
    if (!this.shouldExit) this.retire = retire;
    this.shouldExit = true;
    this.wake?.();
  }

  /** --limit-max-requests reached: stop, unless the caller (a worker of a supervisor) decides. */
  private stopBySelf(): void {
    const hook = this.options.hooks?.onMaxRequests;
    if (hook) hook();
    else this.requestShutdown();
  }

  /**
   * Serve until stopped; resolves with the exit code (3 when the app fails to load or start). Errors no code caught (a throw in the app's
   * timer, a promise it never awaited) are logged and the server serves on, as uvicorn's event loop
   * does ("Task exception was never retrieved"): by default each runtime would end the process, and
   * with it every request in flight, with exit code 1, which deploy/systemd reads as a bad config.
   */
  async serve(): Promise<number> {
    const off = this.adapter.onStrayError?.((kind, error) =>
      this.logger.exception(
        kind === "rejection" ? "Unhandled promise rejection" : "Uncaught exception",
        error,
      ),
    );
    try {
      return await this.serveApp();
    } finally {
      off?.();
    }
  }

  private async serveApp(): Promise<number> {
    this.logger.info(`Started server process [${this.adapter.pid}]`);
    const app = await this.startApp();
    if (typeof app === "number") return app;
    if (this.shouldExit) return this.shutdownHooks(app);

    const serving = await this.listen(app);
    if (typeof serving === "number") return serving;
    const { running, state, websockets } = serving;
    this.running = running;
    this.started = true;
    void this.runFrameworkHooks(app.frameworkHooks?.started(), "onStart");
    if (app.onListen) void this.runFrameworkHooks([() => app.onListen?.(running.address)], "onListen");
    if (this.options.announce !== false) {
      this.logger.info(
        `tsuv running on ${describeAddress(running.address, running.scheme)} (Press CTRL+C to quit)`,
      );
    }
    this.options.hooks?.onReady?.(running.address);

    await this.mainLoop();
    await drain({
      running,
      state,
      websockets,
      logger: this.logger,
      limitSeconds:
        this.options.drainLimitSeconds ?? this.config.timeoutGracefulShutdown ?? DEFAULT_DRAIN_CAP_SECONDS,
      retire: this.retire,
      forced: () => this.forceExit,
    });
    await this.runFrameworkHooks(app.frameworkHooks?.stopped(), "onStop");
    return this.shutdownHooks(app);
  }

  /**
   * The framework's own start or stop hooks (LoadedApp.frameworkHooks: Elysia's onStart, onStop),
   * called in order, as its listen() and stop() call them. A hook that throws or rejects is logged
   * and the others still run. None stops the server (a failing lifespan startup would): under the
   * framework's own listen() a failing onStart does not either. Stop hooks are awaited, so an async
   * one (closing a pool) finishes before the process ends; start hooks are not, as there.
   */
  private runFrameworkHooks(hooks: (() => unknown)[] | undefined, name: string): Promise<unknown> {
    if (!hooks?.length) return Promise.resolve();
    const failed = (error: unknown) => this.logger.exception(`Exception in the app's ${name} hook`, error);
    const results = hooks.map((hook) => {
      try {
        return Promise.resolve(hook()).catch(failed);
      } catch (error) {
        failed(error);
        return undefined;
      }
    });
    return Promise.all(results);
  }

  private get sayAppWarnings(): boolean {
    return this.options.appWarnings !== false;
  }

  /** Imports the app and runs its startup hook; an exit code when that fails or a stop forces. */
  private async startApp(): Promise<LoadedApp | number> {
    try {
      const started = await this.unlessForced(async () => {
        this.loading = true;
        // Signals reach a thread worker's app never, so it is not asked about them.
        const appStopListeners = checkAppStopListeners(
          this.options.inThread ? undefined : this.adapter.signalListenerCount?.bind(this.adapter),
        );
        let loaded: LoadedApp;
        try {
          loaded = await loadApp(
            this.config,
            this.adapter,
            this.logger,
            this.sayAppWarnings,
            this.options.given,
          );
        } finally {
          this.loading = false;
        }
        this.options.hooks?.onLoaded?.();
        await this.startup(loaded);
        const warning = appStopListeners.warning(loaded.detectedBy);
        if (warning && this.sayAppWarnings) this.logger.warning(warning);
        return loaded;
      });
      if (started === null) {
        // The import or the hook may still be running; the process (or thread) ends with this
        // return. A stop during the import said so already.
        if (!this.loading) this.logger.warning("Forced exit during application startup.");
        // Every "Started server process" line gets its "Finished" one: log readers pair them by
        // pid (a worker stopped while it loaded, by a scale-down or a supervisor's stop, said only
        // the first).
        return this.finished();
      }
      return started;
    } catch (error) {
      return this.reportFatal(error);
    }
  }

  /**
   * Wraps the app in tsuv's request handling (fetch or node interface) and its WebSocket hooks,
   * and listens; an exit code when that fails (TLS files, a port in use).
   */
  private async listen(app: LoadedApp): Promise<Serving | number> {
    try {
      const tls = await loadTlsMaterial(this.config);
      const { state, websockets, handler } =
        app.interface === "fetch" && app.fetch
          ? await this.fetchHandling(app, app.fetch)
          : await this.nodeHandling(app);
      const running = await this.adapter.serve({
        ...this.serveBase(tls),
        ...handler,
        websocket: websockets?.serveOptions(),
      });
      if (websockets && !running.nativeKeepalive) websockets.startKeepalive();
      if (app.setServer)
        app.setServer(running.appServer ?? portableAppServer(running.address, running.scheme));
      return { running, state, websockets };
    } catch (error) {
      return this.reportFatal(error instanceof TsuvError ? error : new ConfigError(errorMessage(error)));
    }
  }

  /** A fetch app behind tsuv's request handling, and its WebSocket hooks. */
  private async fetchHandling(app: LoadedApp, appFetch: FetchHandler): Promise<Handling> {
    const { logger } = this;
    if (this.config.ws === "bun" && !this.websocketHooks(app)) {
      throw new ConfigError(
        "--ws bun: the app exports no `websocket` object beside fetch: the handlers Bun.serve takes (open, message, close), such as hono/bun's `websocket`.",
      );
    }
    const built = createRequestHandler(
      this.config,
      appFetch,
      logger,
      () => this.stopBySelf(),
      { ...this.adapter.info.capabilities, unsendableResponse: this.adapter.unsendableResponse },
      app.websocket || this.config.ws === "none" ? undefined : unservedHooksWarning(logger),
    );
    const rooted = this.config.rootPath ? withRootPath(built.handler, this.config.rootPath) : built.handler;
    return {
      state: built.state,
      websockets: await this.websocketLayer(app, built.state),
      handler: {
        fetch: this.config.ws === "none" ? (await loadWebSocket()).warnOnUpgrade(rooted, logger) : rooted,
        // --limit-concurrency holds a slot until the response is done (request-handler.ts).
        trackCompletion: built.state.concurrency !== null,
      },
    };
  }

  /** A node-interface app behind tsuv's request handling, and its WebSocket hooks. */
  private async nodeHandling(app: LoadedApp): Promise<Handling> {
    if (this.config.ws === "bun") {
      throw new ConfigError(
        "--ws bun serves a fetch app's Bun.serve handlers; this app has the node interface (its upgrades go to node:http). Use --ws auto.",
      );
    }
    // A node app's own upgrade handler wins over its hooks: it owns its sockets.
    const nodeUpgrade = this.config.ws === "none" ? undefined : app.nodeUpgrade;
    const { createNodeAppHandler } = await import("./node-app-handler.ts");
    const built = createNodeAppHandler(
      this.config,
      app.node as NodeRequestListener,
      this.logger,
      () => this.stopBySelf(),
      app.middleware,
    );
    return {
      state: built.state,
      websockets: nodeUpgrade ? null : await this.websocketLayer(app, built.state),
      handler: { node: built.listener, nodeUpgrade },
    };
  }

  private serveBase(tls: TlsMaterial | undefined) {
    return {
      listen: this.options.listen ?? listenTargetFromConfig(this.config),
      backlog: this.config.backlog,
      tls,
      // uvicorn's 0 closes an idle connection at once; to node:http and Bun.serve 0 means never.
      keepAliveTimeoutMs: Math.max(1, this.config.timeoutKeepAlive * 1000),
      onError: (error: unknown) => this.logger.debug(`Connection error: ${errorMessage(error)}`),
      // After the handler returned: the client got a cut response (or a 500), the app should know.
      onResponseError: (error: unknown) =>
        this.logger.exception("Exception while sending the response", error),
      onListenerLost: (error: unknown, retryMs: number, stage: ListenerLossStage) =>
        this.logger.error(
          `${stage === "accept" ? "Stopped accepting connections" : "Could not listen again"}: ${errorMessage(error)}.${openFileHint(error)} Trying again in ${retryMs / 1000} s.`,
        ),
      onListenerRestored: () => this.logger.info("Accepting connections again."),
    };
  }

  /** The app's WebSocket hooks, served unless --ws none; open sockets count against the limits. */
  private async websocketLayer(
    app: LoadedApp,
    state: HandlerState | NodeAppState,
  ): Promise<WebSocketLayer | null> {
    const hooks = this.websocketHooks(app);
    if (!hooks) return null;
    this.logger.debug(
      this.config.ws === "bun"
        ? "Serving the app's websocket handlers as Bun.serve's own (--ws bun)."
        : "Serving the app's WebSocket hooks.",
    );
    // Asked for an upgrade's hooks (h3's routes), fetch gets the same third argument as for requests.
    const fetch = app.fetch && "background" in state ? state.background.passContext(app.fetch) : app.fetch;
    return (await loadWebSocket()).createWebSocketLayer(this.config, hooks, this.logger, state, fetch);
  }

  /** The app's `websocket`, or under --ws bun its framework's Bun handlers (Elysia's); none for --ws none. */
  private websocketHooks(app: LoadedApp): WebSocketHooks | undefined {
    if (this.config.ws === "none") return undefined;
    return app.websocket ?? (this.config.ws === "bun" ? app.frameworkWebSocket : undefined);
  }

  /**
   * `work` (loading the app, its startup hook), or null as soon as a shutdown is forced: a hook
   * that hangs (a database that never answers) must not make a second CTRL+C useless.
   */
  private async unlessForced<T>(work: () => Promise<T>): Promise<T | null> {
    this.starting = true;
    try {
      return await Promise.race([
        work(),
        new Promise<null>((resolve) => {
          this.onForced = () => resolve(null);
        }),
      ]);
    } finally {
      this.starting = false;
      this.onForced = null;
    }
  }

  private async startup(app: LoadedApp): Promise<void> {
    const mode = this.config.lifespan;
    if (mode === "off") return;
    if (!app.startup && !app.shutdown) {
      if (mode === "on") {
        this.logger.error("The app has no startup()/shutdown() hooks, but --lifespan on requires them.");
        throw new StartupFailure();
      }
      return;
    }
    this.logger.info("Waiting for application startup.");
    try {
      await app.startup?.();
    } catch (error) {
      // One line by default (the message); the stack at --log-level debug.
      this.logger.error(`Exception in application startup: ${errorMessage(error)}`);
      if (error instanceof Error && error.stack) this.logger.debug(error.stack);
      throw new StartupFailure();
    }
    this.logger.info("Application startup complete.");
  }

  private async shutdownHooks(app: LoadedApp): Promise<number> {
    if (this.config.lifespan !== "off" && (app.startup || app.shutdown)) {
      this.logger.info("Waiting for application shutdown.");
      try {
        await app.shutdown?.();
        this.logger.info("Application shutdown complete.");
      } catch (error) {
        this.logger.exception("Exception in application shutdown", error);
      }
    }
    return this.finished();
  }

  private finished(): number {
    this.logger.info(`Finished server process [${this.adapter.pid}]`);
    return EXIT.ok;
  }

  private reportFatal(error: unknown): number {
    if (error instanceof TsuvError) {
      this.logger.error(error.message);
      if (error.detail) this.logger.debug(error.detail);
      return error.exitCode;
    }
    this.logger.exception("Unexpected error while starting", error);
    return EXIT.app;
  }

  /**
   * Wait for a stop; with an onTick hook (a thread worker's heartbeat), tick once a second meanwhile. A
   * single server has nothing to do on a timer (the date header keeps itself: default-headers.ts),
   * so it sleeps until asked to stop: an idle uvicorn wakes ten times a second, and tsuv's servers
   * woke once (Deno 2.9.6 spends ~0.6 ms of CPU on each timer's wake).
   */
  private async mainLoop(): Promise<void> {
    const onTick = this.options.hooks?.onTick;
    while (!this.shouldExit) {
      await new Promise<void>((done) => {
        // The adapter's timer, not setTimeout: on Deno that would cost 10-14 ms of start-up.
        const cancel = onTick ? this.adapter.after(SERVER_TICK_MS, done) : undefined;
        this.wake = () => {
          cancel?.();
          done();
        };
      });
      this.wake = null;
      if (this.shouldExit) break;
      onTick?.();
    }
  }
}
