/**
 * Module loader hooks that let Node.js import an app written in TypeScript (`.ts`, `.tsx`, `.mts`,
 * `.cts`), registered with `module.register` by node-ts-register.ts. Built as its own file,
 * dist/ts-hooks.mjs, because Node runs hooks in a separate thread that loads them by URL.
 *
 * - load: TypeScript files are compiled with esbuild's transform (one file at a time, no type
 *   check), with the nearest tsconfig.json for JSX and decorator settings, and an inline source map
 *   so stack traces point at the .ts lines. The same on every Node version (Node 22.6+ could strip
 *   types itself, but not enums, JSX or `./x` imports), so an app behaves the same everywhere.
 * - resolve: what TypeScript projects write and Node's ESM resolver refuses: `./routes` (no
 *   extension), `./routes.js` meaning `./routes.ts`, and `./routes` meaning `./routes/index.ts`.
 *   Only for relative and absolute paths; package imports resolve as Node does, from the importing
 *   file's directory, so an app's own node_modules are the ones used.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Loader, type TransformOptions, transform } from "esbuild";

const TS_FILE = /\.(?:ts|tsx|mts|cts)$/;

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null;
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
    for (const ext of [".ts", ".tsx", ".mts", ".js", ".mjs", ".cts", ".cjs", ".json"]) list.push(base + ext);
  }
  for (const ext of [".ts", ".tsx", ".mts", ".js", ".mjs"]) list.push(`${base}/index${ext}`);
  return list;
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!isPath(specifier) || (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT")) {
      throw error;
    }
    for (const candidate of candidates(specifier)) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // next candidate
      }
    }
    throw error;
  }
}

/** tsconfig.json text by directory (null: none up to the root), read once per directory. */
const tsconfigs = new Map<string, string | null>();

function nearestTsconfig(dir: string): string | null {
  const cached = tsconfigs.get(dir);
  if (cached !== undefined) return cached;
  let found: string | null = null;
  try {
    found = readFileSync(join(dir, "tsconfig.json"), "utf8");
  } catch {
    const parent = dirname(dir);
    found = parent === dir ? null : nearestTsconfig(parent);
  }
  tsconfigs.set(dir, found);
  return found;
}

/** `.cts`, and `.ts` files that only use require/module.exports, are CommonJS; the rest ESM. */
function isCommonJs(filename: string, source: string): boolean {
  if (filename.endsWith(".cts")) return true;
  if (filename.endsWith(".mts")) return false;
  if (/^\s*(?:import|export)\b/m.test(source)) return false;
  return /\brequire\s*\(|\bmodule\.exports\b|\bexports\.[\w$]+\s*=/.test(source);
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith("file:")) return nextLoad(url, context);
  const path = url.split(/[?#]/, 1)[0] as string;
  if (!TS_FILE.test(path)) return nextLoad(url, context);
  const filename = fileURLToPath(path);
  const source = await readFile(filename, "utf8");
  const cjs = isCommonJs(filename, source);
  const tsconfigRaw = nearestTsconfig(dirname(filename)) ?? undefined;
  const options: TransformOptions = {
    loader: (filename.endsWith("x") ? "tsx" : "ts") as Loader,
    format: cjs ? "cjs" : "esm",
    target: `node${process.versions.node}`,
    sourcemap: "inline",
    sourcefile: filename,
  };
  let result: { code: string };
  try {
    result = await transform(source, tsconfigRaw ? { ...options, tsconfigRaw } : options);
  } catch (error) {
    // A tsconfig.json esbuild cannot read is no reason to refuse the app: compile without it.
    if (!tsconfigRaw || !String(error).includes("tsconfig")) throw error;
    result = await transform(source, options);
  }
  return { format: cjs ? "commonjs" : "module", source: result.code, shortCircuit: true };
}
