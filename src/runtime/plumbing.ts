/**
 * Worker plumbing shared by the three runtime adapters: thread workers, process workers and the
 * worker's channel back to its supervisor, over the process basics (pid, environment, signals,
 * exit: process-basics.ts, or Deno's own in deno-process.ts).
 *
 * One implementation serves Node.js, Bun and Deno because all three implement the node:process,
 * node:child_process ('ipc' stdio) and node:worker_threads APIs this file uses. Threads use
 * node:worker_threads, not Web Workers, on every runtime (measured, Bun 1.4.5 / Deno 2.9.6):
 * - it reports an exit event with the exit code on all three (Deno's Web Worker has no exit event,
 *   and Bun's `close` event says 0 whatever the code);
 * - an uncaught exception ends only that worker (in Deno, an uncaught error in a Web Worker also
 *   kills the parent process unless every error event is cancelled);
 * - process.exit(code) inside it ends only the thread, with that code;
 * - workerData carries the boot synchronously (Bun ignores the Web Worker `name` option).
 * terminate() of a worker stuck in `while (true) {}` ends it on Node and Bun; on Deno the exit event
 * fires but the thread keeps spinning and its reusePort listener stays bound (denoland/deno PR
 * #35657, still open): docs/workers.md tells Deno users to prefer process workers.
 */
import type { ChildProcess, StdioOptions } from "node:child_process";
import type {
  RuntimeAdapter,
  SharedSocket,
  SupervisorChannel,
  WorkerBoot,
  WorkerMessage,
  WorkerPort,
} from "./adapter.ts";
import { nodeChildProcess as childProcess, lazyBuiltin, nodeProcess } from "./builtin.ts";
import { type RuntimeInfo, versionAtLeast } from "./detect.ts";
import { withChildInspectorPort } from "./inspector-port.ts";
import { nodeProcessBasics, type ProcessBasics } from "./process-basics.ts";
import { enterStartDirectory, startDirectory } from "./start-directory.ts";
import { importPreloads, type Preload } from "./thread-preloads.ts";

type WorkerThreadsModule = typeof import("node:worker_threads");

/**
 * node:child_process and node:worker_threads are loaded on first use (builtin.ts): a single server
 * never starts a worker and its main thread never needs them (Bun 1.4.5: ~2-3 ms for child_process
 * and ~3-10 ms for worker_threads at start-up; Deno 2.9: ~3.5 ms together). node:process too:
 * Deno's adapter brings its own pid, env, signals and exit (deno-process.ts), so that a single
 * server on Deno loads no node:* module.
 */
const workerThreads = lazyBuiltin<WorkerThreadsModule>("node:worker_threads");
/** node:url for ownCliEntry's path, only when the library's run() re-runs tsuv. */
const nodeUrl = lazyBuiltin<typeof import("node:url")>("node:url");

/** The process basics (whichever the runtime brings) and the workers over them. */
export type Plumbing = ProcessBasics &
  Pick<RuntimeAdapter, "startThread" | "spawnProcess" | "supervisorChannel">;

/** The environment variable that makes a tsuv process a worker (its value: JSON of WorkerBoot). */
export const WORKER_BOOT_ENV = "TSUV_WORKER_BOOT";

/** The fd a process worker finds its parent's listening socket on (stdio: 0-2, 3 = ipc, 4). */
export const CHILD_SOCKET_FD = 4;

/** workerData key that marks a thread as a tsuv worker (and carries its boot). */
const THREAD_BOOT_KEY = "tsuvWorkerBoot";

export interface PlumbingOptions {
  /** The module a thread worker runs. Default: src/worker.ts from source, dist/worker.mjs in the bundle. */
  threadEntry?: URL;
  /** The command that re-runs tsuv as a process worker. Default: see processCommand(). */
  processCommand?: { file: string; args: string[] };
  /** pid, env, signals and exit. Default: node:process's (Node, Bun); Deno passes its own. */
  processBasics?: ProcessBasics;
  /**
   * Given where the runtime's node:child_process may end a process worker's IPC channel without
   * 'disconnect' when the parent dies: the supervisor then gives each process worker a pipe as its
   * stdin (WorkerBoot.parentPipe), and this resolves once the worker reads that pipe's end. Deno
   * 2.9.6: the channel's read loop says nothing when it ends on a read error (ECONNRESET: the
   * parent died with the worker's heartbeats unread) rather than at EOF (denoland/deno#35961,
   * open). Measured with 4 process workers and the parent SIGKILLed, without a check of its own:
   * Deno's workers stayed up for good in 2 of 6 idle starts and 2 of 5 under load, where Node 20,
   * Node 24 and Bun 1.4.5 got 'disconnect' every time (15 starts each). A pipe's end costs nothing
   * while it waits, where polling the parent pid four times a second was a tenth of an idle process
   * worker's CPU.
   */
  parentPipeEnd?: () => Promise<void>;
  /**
   * The modules this runtime preloads in its main thread but not in a thread (thread-preloads.ts):
   * a Bun thread gets them by Worker's `preload` option, a Deno thread in its boot. Node runs its
   * own in every thread.
   */
  threadPreloads?: () => Preload[];
}

export function createPlumbing(info: RuntimeInfo, options: PlumbingOptions = {}): Plumbing {
  let channel: SupervisorChannel | null | undefined;
  return {
    ...(options.processBasics ?? nodeProcessBasics(info)),
    startThread: (boot) =>
      startThread(options.threadEntry ?? defaultThreadEntry(), boot, info, options.threadPreloads),
    spawnProcess: (boot, shared) =>
      spawnProcess(options.processCommand ?? processCommand(info), boot, shared, !!options.parentPipeEnd),
    supervisorChannel: () => {
      // Cached: the listeners it installs must be installed once.
      if (channel === undefined) channel = threadChannel() ?? processChannel(options.parentPipeEnd);
      return channel;
    },
  };
}

/** True inside a thread that tsuv started as a worker (the thread entry runs only then). */
export function isWorkerThread(): boolean {
  const { isMainThread, parentPort } = workerThreads();
  return !isMainThread && parentPort !== null && bootFromWorkerData() !== undefined;
}

/**
 * In a tsuv thread, before anything else: its supervisor's process.argv (a thread's own is the
 * runtime and tsuv's worker module), and the preloads its boot carries (Deno's: thread-preloads.ts).
 */
export async function prepareThread(): Promise<void> {
  const boot = bootFromWorkerData();
  if (boot?.processArgv !== undefined)
    nodeProcess().argv.splice(1, Number.POSITIVE_INFINITY, ...boot.processArgv.slice(1));
  if (boot?.preloads !== undefined) await importPreloads(boot.preloads, startDirectory());
}

function bootFromWorkerData(): WorkerBoot | undefined {
  const data = workerThreads().workerData as Record<string, unknown> | null | undefined;
  return data && typeof data === "object" ? (data[THREAD_BOOT_KEY] as WorkerBoot | undefined) : undefined;
}

function defaultThreadEntry(): URL {
  // From source (Bun, Deno) this file is src/runtime/plumbing.ts and the entry is src/worker.ts.
  // In the Node bundle this code lives in dist/cli-bundle.mjs (or dist/index.mjs) and the entry is
  // the sibling dist/worker.mjs, which scripts/build-node.mjs builds from src/worker.ts; in Deno's
  // and Bun's builds, a chunk of dist/deno/ or dist/bun/ beside its worker.mjs.
  const here = import.meta.url;
  // In a `bun build --compile src/cli.ts src/worker.ts` binary every module's URL is the binary's
  // own (file:///$bunfs/root/tsuv), and Bun documents the embedded worker as addressed by its
  // source path relative to the main entry: ./worker.ts. (./worker.mjs happens to resolve too, by
  // Bun's extension rewriting; do not depend on that.)
  if (isCompiledBunUrl(here)) return new URL("./worker.ts", here);
  return here.endsWith(".ts") ? new URL("../worker.ts", here) : new URL("./worker.mjs", here);
}

/** Is this module URL inside a `bun build --compile` binary's embedded filesystem? */
export function isCompiledBunUrl(url: string): boolean {
  return url.startsWith("file:///$bunfs/") || /^file:\/\/\/[A-Za-z]:\/~BUN\//.test(url);
}

/** Listener registry shared by both WorkerPort kinds: exit fires once, even if reported twice. */
class PortEvents {
  private readonly messageListeners: ((message: WorkerMessage) => void)[] = [];
  private readonly exitListeners: ((code: number | null) => void)[] = [];
  exited = false;

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }
  onExit(listener: (code: number | null) => void): void {
    this.exitListeners.push(listener);
  }
  message(message: unknown): void {
    if (!isWorkerMessage(message)) return;
    for (const listener of this.messageListeners) listener(message);
  }
  exit(code: number | null): void {
    if (this.exited) return;
    this.exited = true;
    for (const listener of this.exitListeners) listener(code);
  }
}

function isWorkerMessage(value: unknown): value is WorkerMessage {
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

let threadOutputGuarded = false;

/**
 * On Node and Bun a thread's console output reaches the terminal through this process's
 * stdout/stderr streams. Where one is a pipe whose reader has gone (EPIPE: a log shipper that
 * died), that stream emits 'error', and with no listener Bun exits 1 at the first line a thread
 * writes: `--workers 2 --worker-class thread 2> (a closed pipe)` died at start-up (Bun 1.4.5).
 * Such lines are dropped instead, as runtime/index.ts drops tsuv's own. (Deno's threads write to
 * the fds themselves.)
 */
function guardThreadOutput(info: RuntimeInfo): void {
  if (threadOutputGuarded || info.name === "deno") return;
  threadOutputGuarded = true;
  const process = nodeProcess();
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
}

function startThread(
  entry: URL,
  boot: WorkerBoot,
  info: RuntimeInfo,
  threadPreloads: (() => Preload[]) | undefined,
): WorkerPort {
  const events = new PortEvents();
  guardThreadOutput(info);
  const { Worker } = workerThreads();
  // Threads share the process's working directory: the release a swapped symlink names now.
  enterStartDirectory();
  // Read at each start, from the start directory: a thread started after a release swap preloads
  // the release's files, as a process worker started there would.
  const preloads = threadPreloads?.() ?? [];
  const native = info.name === "bun" && preloads.length > 0;
  const threadBoot: WorkerBoot = {
    ...boot,
    processArgv: nodeProcess().argv,
    ...(preloads.length > 0 && !native ? { preloads } : {}),
  };
  const worker = new Worker(entry, {
    workerData: { [THREAD_BOOT_KEY]: threadBoot },
    ...(native ? { preload: preloads.map((preload) => preload.specifier) } : {}),
  } as import("node:worker_threads").WorkerOptions);
  worker.on("message", (message) => events.message(message));
  // Without an 'error' listener an uncaught exception in the thread would be rethrown here, in the
  // supervisor. Node and Bun print nothing for it (Deno prints it itself), so print it as a child
  // process's would be; the 'exit' event follows and the supervisor replaces the thread.
  worker.on("error", (error) => {
    if (info.name !== "deno")
      nodeProcess().stderr.write(`Uncaught exception in worker thread: ${describeError(error)}\n`);
  });
  worker.on("exit", (code) => events.exit(code));
  return {
    pid: undefined,
    send(message) {
      if (events.exited) return;
      try {
        worker.postMessage(message);
      } catch {
        // The thread is going away; its exit event reports it.
      }
    },
    onMessage: (listener) => events.onMessage(listener),
    onExit: (listener) => events.onExit(listener),
    kill() {
      if (events.exited) return;
      worker.terminate().catch(() => {});
    },
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

/**
 * The first Deno minor with --unstable-no-legacy-abort (denoland/deno#28371, merged March 2025, so
 * in 2.3.0 at the latest); an older Deno refuses an unknown flag outright.
 */
const DENO_NO_LEGACY_ABORT = [2, 3] as const;

/** Is this a `bun build --compile` binary? Then its script path is inside Bun's embedded filesystem. */
export function isCompiledBun(script: string | undefined): boolean {
  return script !== undefined && (script.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/.test(script));
}

/**
 * Set by the library's run() (index.ts): the process was started by a script of the user's, not by
 * tsuv's command, and that script calls run() again. Re-run as a process worker or a --reload child,
 * it made a supervisor of its own, which did the same: with `workers: 2`, 72 processes within 3.5 s
 * on Bun and nothing served; on Node and with `reload: true`, a child that failed to bind and
 * nothing served. Its children run tsuv's own command-line entry instead (ownCliEntry).
 */
let startedByLibrary = false;

export function respawnOwnEntry(on = true): void {
  startedByLibrary = on;
}

/**
 * tsuv's own command-line entry, found beside this module: src/cli.ts from the sources (a checkout,
 * Bun's `bun` export condition, JSR); dist/cli.mjs beside the Node bundle (dist/index.mjs, on Node
 * and Bun); dist/deno/cli.mjs where Deno runs that bundle from npm; and in dist/bun/ or dist/deno/,
 * their own cli.mjs. A path for a file URL, the URL itself otherwise (a remote module on Deno).
 */
export function ownCliEntry(info: RuntimeInfo, here: string = import.meta.url): string {
  const inOwnBuild = /\/dist\/(bun|deno)\/[^/]+$/.test(here);
  const entry = here.endsWith(".ts")
    ? new URL("../cli.ts", here)
    : new URL(info.name === "deno" && !inOwnBuild ? "./deno/cli.mjs" : "./cli.mjs", here);
  if (entry.protocol !== "file:") return entry.href;
  return nodeUrl().fileURLToPath(entry);
}

/**
 * How to re-run this same tsuv: the same runtime executable with the same runtime flags
 * (RuntimeCapabilities.respawn; an inspector moved to a port of the child's own) and the same entry
 * script, never a `node`/`bun` found on PATH. The script is the one the command was started with,
 * as typed (a deploy that swaps a `current` symlink gets its new release's tsuv on SIGHUP), or, in a
 * process the library's run() serves from, tsuv's own (ownCliEntry). A compiled Bun binary is its
 * own entry.
 */
export function processCommand(info: RuntimeInfo): { file: string; args: string[] } {
  const process = nodeProcess();
  const script = startedByLibrary ? ownCliEntry(info) : process.argv[1];
  if (info.name === "bun" && isCompiledBun(script)) return { file: process.execPath, args: [] };
  if (script === undefined) throw new Error("cannot re-run tsuv: no entry script in process.argv");
  const respawn = info.capabilities.respawn;
  // Refused with its reason while the configuration is read (config.ts); not reached then.
  if (!respawn.ok) throw new Error(`cannot re-run tsuv: it ${respawn.reason}`);
  const runtimeArgs = withChildInspectorPort(info.name, respawn.runtimeArgs, {
    parentPort: process.debugPort,
    nodeOptions: process.env.NODE_OPTIONS ?? "",
  });
  if (info.name === "deno") {
    // The parent's flags as typed; its deno.json is found again from the script's path. The
    // unstable net API (reusePort) is added in case it came from a config the child does not find.
    // No-legacy-abort (request.signal aborts only for a client that left, as on Node and Bun; see
    // deno.json) may come from deno.json alone, so a Deno that knows the flag always gets it.
    // Deno takes a flag given twice.
    const unstable = info.capabilities.unstableNet ? ["--unstable-net"] : [];
    if (versionAtLeast(info.version, DENO_NO_LEGACY_ABORT)) unstable.push("--unstable-no-legacy-abort");
    return { file: process.execPath, args: ["run", ...runtimeArgs, ...unstable, script] };
  }
  // Node reads `--env-file` from the whole command line, the script's arguments too, and exits 9
  // ("node: FILE: not found") when that file is missing (nodejs/node#54232): once the file a worker
  // names was removed after start, every new worker died so, and a killed one was never replaced.
  // Its scan stops at `--`, which also ends Node's options: the script comes next, as before.
  if (info.name === "node") return { file: process.execPath, args: [...runtimeArgs, "--", script] };
  return { file: process.execPath, args: [...runtimeArgs, script] };
}

function spawnProcess(
  command: { file: string; args: string[] },
  boot: WorkerBoot,
  shared: SharedSocket | null,
  /** Give the child a pipe as stdin whose end tells it this process died (WorkerBoot.parentPipe). */
  parentPipe: boolean,
): WorkerPort {
  const events = new PortEvents();
  // The parent-bound socket travels as an inherited fd; the child sees it as CHILD_SOCKET_FD.
  const childBoot: WorkerBoot = {
    ...boot,
    ...(shared ? { listen: { kind: "fd", fd: CHILD_SOCKET_FD } } : {}),
    ...(parentPipe ? { parentPipe: true } : {}),
  };
  const stdio: StdioOptions = [parentPipe ? "pipe" : "ignore", "inherit", "inherit", "ipc"];
  if (shared) stdio.push(shared.fd);
  let child: ChildProcess;
  try {
    child = childProcess().spawn(command.file, [...command.args, ...boot.argv], {
      // The start directory as named ($PWD through a deploy's symlink), not the one it resolved to.
      cwd: startDirectory(),
      stdio,
      env: { ...nodeProcess().env, [WORKER_BOOT_ENV]: JSON.stringify(childBoot) },
    });
  } catch {
    queueMicrotask(() => events.exit(null));
    return { pid: undefined, send() {}, onMessage() {}, onExit: (l) => events.onExit(l), kill() {} };
  }
  // Never written to: it is held open until this process dies. An error (the child gone) is its exit's news.
  child.stdin?.on("error", () => {});
  child.on("message", (message) => events.message(message));
  child.on("exit", (code) => events.exit(code));
  // A failed spawn (ENOENT, EAGAIN) reports 'error' and may never report 'exit'.
  child.on("error", () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
      events.exit(child.exitCode);
  });
  return {
    pid: child.pid,
    send(message) {
      if (events.exited || !child.connected) return;
      // The callback swallows EPIPE from a child that is exiting; its exit event reports it.
      child.send(message, () => {});
    },
    onMessage: (listener) => events.onMessage(listener),
    onExit: (listener) => events.onExit(listener),
    kill() {
      if (events.exited) return;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    },
  };
}

function threadChannel(): SupervisorChannel | null {
  const { isMainThread, parentPort: port } = workerThreads();
  const boot = bootFromWorkerData();
  if (isMainThread || !port || !boot) return null;
  return {
    boot,
    send: (message) => port.postMessage(message),
    onMessage(listener) {
      port.on("message", (message: unknown) => {
        if (isWorkerMessage(message)) listener(message);
      });
    },
    // A thread cannot outlive its process: nothing to watch.
    onDisconnect() {},
  };
}

function processChannel(parentPipeEnd: (() => Promise<void>) | undefined): SupervisorChannel | null {
  const process = nodeProcess();
  const raw = process.env[WORKER_BOOT_ENV];
  if (raw === undefined || typeof process.send !== "function") return null;
  // Not inherited by whatever the app itself spawns.
  delete process.env[WORKER_BOOT_ENV];
  const boot = JSON.parse(raw) as WorkerBoot;
  // The parent as early as this process can read it: onDisconnect is wired only after the config
  // and the logger, and a parent that died before then had already made init (or a subreaper) the
  // parent, so comparing with the ppid read there never saw a change.
  const parent = process.ppid;
  return {
    boot,
    send(message) {
      if (process.connected) process.send?.(message, undefined, undefined, () => {});
    },
    onMessage(listener) {
      process.on("message", (message: unknown) => {
        if (isWorkerMessage(message)) listener(message);
      });
    },
    onDisconnect(listener) {
      const pipeEnd = boot.parentPipe && parentPipeEnd ? parentPipeEnd() : null;
      watchParent(process, parent, listener, pipeEnd);
    },
  };
}

/** What watchParent reads of node:process (a fake in tests). */
export interface ParentView {
  readonly connected: boolean;
  readonly ppid: number;
  once(event: "disconnect", listener: () => void): unknown;
}

/**
 * Call `listener` once when this process worker loses its parent: the IPC channel's 'disconnect'
 * and, where given, the end of the parent's pipe (PlumbingOptions.parentPipeEnd).
 */
export function watchParent(
  process: ParentView,
  parent: number,
  listener: () => void,
  pipeEnd: Promise<void> | null,
): void {
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    listener();
  };
  process.once("disconnect", fire);
  pipeEnd?.then(fire, fire);
  const orphaned = () => process.connected === false || process.ppid !== parent;
  // Gone already (a supervisor killed while this worker started): 'disconnect' was emitted
  // before the listener above, and would never come again. Such a worker stayed up for good,
  // serving on the inherited socket (a Node 20 worker, found after a full test run).
  if (orphaned()) queueMicrotask(fire);
}
