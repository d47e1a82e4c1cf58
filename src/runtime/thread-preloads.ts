/**
 * The modules a runtime preloads before the main module, which a thread worker must be given.
 * Node runs its `--import` and `--require` preloads in every worker thread itself (a Worker
 * inherits the process's execArgv). Bun 1.4.5 and Deno 2.9.6 run theirs in the main thread only
 * (oven-sh/bun#5170; Deno: checked), so an instrumentation file (Sentry's and OpenTelemetry's
 * set-up, `bun --preload ./instrument.ts`) ran in the supervisor and in process workers, which are
 * started with the same flags, but not in thread workers, whose requests went untraced.
 *
 * Where they come from: Bun's `--preload`, `-r`, `--require` and `--import` (BUN_OPTIONS' too,
 * which Bun puts in process.execArgv) after bunfig.toml's `preload`, as Bun runs them; Deno's
 * `--preload` and `--require` (CommonJS), read from its command line, which Deno shows tsuv only
 * where process workers can start (deno-permissions.ts). A Bun thread gets them through Worker's
 * `preload` option, Bun's own way, run before the thread's entry; a Deno thread in its boot,
 * imported (or required) before anything else (plumbing.ts, prepareThread). Should Bun or Deno
 * start running them in threads themselves, each would run twice there: test/thread-preloads.test.ts
 * counts the runs and would say so.
 */
import { lazyBuiltin, nodeFs } from "./builtin.ts";
import { posixFileUrl, posixResolve } from "./paths.ts";

export interface Preload {
  /** An absolute file URL or path, or as given where it is no path (a package, `npm:`, `jsr:`). */
  specifier: string;
  /** Deno's --require: a CommonJS module, required rather than imported. */
  commonJs?: boolean;
}

const BUN_FLAGS = new Set(["--preload", "-r", "--require", "--import"]);
const DENO_FLAGS: ReadonlyMap<string, boolean> = new Map([
  ["--preload", false],
  ["--require", true],
]);

/**
 * The preload flags' values in a runtime's own arguments (the flags before the script), in order.
 * `--flag value` and `--flag=value`. Deno has no short form: its `-r` is --reload.
 */
export function preloadFlags(runtime: "bun" | "deno", args: readonly string[]): Preload[] {
  const preloads: Preload[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const equals = arg.indexOf("=");
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const known = runtime === "bun" ? BUN_FLAGS.has(flag) : DENO_FLAGS.has(flag);
    if (!known) continue;
    const value = equals === -1 ? args[++i] : arg.slice(equals + 1);
    if (value === undefined || value === "") continue;
    preloads.push(
      runtime === "deno" && DENO_FLAGS.get(flag)
        ? { specifier: value, commonJs: true }
        : { specifier: value },
    );
  }
  return preloads;
}

/** The bunfig.toml Bun read: `--config=FILE` (Bun takes no other spelling), else the working directory's. */
export function bunfigFile(execArgv: readonly string[]): string {
  let file = "bunfig.toml";
  for (const arg of execArgv) if (arg.startsWith("--config=")) file = arg.slice("--config=".length);
  return file;
}

/** A parsed bunfig's top-level `preload` (a string or a list of them). */
export function bunfigPreloads(bunfig: unknown): Preload[] {
  const preload = (bunfig as { preload?: unknown } | null)?.preload;
  const list = Array.isArray(preload) ? preload : [preload];
  return list
    .filter((value): value is string => typeof value === "string" && value !== "")
    .map((specifier) => ({ specifier }));
}

const PATH = /^\.{0,2}\//;

interface BunApi {
  TOML: { parse(text: string): unknown };
  resolveSync(specifier: string, from: string): string;
}
declare const Bun: BunApi;

/**
 * Bun's preloads, resolved from `dir` (the directory tsuv started in) as Bun resolved them. A
 * compiled binary reads no bunfig.toml. One that does not resolve is passed on as given: the thread
 * then fails on it as the main thread would have.
 */
export function bunThreadPreloads(execArgv: readonly string[], dir: string, compiled: boolean): Preload[] {
  const fromBunfig = compiled ? [] : bunfigPreloads(readBunfig(posixResolve(dir, bunfigFile(execArgv))));
  return [...fromBunfig, ...preloadFlags("bun", execArgv)].map(({ specifier }) => {
    try {
      return { specifier: Bun.resolveSync(specifier, dir) };
    } catch {
      return { specifier };
    }
  });
}

function readBunfig(path: string): unknown {
  let text: string;
  try {
    text = nodeFs().readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    return Bun.TOML.parse(text);
  } catch {
    // Bun refused to start on it already; nothing to add here.
    return null;
  }
}

/**
 * Deno's preloads, from the flags it was started with (undefined: not shown to tsuv). A path (`./x`,
 * `../x`, `/x`) is resolved against `dir`, as Deno resolved it: a file URL to import, an absolute
 * path to require; anything else (`npm:`, `jsr:`, a URL, a name the import map knows) as given.
 */
export function denoThreadPreloads(runtimeArgs: readonly string[] | undefined, dir: string): Preload[] {
  if (runtimeArgs === undefined) return [];
  return preloadFlags("deno", runtimeArgs).map((preload) => {
    if (!PATH.test(preload.specifier)) return preload;
    const path = posixResolve(dir, preload.specifier);
    return { ...preload, specifier: preload.commonJs ? path : posixFileUrl(path) };
  });
}

const nodeModule = lazyBuiltin<typeof import("node:module")>("node:module");

/** In a thread, before anything else: each preload, in order (Deno's, which Deno does not run there). */
export async function importPreloads(preloads: readonly Preload[], dir: string): Promise<void> {
  for (const preload of preloads) {
    if (preload.commonJs)
      nodeModule().createRequire(posixFileUrl(`${posixResolve(dir)}/`))(preload.specifier);
    else await import(preload.specifier);
  }
}
