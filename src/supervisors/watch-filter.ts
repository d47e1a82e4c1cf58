/**
 * What the reloader watches: the directories (--reload-dir, validated) and which paths in them
 * count as a change (--reload-include / --reload-exclude). Pure functions over paths, so they are
 * unit-tested without a filesystem.
 *
 * Pattern rules (uvicorn's, in spirit):
 * - a pattern without "/" matches a name: for includes the file's name (`*.ts` matches `a/b/c.ts`),
 *   for excludes any path segment (`node_modules` excludes everything under any node_modules);
 * - a pattern with "/" matches the path relative to the watched directory (`src/gen/**`);
 * - user patterns add to the defaults; a user include wins over the default excludes for a file's
 *   own name (`--reload-include .env` watches .env although dot-files are excluded), but never
 *   reaches into an excluded directory.
 */
import { isAbsolute, resolve } from "node:path";
import picomatch from "picomatch";
import { ConfigError } from "../errors.ts";

export const DEFAULT_RELOAD_INCLUDES: readonly string[] = [
  "*.ts",
  "*.tsx",
  "*.mts",
  "*.cts",
  "*.js",
  "*.jsx",
  "*.mjs",
  "*.cjs",
  "*.json",
];
/** `.*` covers dot-files and dot-directories (.git, .cache, editor swap files like `.x.ts.swp`). */
export const DEFAULT_RELOAD_EXCLUDES: readonly string[] = ["node_modules", ".git", ".*", "dist"];

export interface ReloadFilter {
  /** Does a change to this file (path relative to its watched directory, "/"-separated) count? */
  file(relPath: string): boolean;
  /** Is this directory (relative path) left out entirely: not walked, not watched? */
  skipDir(relPath: string): boolean;
}

type Match = (relPath: string, segments: string[]) => boolean;

function compile(pattern: string, scope: "name" | "segments"): Match {
  const clean = pattern.replace(/^\.\//, "").replace(/\/+$/, "");
  const test = picomatch(clean, { dot: true });
  if (clean.includes("/")) return (relPath) => test(relPath);
  if (scope === "name") return (_relPath, segments) => test(segments[segments.length - 1] ?? "");
  return (_relPath, segments) => segments.some((segment) => test(segment));
}

function anyOf(matchers: Match[]): Match {
  return (relPath, segments) => matchers.some((match) => match(relPath, segments));
}

function split(relPath: string): { path: string; segments: string[] } {
  const path = relPath.replace(/\\/g, "/").replace(/^\.\//, "");
  return { path, segments: path.split("/").filter(Boolean) };
}

export function createReloadFilter(
  includes: readonly string[] = [],
  excludes: readonly string[] = [],
): ReloadFilter {
  const userIncludes = anyOf(includes.map((p) => compile(p, "name")));
  const defaultIncludes = anyOf(DEFAULT_RELOAD_INCLUDES.map((p) => compile(p, "name")));
  const allExcludes = [...DEFAULT_RELOAD_EXCLUDES, ...excludes];
  // Directory pruning: any excluded segment, or a "/" pattern matching the directory's path.
  const dirExcluded = anyOf(allExcludes.map((p) => compile(p, "segments")));
  const userExcludesName = anyOf(excludes.map((p) => compile(p, "name")));
  const defaultExcludesName = anyOf(DEFAULT_RELOAD_EXCLUDES.map((p) => compile(p, "name")));

  const skipDir = (relPath: string): boolean => {
    const { segments } = split(relPath);
    if (segments.length === 0) return false;
    // Every ancestor too: a "/" pattern like `src/gen` must prune `src/gen/deep`.
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i);
      if (dirExcluded(prefix.join("/"), prefix)) return true;
    }
    return false;
  };

  return {
    skipDir,
    file(relPath) {
      const { path, segments } = split(relPath);
      if (segments.length === 0) return false;
      if (segments.length > 1 && skipDir(segments.slice(0, -1).join("/"))) return false;
      if (userExcludesName(path, segments)) return false;
      if (userIncludes(path, segments)) return true;
      if (defaultExcludesName(path, segments)) return false;
      return defaultIncludes(path, segments);
    },
  };
}

/**
 * The directories to watch: --reload-dir values resolved against the working directory (default:
 * the working directory itself), each of which must exist, and without the ones already inside
 * another (a nested watch would report every change twice). Inside by where it really is: a
 * symlink in the tree to a directory outside it (`--reload-dir . --reload-dir linked`) stays, since
 * Bun's and Deno's fs.watch do not follow symlinked directories.
 */
export type PathKind = "directory" | "other" | "missing";

export function resolveReloadDirs(
  dirs: readonly string[],
  cwd: string,
  kindOf: (path: string) => PathKind,
  /** realpath (symlinks resolved); the path itself where it cannot be read. */
  realPath: (path: string) => string = (path) => path,
): string[] {
  const wanted = dirs.length ? dirs : [cwd];
  const absolute: string[] = [];
  for (const dir of wanted) {
    const path = isAbsolute(dir) ? resolve(dir) : resolve(cwd, dir);
    const kind = kindOf(path);
    if (kind === "missing") throw new ConfigError(`--reload-dir: directory does not exist: ${path}`);
    if (kind === "other") throw new ConfigError(`--reload-dir: not a directory: ${path}`);
    if (!absolute.includes(path)) absolute.push(path);
  }
  const real = new Map(absolute.map((dir) => [dir, realPath(dir)]));
  const inside = (dir: string, other: string) =>
    isInside(dir, other) && isInside(real.get(dir) ?? dir, real.get(other) ?? other);
  return absolute.filter((dir) => !absolute.some((other) => other !== dir && inside(dir, other)));
}

export function isInside(path: string, dir: string): boolean {
  const base = dir.endsWith("/") || dir.endsWith("\\") ? dir : `${dir}/`;
  return path.replace(/\\/g, "/").startsWith(base.replace(/\\/g, "/"));
}

/** Python's repr of a list of strings, as uvicorn prints the watched directories: ['/a', '/b']. */
export function pythonList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`).join(", ")}]`;
}
