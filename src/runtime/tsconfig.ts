/**
 * A tsconfig.json as esbuild's transform should see it (node-ts-hooks.ts). esbuild's transform takes
 * one config's text and does not follow `extends`, so a project whose settings live in a base
 * (`"extends": "../../tsconfig.base.json"` in a monorepo package, `@tsconfig/node20`) lost them:
 * `experimentalDecorators` there, and Node refused the app ("Parameter decorators only work when
 * experimental decorators are enabled") where Bun, which follows `extends`, served it. Here the
 * chain is followed as tsc does: each base's compilerOptions first, the extending file's over
 * them, an array of bases in order. The same chain gives `paths` (pathMapping, mapPath), which the
 * resolve hook applies to a bare import Node did not find (`@/lib/x` -> src/lib/x.ts, as on Bun).
 */

/** What following `extends` needs (injected, so tests need no files). */
export interface TsconfigHost {
  /** The file's text, or null when there is none. */
  readFile(path: string): string | null;
  /** A package specifier (`@tsconfig/node20/tsconfig.json`) from a config's directory, or null. */
  resolvePackage(specifier: string, fromDir: string): string | null;
  /** node:path's dirname and resolve (POSIX or Windows paths). */
  dirname(path: string): string;
  resolve(fromDir: string, relative: string): string;
}

/** JSON with comments and trailing commas, as tsc reads tsconfig.json. Throws on anything else. */
export function parseJsonc(text: string): unknown {
  let out = "";
  let i = 0;
  /** Past whitespace and comments from `from`: the next meaningful index. */
  const skipBlank = (from: number): number => {
    let j = from;
    for (;;) {
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text.startsWith("//", j)) {
        const end = text.indexOf("\n", j);
        j = end === -1 ? text.length : end;
      } else if (text.startsWith("/*", j)) {
        const end = text.indexOf("*/", j + 2);
        j = end === -1 ? text.length : end + 2;
      } else {
        return j;
      }
    }
  };
  while (i < text.length) {
    const char = text[i] as string;
    if (char === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith("//", i) || text.startsWith("/*", i)) {
      i = skipBlank(i);
    } else if (char === ",") {
      const next = skipBlank(i + 1);
      if (text[next] !== "}" && text[next] !== "]") out += ",";
      i = next;
    } else {
      out += char;
      i++;
    }
  }
  return JSON.parse(out);
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Where an `extends` entry points, as tsc looks for it; null when nothing is there. */
function resolveBase(specifier: string, fromDir: string, host: TsconfigHost): string | null {
  if (/^(?:\.\.?[\\/]|[\\/]|[A-Za-z]:[\\/])/.test(specifier)) {
    const path = host.resolve(fromDir, specifier);
    if (host.readFile(path) !== null) return path;
    return specifier.endsWith(".json") || host.readFile(`${path}.json`) === null ? null : `${path}.json`;
  }
  // A package: "@tsconfig/node20" means its tsconfig.json; "pkg/base" is pkg/base.json.
  if (specifier.endsWith(".json")) return host.resolvePackage(specifier, fromDir);
  return (
    host.resolvePackage(`${specifier}/tsconfig.json`, fromDir) ??
    host.resolvePackage(`${specifier}.json`, fromDir)
  );
}

/** The compilerOptions of `path` with those of its bases under them. */
function compilerOptionsOf(path: string, text: string, host: TsconfigHost, chain: readonly string[]): Json {
  if (chain.includes(path)) throw new Error(`tsconfig extends itself: ${path}`);
  const config = parseJsonc(text);
  if (!isObject(config)) throw new Error(`not a tsconfig: ${path}`);
  const bases = typeof config.extends === "string" ? [config.extends] : config.extends;
  let options: Json = {};
  if (Array.isArray(bases)) {
    for (const base of bases) {
      if (typeof base !== "string") continue;
      const basePath = resolveBase(base, host.dirname(path), host);
      const baseText = basePath === null ? null : host.readFile(basePath);
      if (basePath === null || baseText === null) throw new Error(`tsconfig base not found: ${base}`);
      options = { ...options, ...compilerOptionsOf(basePath, baseText, host, [...chain, path]) };
    }
  }
  if (!isObject(config.compilerOptions)) return options;
  const own: Json = { ...config.compilerOptions };
  // Relative to the file that says them, wherever the chain ends (as tsc reads them).
  const dir = host.dirname(path);
  if (typeof own.baseUrl === "string") own.baseUrl = host.resolve(dir, own.baseUrl);
  if (isObject(own.paths)) own[PATHS_DIR] = dir;
  return { ...options, ...own };
}

/** Where the winning `paths` were written (a key of tsuv's own in the merged options). */
const PATHS_DIR = "tsuv:pathsDir";

/**
 * The text to hand esbuild for the tsconfig.json at `path` (its text: `text`): as it is when it
 * extends nothing; else its compilerOptions with its bases' merged in. A chain that cannot be
 * followed (a base missing, a file that is not JSON) leaves the text as it is, as before.
 */
export function effectiveTsconfig(path: string, text: string, host: TsconfigHost): string {
  if (!text.includes('"extends"')) return text;
  try {
    const { [PATHS_DIR]: _, ...options } = compilerOptionsOf(path, text, host, []);
    return JSON.stringify({ compilerOptions: options });
  } catch {
    return text;
  }
}

/** `compilerOptions.paths`, ready to match: patterns with absolute targets. */
export interface PathMapping {
  /** [prefix before `*` (the whole pattern if none), suffix after it or null, target templates]. */
  patterns: [prefix: string, suffix: string | null, targets: string[]][];
}

/**
 * The `paths` of the tsconfig.json at `path` (its bases' included), targets made absolute against
 * `baseUrl`, else the directory of the file that says them. Null when there are none, or when the
 * file cannot be read as a tsconfig.
 */
export function pathMapping(path: string, text: string, host: TsconfigHost): PathMapping | null {
  if (!text.includes('"paths"') && !text.includes('"extends"')) return null;
  let options: Json;
  try {
    options = compilerOptionsOf(path, text, host, []);
  } catch {
    return null;
  }
  const paths = options.paths;
  if (!isObject(paths)) return null;
  const base = typeof options.baseUrl === "string" ? options.baseUrl : String(options[PATHS_DIR]);
  const patterns: PathMapping["patterns"] = [];
  for (const [pattern, targets] of Object.entries(paths)) {
    if (!Array.isArray(targets)) continue;
    const star = pattern.indexOf("*");
    const absolute = targets
      .filter((t): t is string => typeof t === "string")
      .map((t) => host.resolve(base, t));
    patterns.push(
      star === -1 ? [pattern, null, absolute] : [pattern.slice(0, star), pattern.slice(star + 1), absolute],
    );
  }
  return { patterns };
}

/**
 * The files `specifier` may be, in order, by the pattern tsc would pick: an exact pattern first,
 * else the `*` pattern with the longest prefix. Empty when no pattern matches.
 */
export function mapPath(mapping: PathMapping, specifier: string): string[] {
  let best: PathMapping["patterns"][number] | undefined;
  for (const entry of mapping.patterns) {
    const [prefix, suffix] = entry;
    if (suffix === null) {
      if (prefix === specifier) return entry[2];
      continue;
    }
    const matches =
      specifier.length >= prefix.length + suffix.length &&
      specifier.startsWith(prefix) &&
      specifier.endsWith(suffix);
    if (matches && (best === undefined || prefix.length > best[0].length)) best = entry;
  }
  if (best === undefined) return [];
  const [prefix, suffix] = best;
  const matched = specifier.slice(prefix.length, specifier.length - (suffix?.length ?? 0));
  return best[2].map((target) => target.replace("*", matched));
}
