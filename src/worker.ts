/**
 * The worker entry: one Server inside a thread or a child process that a supervisor started.
 * - Thread workers run this module itself (Bun, Deno: src/worker.ts; Node: dist/worker.mjs).
 * - Process workers are tsuv re-run with TSUV_WORKER_BOOT set; src/cli.ts then calls runWorker().
 * The worker resolves the same Config from the parent's argv, serves on the listen target the boot
 * names, and speaks the supervisor protocol: `ready` once listening, `heartbeat` from its event
 * loop, `pong` for each `ping` (from the event loop too, so a handler stuck in `while (true) {}`
 * fails the healthcheck), a graceful stop on `stop`, and `fatal` when it cannot start.
 */
import { type Config, resolveConfig, threadShutdownTimeout } from "./config.ts";
import { EXIT, errorMessage, TsuvError } from "./errors.ts";
import { type Logger, loggerFromConfig } from "./logging.ts";
import type { RuntimeAdapter, SupervisorChannel } from "./runtime/adapter.ts";
import { prepareBuiltins } from "./runtime/builtin.ts";
import { isWorkerThread, prepareThread } from "./runtime/plumbing.ts";
import { SERVER_TICK_MS, Server, type ServerOptions } from "./server.ts";

/**
 * A process worker whose supervisor is gone exits within this long after noticing (as its IPC
 * channel closes, or on Deno its parent pipe: plumbing.ts, watchParent): it must not keep serving,
 * unsupervised and with old code, so its drain is cut short.
 */
export const ORPHAN_EXIT_MS = 1000;

/**
 * A thread worker's drain ends this long before its supervisor terminates it. The supervisor
 * terminates a stopping thread at exactly threadShutdownTimeout (the seed's), which equals the
 * drain limit the server would use itself (or is shorter: the healthcheck timeout against the 30 s
 * cap), so the server's own cut-off, which logs what it cuts, lost that race and the requests cut
 * went unnamed (issue #8, fault case 5).
 */
export const THREAD_DRAIN_MARGIN_SECONDS = 0.25;

/** The drain limit for a thread worker (undefined for a process worker: the config's own). */
export function threadDrainLimitSeconds(config: Config, thread: boolean): number | undefined {
  if (!thread) return undefined;
  return Math.max(0, threadShutdownTimeout(config) - THREAD_DRAIN_MARGIN_SECONDS);
}

/** What runWorker needs of a Server (tests pass a fake). */
export interface WorkerServer {
  readonly started: boolean;
  serve(): Promise<number>;
  requestShutdown(force?: boolean, retire?: boolean): void;
  /** Server.connections/shed: the supervisor's connection balance (src/supervisors/balance.ts). */
  connections?(): number | undefined;
  shed?(count: number): void;
}

export interface WorkerDeps {
  createServer?: (
    config: Config,
    adapter: RuntimeAdapter,
    logger: Logger,
    options: ServerOptions,
  ) => WorkerServer;
  createLogger?: (config: Config) => Logger;
  /** A thread worker (no signals: the process's signals belong to its supervisor). */
  thread?: boolean;
}

/** Heartbeats go out at least four times per healthcheck timeout, and at least once a second. */
export function heartbeatIntervalMs(timeoutWorkerHealthcheck: number): number {
  return Math.max(10, Math.min(1000, (timeoutWorkerHealthcheck * 1000) / 4));
}

async function defaultLogger(config: Config): Promise<Logger> {
  const { processIO } = await import("./runtime/index.ts");
  return loggerFromConfig(config, processIO());
}

/** Run one supervised worker; resolves with its exit code (the caller exits with it). */
export async function runWorker(adapter: RuntimeAdapter, deps: WorkerDeps = {}): Promise<number> {
  const channel = adapter.supervisorChannel();
  if (!channel) throw new Error("tsuv worker: not started by a tsuv supervisor");
  let config: Config;
  try {
    config = resolveConfig(channel.boot.argv, adapter.env, { runtime: adapter.info });
  } catch (error) {
    const exitCode = error instanceof TsuvError ? error.exitCode : EXIT.config;
    channel.send({ type: "fatal", exitCode, message: errorMessage(error) });
    return exitCode;
  }
  const logger = deps.createLogger ? deps.createLogger(config) : await defaultLogger(config);
  const beats: BeatState = { sheds: 0 };
  // Set below: the server's tick that sends heartbeats is wired before the server exists.
  let server: WorkerServer | undefined;
  const heartbeat = () => {
    beats.tickBeatAt = performance.now();
    sendHeartbeat(channel, server, beats);
  };
  const thread = deps.thread ?? isWorkerThread();
  const options: ServerOptions = {
    listen: channel.boot.listen,
    announce: false,
    drainLimitSeconds: threadDrainLimitSeconds(config, thread),
    inThread: thread,
    appWarnings: channel.boot.appWarnings !== false,
    hooks: {
      // A thread's heartbeats come from the server's tick; a process worker's with its pongs (speak()).
      onTick: thread ? heartbeat : undefined,
      onReady: (address) => channel.send({ type: "ready", address }),
    },
  };
  // Serve on until the supervisor's replacement is ready and it retires this worker (WorkerBoot).
  if (channel.boot.recycle)
    options.hooks = { ...options.hooks, onMaxRequests: () => channel.send({ type: "recycle" }) };
  server = deps.createServer
    ? deps.createServer(config, adapter, logger, options)
    : new Server(config, adapter, logger, options);
  const cleanup = speak(channel, server, adapter, logger, config, thread, beats);
  try {
    const code = await server.serve();
    if (code !== EXIT.ok && !server.started) {
      channel.send({ type: "fatal", exitCode: code, message: `worker could not start (exit code ${code})` });
    }
    return code;
  } finally {
    cleanup();
    logger.flush();
  }
}

/** What the heartbeats carry and when they went: shared by the server's tick and speak()'s timer. */
interface BeatState {
  /** How many "shed" messages this worker has received (see WorkerMessage "heartbeat"). */
  sheds: number;
  /** When the server's tick last sent one (performance.now()); undefined before its first. */
  tickBeatAt?: number;
}

/** A heartbeat, with the connection count the supervisor balances where the server has one. */
function sendHeartbeat(channel: SupervisorChannel, server: WorkerServer | undefined, beats: BeatState): void {
  const connections = server?.connections?.();
  channel.send(
    connections === undefined
      ? { type: "heartbeat" }
      : { type: "heartbeat", connections, sheds: beats.sheds },
  );
}

/** Wire the supervisor protocol and, in a process worker, signals and orphan detection. */
function speak(
  channel: SupervisorChannel,
  server: WorkerServer,
  adapter: RuntimeAdapter,
  logger: Logger,
  config: Config,
  thread: boolean,
  beats: BeatState,
): () => void {
  const intervalMs = heartbeatIntervalMs(config.timeoutWorkerHealthcheck);
  const beat = thread
    ? threadBeats(channel, server, beats, intervalMs)
    : processBeats(channel, server, beats, intervalMs);
  channel.onMessage((message) => {
    if (message.type === "ping") {
      channel.send({ type: "pong", id: message.id });
      beat.pinged();
    } else if (message.type === "stop") server.requestShutdown(false, message.retire === true);
    else if (message.type === "shed") {
      beats.sheds++;
      server.shed?.(message.count);
    }
  });
  const unsubscribe: (() => void)[] = [];
  if (!thread) {
    // Ctrl+C reaches the whole process group: stop as the supervisor will ask; a second Ctrl+C forces.
    // Counted here, not taken from the server's state: the supervisor's own `stop` for the same
    // Ctrl+C may arrive first, and must not make this first SIGINT look like a second one.
    let sigints = 0;
    unsubscribe.push(adapter.onSignal("SIGINT", () => server.requestShutdown(++sigints > 1)));
    unsubscribe.push(adapter.onSignal("SIGTERM", () => server.requestShutdown()));
    unsubscribe.push(adapter.onSignal("SIGBREAK", () => server.requestShutdown()));
    // A hangup of the whole process group (a terminal closing, `kill -HUP -PGID`) reaches the
    // workers too. The supervisor answers it with a rolling restart (or a reload), which stops
    // this worker gracefully; dying of it now, the default, would cut the requests in flight.
    unsubscribe.push(adapter.onSignal("SIGHUP", () => {}));
  }
  channel.onDisconnect(() => {
    logger.warning(`Parent process went away; stopping server process [${adapter.pid}].`);
    server.requestShutdown();
    // An orphan must not keep serving (old code, no supervision): exit even if draining is slow.
    setTimeout(() => {
      logger.flush();
      adapter.exit(EXIT.ok);
    }, ORPHAN_EXIT_MS);
  });
  return () => {
    beat.stop();
    for (const off of unsubscribe) off();
  };
}

/** Who sends a worker's heartbeats besides the server's tick (a thread's) or its pongs (a process's). */
interface BeatTimer {
  /** A ping came (and its pong went). */
  pinged(): void;
  stop(): void;
}

/**
 * A thread worker: the server's own tick sends one heartbeat a second while it serves. This timer
 * sends them while it does not (the app's import and startup hook, a drain) and, for healthcheck
 * timeouts short enough to want more than one a second, all the time. Beside a beating tick it
 * stays quiet.
 */
function threadBeats(
  channel: SupervisorChannel,
  server: WorkerServer,
  beats: BeatState,
  intervalMs: number,
): BeatTimer {
  const tickCovers = intervalMs >= SERVER_TICK_MS;
  const timer = setInterval(() => {
    const last = beats.tickBeatAt;
    if (tickCovers && last !== undefined && performance.now() - last < SERVER_TICK_MS * 1.5) return;
    sendHeartbeat(channel, server, beats);
  }, intervalMs);
  return { pinged() {}, stop: () => clearInterval(timer) };
}

/**
 * A process worker: its supervisor pings it every 0.5 s while it serves, and each ping wakes its
 * event loop anyway, so a heartbeat that is due goes out with the pong, and the timer, pushed back
 * by every ping, fires only while no pings come (the app's import and startup hook, a drain, an
 * orphan). An idle process worker used to wake for a tick and a timer of its own besides: three
 * wakes a second where two do.
 */
function processBeats(
  channel: SupervisorChannel,
  server: WorkerServer,
  beats: BeatState,
  intervalMs: number,
): BeatTimer {
  let lastBeat = Number.NEGATIVE_INFINITY;
  const beat = () => {
    lastBeat = performance.now();
    sendHeartbeat(channel, server, beats);
  };
  const timer = setTimeout(function quiet() {
    beat();
    timer.refresh();
  }, intervalMs);
  return {
    pinged() {
      // Three quarters: with pings 0.5 s apart, every other one carries a heartbeat (one a second).
      if (performance.now() - lastBeat >= intervalMs * 0.75) beat();
      timer.refresh();
    },
    stop: () => clearTimeout(timer),
  };
}

async function threadMain(): Promise<void> {
  // The supervisor's process.argv, and the runtime's preloads that it ran in the main thread only.
  await prepareThread();
  const { loadAdapter } = await import("./runtime/index.ts");
  const adapter = await loadAdapter();
  adapter.exit(await runWorker(adapter, { thread: true }));
}

// As a thread's entry module, run. Imported by src/cli.ts (process workers), do nothing here.
// isWorkerThread() loads node:worker_threads lazily, which on Node 20.12-20.15 needs
// prepareBuiltins() first (builtin.ts).
prepareBuiltins()
  .then(() => (isWorkerThread() ? threadMain() : undefined))
  .catch((error) => {
    console.error(`Error: ${errorMessage(error)}`);
    // Exit code 1 as a last resort: the error escaped every handler (this ends only the thread).
    (globalThis as { process?: { exit(code: number): void } }).process?.exit(EXIT.config);
  });
