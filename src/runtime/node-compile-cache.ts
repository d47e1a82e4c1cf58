/**
 * Node's module compile cache (`module.enableCompileCache`: V8's code cache kept on disk; used
 * from Node 22.10 and 23.0, see below) for tsuv's own bundle. Compiling dist/cli-bundle.mjs
 * (~550 KB) is ~15 ms of every start on Node 24; from the cache it takes ~3 ms (measured in a fresh
 * process: importing the bundle 31 ms, 24 ms with the cache). Every process worker and every
 * --reload restart starts the same bundle.
 *
 * It must be on before the bundle is compiled, hence dist/cli.mjs, a file of its own
 * (src/node-entry.ts). The cache lives in tsuv's per-user cache directory (node-ts-cache.ts), not in
 * Node's default, `os.tmpdir()/node-compile-cache`: in a shared /tmp another user could make that
 * directory first and plant code in it. $NODE_COMPILE_CACHE, where set, has Node turn the cache
 * on itself as it starts, in that directory, and $NODE_DISABLE_COMPILE_CACHE=1 keeps it off, as for
 * any Node program.
 *
 * Node writes the cache when it exits or is asked to flush; a server usually ends by a signal, so
 * it is flushed once the bundle is loaded. Modules compiled after that (the app's) are cached when
 * the process exits normally.
 */
import { statfsSync } from "node:fs";
import nodeModule from "node:module";
import { join } from "node:path";
import { cacheDirectory } from "./node-ts-cache.ts";

/**
 * Below this much free space the cache stays off. Node does not notice a write the disk cuts short:
 * it keeps the truncated file, or leaves its temporary file behind (nodejs/node#65473), where
 * tsuv's own TypeScript cache removes what it could not write whole (docs/reliability.md, case 14).
 */
const MIN_FREE_BYTES = 64 * 1024 * 1024;

/** The directory's file system has room to spare; unknown counts as no. */
function hasRoom(directory: string): boolean {
  try {
    const { bavail, bsize } = statfsSync(directory);
    return bavail * bsize >= MIN_FREE_BYTES;
  } catch {
    return false;
  }
}

interface CompileCacheApi {
  enableCompileCache?: (directory?: string) => unknown;
  flushCompileCache?: () => void;
}

/** Loads the bundle with the compile cache on, where this runtime is Node.js and has one. */
export async function withCompileCache<T>(load: () => Promise<T>): Promise<T> {
  const api = nodeModule as CompileCacheApi;
  // Bun and Deno can run dist/cli.mjs too (`bun dist/cli.mjs`, npm's bin under Deno); their
  // node:module is their own, and each has its own caching.
  const isNode = typeof (globalThis as { Bun?: unknown }).Bun === "undefined" && !("Deno" in globalThis);
  // flushCompileCache came with atomic cache writes (nodejs/node#54971: Node 22.10, 23.0); before,
  // two processes starting at once (process workers) could write the same file together.
  if (!isNode || typeof api.enableCompileCache !== "function" || typeof api.flushCompileCache !== "function")
    return load();
  try {
    // With $NODE_COMPILE_CACHE set, Node has turned the cache on already: only the flush is ours.
    // cacheDirectory() has made tsuv's directory, so its file system can be asked.
    const directory = process.env.NODE_COMPILE_CACHE ? null : cacheDirectory();
    if (directory && hasRoom(directory)) api.enableCompileCache(join(directory, "node-compile-cache"));
  } catch {
    // Documented not to throw; a cache is never worth a failed start.
  }
  const loaded = await load();
  try {
    api.flushCompileCache();
  } catch {}
  return loaded;
}
