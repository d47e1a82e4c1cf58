/**
 * Picks the adapter for the runtime that is running, and the process-level I/O the entry points
 * need. The adapters are imported lazily so each runtime only evaluates its own file.
 *
 * Log output avoids process.stdout/process.stderr where the runtime allows, because building those
 * streams is a large part of start-up (measured, exec to first 200): Bun 1.4.5 builds a node stream
 * and loads node:tty (~12-18 ms), Deno 2.9.6 ~7 ms. Bun writes with its own console and Deno with
 * Deno.stdout.writeSync instead; both are synchronous, so lines keep their order with console.log
 * and with each other. Node.js keeps its streams: its stdout pipes are non-blocking (libuv), where
 * a synchronous write could fail with EAGAIN under load.
 */
import { deniedByPermissions } from "../errors.ts";
import type { DroppedLinesHandler } from "../logging.ts";
import type { RuntimeAdapter } from "./adapter.ts";
import { lazyBuiltin, nodeFs, nodeProcess, prepareBuiltins } from "./builtin.ts";
import { detectRuntime } from "./detect.ts";
import { type FileOutput, nodeFileWriter, nodeWriter } from "./node-output.ts";
import { posixResolve } from "./paths.ts";
import { startDirectory } from "./start-directory.ts";
import { webTimerAfter } from "./web-timer.ts";
import { writeAll } from "./write-all.ts";

export { startDirectory };

/** The part of Deno's API used here (declared locally so tsc and deno check agree on this file). */
interface DenoOutput {
  writeSync(bytes: Uint8Array): number;
  isTerminal(): boolean;
}
declare const Deno:
  | {
      stdout: DenoOutput;
      stderr: DenoOutput;
      statSync(path: string): unknown;
      args: string[];
      env: { get(key: string): string | undefined };
      cwd(): string;
      build: { os: string };
    }
  | undefined;

/**
 * node:process (builtin.ts) and node:path on first use too: on Deno neither is used (Deno.args,
 * Deno.env, paths.ts), so a single server there never starts Deno's Node compatibility layer.
 * node:path is for Windows paths only (resolvePath).
 */
const nodePath = lazyBuiltin<typeof import("node:path")>("node:path");

/**
 * The adapter for this runtime. Two specifiers are split in two ("./bun" + ".ts") on purpose:
 * before it runs anything, Deno reads every module that a static import or a literal import()
 * reaches, the other runtimes' adapters and every supervisor included, 112 of tsuv's files where a
 * single server runs 64. A concatenation is followed only when it runs. esbuild and Bun's bundler
 * fold it back into one literal, so the Node bundle and the binary still hold those modules, and
 * `typeof import()` keeps the types (Deno does not read a type-only import to run). Deno's own
 * adapter stays literal: Deno asks for read access to a module it did not see ahead of time, and a
 * single server needs --allow-read for the app only. Same form for the supervisors (run.ts) and a
 * process worker's entry (cli.ts), which a Deno worker runs only under -A.
 */
export async function loadAdapter(): Promise<RuntimeAdapter> {
  await prepareBuiltins();
  switch (detectRuntime().name) {
    case "bun":
      return ((await import("./bun" + ".ts")) as typeof import("./bun.ts")).createAdapter();
    case "deno":
      return (await import("./deno.ts")).createAdapter();
    default:
      return ((await import("./node" + ".ts")) as typeof import("./node.ts")).createAdapter();
  }
}

export interface ProcessIO {
  /** The user's arguments, without the runtime and script. */
  argv: string[];
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  isTTY: boolean;
  noColor: boolean;
  exists: (path: string) => boolean;
  /** Runs the access log's flush after this turn (LoggerIO.schedule); setTimeout(0) when not given. */
  schedule?: (flush: () => void) => void;
  /** LoggerIO.onDroppedLines: Node.js only, where a stalled reader makes tsuv drop lines (node-output.ts). */
  onDroppedLines?: (handler: DroppedLinesHandler) => void;
}

/**
 * Does `path` exist (file, directory or anything else; symlinks followed), as node:fs existsSync.
 * Deno does without node:fs (~20 ms of Deno 2.9.6 start-up, even after node:process): Deno.statSync.
 * A path the runtime's permissions keep tsuv from looking at counts as there, so that reading or
 * importing it next reports what is missing, with the path and its option (Deno's "Requires read
 * access to ..., run again with the --allow-read flag"; Node's --permission made existsSync throw
 * "Access to this API has been restricted" with neither) instead of "not found".
 */
export function pathExists(path: string): boolean {
  if (typeof Deno === "undefined") {
    if (bunResolvedPath(path) === path) return true;
    try {
      return nodeFs().existsSync(path);
    } catch (error) {
      if (deniedByPermissions(error)) return true;
      throw error;
    }
  }
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    return deniedByPermissions(error);
  }
}

/**
 * Bun, main thread: where Bun's module resolver finds `path`, or undefined. A file found this way
 * costs no node:fs, whose first load is ~5 ms of Bun 1.4.5's start-up and which a plain start needed
 * only to see that the app's file is there and is its real path. The answer is for files only and
 * can name another path (symlinks resolved, a missing `.js` taken for the `.ts` beside it, an
 * extension added), so callers take it only when it is the path asked about. And Bun caches it for
 * the process: a file deleted since, or a symlink swapped by a deploy, still resolves as before. So
 * not in a worker thread, which a SIGHUP restart starts after such a deploy; the main thread asks
 * at its start only (a single server, a process worker, the CLI's checks).
 */
export function bunResolvedPath(path: string): string | undefined {
  const bun = (
    globalThis as { Bun?: { isMainThread: boolean; resolveSync(specifier: string, parent: string): string } }
  ).Bun;
  if (bun === undefined || !bun.isMainThread) return undefined;
  try {
    return bun.resolveSync(path, "/");
  } catch {
    return undefined;
  }
}

/**
 * path.resolve: absolute, `.` and `..` folded, relative to the start directory (start-directory.ts:
 * the working directory, or $PWD where that names it through a symlink). POSIX paths are
 * folded here, without node:path: on Deno that module would start its Node compatibility layer,
 * and on Bun loading it is ~1.5 ms of start-up (the app's path is resolved before it is imported).
 */
export function resolvePath(...parts: string[]): string {
  if (typeof Deno !== "undefined") {
    if (Deno.build.os !== "windows") return posixResolve(startDirectory(), ...parts);
  } else {
    const process = nodeProcess();
    if (process.platform !== "win32") return posixResolve(startDirectory(), ...parts);
  }
  return nodePath().resolve(...parts);
}

export function processIO(): ProcessIO {
  if (typeof Deno !== "undefined") {
    const { stdout, stderr } = Deno;
    const noColor = Deno.env.get("NO_COLOR");
    return {
      argv: Deno.args,
      noColor: noColor !== undefined && noColor !== "",
      exists: pathExists,
      stdout: denoWriter(stdout),
      stderr: denoWriter(stderr),
      isTTY: stdout.isTerminal(),
      // Deno's web timer: the first setTimeout would load Node's timers at the first request.
      schedule: (flush) => {
        webTimerAfter(0, flush);
      },
    };
  }
  const process = nodeProcess();
  const base = {
    argv: process.argv.slice(2),
    noColor: process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "",
    exists: pathExists,
  };
  if (detectRuntime().name === "bun") {
    return {
      ...base,
      stdout: bunConsoleWriter("log"),
      stderr: bunConsoleWriter("error"),
      isTTY: bunIsTerminal(1),
    };
  }
  let reportDropped: DroppedLinesHandler = () => {};
  const writer = (name: "stdout" | "stderr") => {
    const stream = process[name];
    const dropped = (count: number, reason: string) => reportDropped(name, count, reason);
    const fd = name === "stdout" ? 1 : 2;
    if (!isRegularFile(fd)) return nodeWriter(stream, dropped);
    // A failed write of the app's must not crash it (an 'error' with no listener would).
    stream.on("error", () => {});
    const fs = nodeFs();
    const output = nodeFileWriter((bytes) => fs.writeSync(fd, bytes), dropped);
    routeAppOutput(stream, output);
    return output.line;
  };
  return {
    ...base,
    stdout: writer("stdout"),
    stderr: writer("stderr"),
    isTTY: Boolean(process.stdout.isTTY),
    onDroppedLines: (handler) => {
      reportDropped = handler;
    },
  };
}

/**
 * Is `fd` a regular file (`> server.log`)? Node's stream there reports a full disk (ENOSPC) as an
 * 'error', at which nodeWriter stops for good, so tsuv writes its lines there itself (node-output.ts).
 */
function isRegularFile(fd: number): boolean {
  try {
    return nodeFs().fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

type WriteMethod = (chunk: unknown, encoding: string, callback: (error?: Error | null) => void) => void;

/**
 * The app's console.log (process.stdout.write) to a regular file goes through tsuv's file writer
 * too. Node's own stream there (SyncWriteStream) drops what a full disk refuses unsaid, and writes
 * the next line straight after the one the disk cut short (`...ffffapp says x1`, Node 20 and 24).
 * Its write method, the one a Writable's implementer provides, is replaced on this instance: a chunk
 * that cannot be written is counted in tsuv's "Dropped N log line(s)" warning, and the next starts
 * on a line of its own. Only where the stream is that synchronous file stream: in a thread worker
 * process.stdout hands its chunks to the main thread, whose stream this is.
 */
function routeAppOutput(stream: object, output: FileOutput): void {
  if (stream.constructor.name !== "SyncWriteStream") return;
  // The stream decodes strings before they get here (a Writable's decodeStrings): chunks are Buffers.
  const write: WriteMethod = (chunk, _encoding, callback) => {
    output.chunk(chunk as Uint8Array);
    callback();
  };
  (stream as { _write: WriteMethod })._write = write;
}

const encoder = new TextEncoder();

/** Deno: one synchronous write per line; a line that cannot be written (closed pipe) is dropped. */
function denoWriter(output: DenoOutput): (line: string) => void {
  return (line) => {
    try {
      writeAll(encoder.encode(`${line}\n`), (chunk) => output.writeSync(chunk));
    } catch {
      // As Python's logging: a lost log line never stops the server.
    }
  };
}

/**
 * Bun: its console, which writes natively and synchronously to the fd (a line survives a SIGKILL
 * right after it; a full pipe blocks, EPIPE is ignored; the same from worker threads, checked on
 * Bun 1.4.5). It costs ~0.1 ms at start-up where node:fs plus its first writeSync cost ~7 ms, and
 * the same per line under load. The method is taken now, before the app is imported, so an app
 * that replaces console.log does not receive tsuv's lines. One argument is printed as it is: a `%`
 * in a line (a request path) is not read as a format, which only a second argument would make it.
 */
function bunConsoleWriter(method: "log" | "error"): (line: string) => void {
  const write = console[method].bind(console);
  return (line) => write(line);
}

/**
 * Bun: isatty without node:tty (whose import builds most of node:net, ~10 ms): Bun's internal
 * tty_wrap binding answers the same question. Falls back to process.stdout.isTTY if it goes away.
 */
function bunIsTerminal(fd: 1 | 2): boolean {
  const process = nodeProcess();
  try {
    const binding = (process as unknown as { binding(name: string): { isTTY(fd: number): boolean } }).binding(
      "tty_wrap",
    );
    return Boolean(binding.isTTY(fd));
  } catch {
    return Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
  }
}
