/**
 * Module loader hooks that let Node.js import an app written in TypeScript (`.ts`, `.tsx`, `.mts`,
 * `.cts`) or in JavaScript with JSX (`.jsx`, which Bun and Deno import as they are), registered
 * with `module.register` by node-ts-register.ts. Built as its own file, dist/ts-hooks.mjs, because
 * Node runs hooks in a separate thread that loads them by URL (on Node 20; where
 * `module.registerHooks` exists, resolveSync/loadSync run in-thread, bundled with the rest).
 *
 * - load: TypeScript and .jsx files are compiled with esbuild's transform (one file at a time, no
 *   type check), with the nearest tsconfig.json for JSX and decorator settings, and an inline source map
 *   so stack traces point at the .ts lines. The same on every Node version (Node 22.6+ could strip
 *   types itself, but not enums, JSX or `./x` imports), so an app behaves the same everywhere.
 * - resolve: what TypeScript projects write and Node's ESM resolver refuses: `./routes` (no
 *   extension), `./routes.js` meaning `./routes.ts`, and `./routes` meaning `./routes/index.ts`.
 *   Only for relative and absolute paths; package imports resolve as Node does, from the importing
 *   file's directory, so an app's own node_modules are the ones used.
 * - cache: esbuild's output is kept on disk (node-ts-cache.ts). A start whose files are all cached
 *   never loads esbuild nor starts its service process: most of a .ts app's start-up on Node, and
 *   of each thread worker's (on Node 20 each thread has its own hooks, and had its own esbuild).
 */
import { promises as fsPromises, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Loader, TransformOptions } from "esbuild";
import { cacheFile, readCache, writeCache } from "./node-ts-cache.ts";
import { decoratorMetadataOptions, withDecoratorMetadata } from "./node-ts-metadata.ts";
import { effectiveTsconfig, mapPath, type PathMapping, pathMapping, type TsconfigHost } from "./tsconfig.ts";

/** The files load() compiles: TypeScript's, and JavaScript with JSX. The rest are Node's to load. */
export const COMPILED_FILE = /\.(?:ts|tsx|mts|cts|jsx)$/;

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null;
  importAttributes?: Record<string, string>;
  shortCircuit?: boolean;
}
interface LoadContext {
  format?: string | null;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult> | ResolveResult;
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult> | LoadResult;

function isPath(specifier: string): boolean {
  return (
    specifier.startsWith("./") ||
    specifier.startsWith("../") ||
    specifier.startsWith("/") ||
    specifier.startsWith("file:") ||
    specifier === "." ||
    specifier === ".."
  );
}

/** What to try, in order, when Node cannot find `specifier` as written. */
function candidates(specifier: string): string[] {
  const js = /\.(m|c)?js(x?)$/.exec(specifier);
  if (js) {
    // TypeScript's convention: import "./x.js" when the file is x.ts (x.mjs -> x.mts, x.jsx -> x.tsx).
    const stem = specifier.slice(0, -js[0].length);
    const kind = js[1] ?? "";
    return js[2] ? [`${stem}.tsx`] : kind ? [`${stem}.${kind}ts`] : [`${stem}.ts`, `${stem}.tsx`];
  }
  const base = specifier.endsWith("/") ? specifier.slice(0, -1) : specifier;
  const list: string[] = [];
  if (!specifier.endsWith("/")) {
    for (const ext of [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs", ".cts", ".cjs", ".json"])
      list.push(base + ext);
  }
  for (const ext of [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"]) list.push(`${base}/index${ext}`);
  return list;
}

/**
 * `import data from "./data.json"` in TypeScript (tsc's resolveJsonModule; Bun and tsx take it):
 * Node refuses a JSON module imported without `with { type: "json" }` ("needs an import attribute
 * of type json"), so a TypeScript file's JSON imports get that attribute here. Others are left be.
 */
function withJsonAttribute(result: ResolveResult, context: ResolveContext): ResolveResult {
  const parent = context.parentURL;
  if (parent === undefined || !COMPILED_FILE.test(new URL(parent).pathname)) return result;
  if (!new URL(result.url).pathname.endsWith(".json") || context.importAttributes?.type) return result;
  return { ...result, importAttributes: { ...context.importAttributes, type: "json" } };
}

/** What to try after Node failed to resolve `specifier` with `error`; empty: rethrow it. */
function retryCandidates(specifier: string, context: ResolveContext, error: unknown): string[] {
  const code = (error as { code?: string }).code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT") return [];
  return isPath(specifier) ? candidates(specifier) : mappedCandidates(specifier, context.parentURL);
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  try {
    return withJsonAttribute(await nextResolve(specifier, context), context);
  } catch (error) {
    for (const candidate of retryCandidates(specifier, context, error)) {
      try {
        return withJsonAttribute(await nextResolve(candidate, context), context);
      } catch {
        // next candidate
      }
    }
    throw error;
  }
}

interface FoundTsconfig {
  /** What esbuild gets: the text, its `extends` followed (tsconfig.ts). */
  esbuild: string;
  /** Its `paths` (bases' included), or null. */
  paths: PathMapping | null;
  /** Its compilerOptions when they ask for decorator metadata (node-ts-metadata.ts), else null. */
  metadata: Record<string, unknown> | null;
}

/** The nearest tsconfig.json by directory (null: none up to the root), read once per directory. */
const tsconfigs = new Map<string, FoundTsconfig | null>();

const tsconfigHost: TsconfigHost = {
  readFile(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return null;
    }
  },
  resolvePackage(specifier, fromDir) {
    try {
      return createRequire(join(fromDir, "tsconfig.json")).resolve(specifier);
    } catch {
      return null;
    }
  },
  dirname,
  resolve: resolvePath,
};

function nearestTsconfig(dir: string): FoundTsconfig | null {
  const cached = tsconfigs.get(dir);
  if (cached !== undefined) return cached;
  const path = join(dir, "tsconfig.json");
  const text = tsconfigHost.readFile(path);
  let found: FoundTsconfig | null;
  if (text !== null) {
    const esbuild = effectiveTsconfig(path, text, tsconfigHost);
    found = {
      esbuild,
      paths: pathMapping(path, text, tsconfigHost),
      metadata: decoratorMetadataOptions(esbuild),
    };
  } else {
    const parent = dirname(dir);
    found = parent === dir ? null : nearestTsconfig(parent);
  }
  tsconfigs.set(dir, found);
  return found;
}

/**
 * A bare import the importing file's tsconfig.json maps with `paths` (`@/lib/x` -> src/lib/x.ts),
 * as file URLs to try in order, each with the extension and index candidates. Asked only once Node
 * has not found the import as a package (so a package of the same name wins, where tsc would take
 * the path; a normal import costs nothing).
 */
function mappedCandidates(specifier: string, parentURL: string | undefined): string[] {
  if (isPath(specifier) || !parentURL?.startsWith("file:")) return [];
  const mapping = nearestTsconfig(dirname(fileURLToPath(parentURL)))?.paths;
  if (!mapping) return [];
  return mapPath(mapping, specifier).flatMap((file) => {
    const url = pathToFileURL(file).href;
    return [url, ...candidates(url)];
  });
}

/** `.cts`, and `.ts` files that only use require/module.exports, are CommonJS; the rest ESM. */
function isCommonJs(filename: string, source: string): boolean {
  if (filename.endsWith(".cts")) return true;
  if (filename.endsWith(".mts")) return false;
  if (/^\s*(?:import|export)\b/m.test(source)) return false;
  return /\brequire\s*\(|\bmodule\.exports\b|\bexports\.[\w$]+\s*=/.test(source);
}

/**
 * esbuild's service is a child process (~12 MB RSS, one per hooks thread, so one per thread worker
 * on Node 20) that is only needed while modules load: once no transform has run for IDLE_STOP_MS
 * it is stopped, and esbuild starts it again by itself for a later transform (a lazy import).
 */
const IDLE_STOP_MS = 300;
let transforming = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let esbuild: Promise<typeof import("esbuild")> | undefined;

/**
 * Did esbuild's service process die under us? A signal to the whole process group kills it with
 * the rest (Ctrl+C in a terminal; systemd's default KillMode=control-group, GNU timeout), and so
 * does a crash. esbuild then fails the transforms in flight ("The service was stopped") and every
 * later one ("The service is no longer running") until it is stopped, after which the next
 * transform starts a fresh service (measured with esbuild 0.28: the child killed with SIGTERM).
 */
export function esbuildServiceGone(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return (
    message.startsWith("The service was stopped") || message.startsWith("The service is no longer running")
  );
}

/** Bumped when a transform found the service gone and stopped it, so the others failing with it do not stop the new one. */
let serviceGeneration = 0;

async function compile(source: string, options: TransformOptions): Promise<{ code: string }> {
  transforming++;
  clearTimeout(idleTimer);
  try {
    esbuild ??= import("esbuild");
    const loaded = await esbuild;
    const generation = serviceGeneration;
    try {
      return await loaded.transform(source, options);
    } catch (error) {
      if (!esbuildServiceGone(error)) throw error;
      if (generation === serviceGeneration) {
        serviceGeneration++;
        await loaded.stop();
      }
      return await loaded.transform(source, options);
    }
  } finally {
    if (--transforming === 0) stopWhenIdle();
  }
}

/** transformSync, once more on a fresh service if the one it used has died (see esbuildServiceGone). */
function compileSync(
  esbuildSync: typeof import("esbuild"),
  source: string,
  options: TransformOptions,
): string {
  try {
    return esbuildSync.transformSync(source, options).code;
  } catch (error) {
    if (!esbuildServiceGone(error)) throw error;
    void esbuildSync.stop();
    return esbuildSync.transformSync(source, options).code;
  }
}

/** Stop esbuild's service (and the worker thread its transformSync uses) once idle. */
function stopWhenIdle(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (transforming === 0) void esbuild?.then((loaded) => loaded.stop());
  }, IDLE_STOP_MS);
  idleTimer.unref?.();
}

/** A tsconfig.json esbuild cannot read is no reason to refuse the app: compile without it. */
function retryWithoutTsconfig(error: unknown, tsconfigRaw: string | undefined): boolean {
  if (!tsconfigRaw || !String(error).includes("tsconfig")) throw error;
  return true;
}

/** esbuild's output for `source`, from the cache when the same input was compiled before. */
async function cachedCompile(
  source: string,
  options: TransformOptions,
  tsconfigRaw: string | undefined,
): Promise<string> {
  const file = cacheFile(source, options, tsconfigRaw);
  const cached = readCache(file);
  if (cached !== undefined) return cached;
  let code: string;
  try {
    code = (await compile(source, tsconfigRaw ? { ...options, tsconfigRaw } : options)).code;
  } catch (error) {
    retryWithoutTsconfig(error, tsconfigRaw);
    code = (await compile(source, options)).code;
  }
  writeCache(file, code);
  return code;
}

/** The same, synchronously (module.registerHooks): esbuild's transformSync, no service kept. */
function cachedCompileSync(
  source: string,
  options: TransformOptions,
  tsconfigRaw: string | undefined,
): string {
  const file = cacheFile(source, options, tsconfigRaw);
  const cached = readCache(file);
  if (cached !== undefined) return cached;
  const esbuildSync = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  esbuild ??= Promise.resolve(esbuildSync);
  let code: string;
  try {
    code = compileSync(esbuildSync, source, tsconfigRaw ? { ...options, tsconfigRaw } : options);
  } catch (error) {
    retryWithoutTsconfig(error, tsconfigRaw);
    code = compileSync(esbuildSync, source, options);
  } finally {
    stopWhenIdle();
  }
  writeCache(file, code);
  return code;
}

/** What load() compiles a TypeScript file with, and the module format it gives. */
function transformOptions(filename: string, source: string): { options: TransformOptions; cjs: boolean } {
  const cjs = isCommonJs(filename, source);
  const options: TransformOptions = {
    loader: (filename.endsWith(".jsx") ? "jsx" : filename.endsWith("x") ? "tsx" : "ts") as Loader,
    format: cjs ? "cjs" : "esm",
    target: `node${process.versions.node}`,
    sourcemap: "inline",
    sourcefile: filename,
  };
  return { options, cjs };
}

/** The file of a TypeScript module URL, or null for anything else (left to Node). */
function tsFile(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  const path = url.split(/[?#]/, 1)[0] as string;
  return COMPILED_FILE.test(path) ? fileURLToPath(path) : null;
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const filename = tsFile(url);
  if (filename === null) return nextLoad(url, context);
  const source = await fsPromises.readFile(filename, "utf8");
  const { options, cjs } = transformOptions(filename, source);
  const tsconfig = nearestTsconfig(dirname(filename));
  const code = await cachedCompile(source, options, tsconfig?.esbuild);
  return {
    format: cjs ? "commonjs" : "module",
    source: withDecoratorMetadata(code, source, filename, options, tsconfig, cjs),
    shortCircuit: true,
  };
}

/**
 * Synchronous hooks for `module.registerHooks` (Node 22.15+, 23.5+): they run in the importing
 * thread, so no hooks thread is started (start-up waited for it) nor kept per thread (memory).
 */
type NextResolveSync = (specifier: string, context?: ResolveContext) => ResolveResult;
type NextLoadSync = (url: string, context?: LoadContext) => LoadResult;

export function resolveSync(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolveSync,
): ResolveResult {
  try {
    return withJsonAttribute(nextResolve(specifier, context), context);
  } catch (error) {
    for (const candidate of retryCandidates(specifier, context, error)) {
      try {
        return withJsonAttribute(nextResolve(candidate, context), context);
      } catch {
        // next candidate
      }
    }
    throw error;
  }
}

export function loadSync(url: string, context: LoadContext, nextLoad: NextLoadSync): LoadResult {
  const filename = tsFile(url);
  if (filename === null) return nextLoad(url, context);
  const source = readFileSync(filename, "utf8");
  const { options, cjs } = transformOptions(filename, source);
  const tsconfig = nearestTsconfig(dirname(filename));
  const code = cachedCompileSync(source, options, tsconfig?.esbuild);
  return {
    format: cjs ? "commonjs" : "module",
    source: withDecoratorMetadata(code, source, filename, options, tsconfig, cjs),
    shortCircuit: true,
  };
}
