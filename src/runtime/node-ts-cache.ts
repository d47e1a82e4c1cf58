/**
 * The TypeScript loader's disk cache (node-ts-hooks.ts): esbuild's output kept per user, keyed by
 * a hash of everything the output depends on (source, options, tsconfig, esbuild version), so a
 * start whose files are all cached never loads esbuild nor starts its service process.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TransformOptions } from "esbuild";

/** Bump when the shape of what is cached changes. */
const CACHE_FORMAT = 1;
let cacheDir: string | null | undefined;
let cacheSalt: string | undefined;

/**
 * $TSUV_CACHE_DIR, else a per-user directory in the temp dir; null (no cache) if it cannot be made
 * or belongs to someone else (a shared /tmp: another user could plant code in it). Node's compile
 * cache of tsuv's bundle lives in it too (node-compile-cache.ts).
 */
export function cacheDirectory(): string | null {
  if (cacheDir !== undefined) return cacheDir;
  cacheDir = null;
  try {
    const uid = process.getuid?.();
    const dir = process.env.TSUV_CACHE_DIR || join(tmpdir(), `tsuv-ts-cache-${uid ?? "user"}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    if (uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0)) cacheDir = dir;
  } catch {
    // No cache: compile every time.
  }
  return cacheDir;
}

/** What the output depends on besides the source and options: the cache format and esbuild. */
function salt(): string {
  if (cacheSalt === undefined) {
    let version = "unknown";
    try {
      const require = createRequire(import.meta.url);
      version = JSON.parse(readFileSync(require.resolve("esbuild/package.json"), "utf8")).version;
    } catch {}
    cacheSalt = `${CACHE_FORMAT}:${version}`;
  }
  return cacheSalt;
}

/**
 * Where the output for `source` is kept: esbuild's, or that of `compiler` (`typescript@5.9.3`, for
 * decorator metadata: node-ts-metadata.ts) when given.
 */
export function cacheFile(
  source: string,
  options: TransformOptions,
  tsconfigRaw: string | undefined,
  compiler?: string,
): string | null {
  const dir = cacheDirectory();
  if (!dir) return null;
  const key =
    compiler === undefined
      ? [salt(), options, tsconfigRaw ?? null]
      : [salt(), options, tsconfigRaw ?? null, compiler];
  const input = `${JSON.stringify(key)}\0${source}`;
  return join(dir, `${cyrb53(input, 1)}${cyrb53(input, 2)}.js`);
}

/**
 * Half of a cache key: cyrb53 (bryc, public domain), a 53-bit string hash; two seeds make 106 bits,
 * so two inputs do not share a key by chance. Not node:crypto's sha256: loading node:crypto costs
 * ~9 ms of Node 24 start-up (`await import("node:crypto")` timed in a fresh process), and the key
 * guards against stale output, not against an attacker (who could edit the source itself).
 */
function cyrb53(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

export function readCache(file: string | null): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined; // Not cached yet.
  }
}

export function writeCache(file: string | null, code: string): void {
  if (!file) return;
  // Written aside and renamed: a concurrent reader (another thread) never sees half a file.
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(temp, code, { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // A read-only or full disk only costs the next start its compile. What a full disk took of the
    // file goes: left, it would keep the space the disk gets back, start after start.
    try {
      unlinkSync(temp);
    } catch {}
  }
}
