/**
 * Node's compile cache for tsuv's bundle (src/runtime/node-compile-cache.ts, turned on by
 * dist/cli.mjs before dist/cli-bundle.mjs is compiled): written into tsuv's per-user cache
 * directory while the server runs (a server ends by a signal, when Node would not write it), and
 * taken by the next start. Node reports what its cache does with NODE_DEBUG_NATIVE=COMPILE_CACHE.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBody, killAll, type RuntimeKey, runTsuv, startTsuv } from "./helpers/tsuv.ts";

afterEach(killAll);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-compile-cache-"));
  dirs.push(dir);
  return dir;
}

/** Serve, answer one request, then SIGKILL: no exit handler of Node's or tsuv's runs. */
async function serveAndKill(runtime: RuntimeKey, env: Record<string, string>): Promise<void> {
  const server = await startTsuv(runtime, ["test/fixtures/apps/main.ts:app", "--port", "0"], { env });
  expect(await getBody(server.url, "/")).toBe("hello from app");
  server.signal("SIGKILL");
  await server.exited;
}

/** What Node's compile cache says of the bundle in a second start (`--version`). */
async function bundleCacheLines(runtime: RuntimeKey, env: Record<string, string>): Promise<string[]> {
  const { code, stderr } = await runTsuv(runtime, ["--version"], {
    env: { ...env, NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
  });
  expect(code).toBe(0);
  return stderr.split("\n").filter((line) => line.includes("cli-bundle.mjs"));
}

test("node24: a server killed with SIGKILL has written the cache, and the next start takes it", async () => {
  const env = { TSUV_CACHE_DIR: cacheDir() };
  await serveAndKill("node24", env);
  const lines = await bundleCacheLines("node24", env);
  expect(lines.some((line) => /cli-bundle\.mjs was accepted/.test(line))).toBe(true);
  expect(lines.some((line) => /reading cache from .*node-compile-cache/.test(line))).toBe(true);
}, 30_000);

test("node24: NODE_DISABLE_COMPILE_CACHE=1 keeps it off", async () => {
  const dir = cacheDir();
  await serveAndKill("node24", { TSUV_CACHE_DIR: dir, NODE_DISABLE_COMPILE_CACHE: "1" });
  expect(existsSync(join(dir, "node-compile-cache"))).toBe(false);
}, 30_000);

test("node24: NODE_COMPILE_CACHE picks the directory, one Node makes", async () => {
  const tsuvDir = cacheDir();
  const nodeDir = join(cacheDir(), "not-made-yet");
  await serveAndKill("node24", { TSUV_CACHE_DIR: tsuvDir, NODE_COMPILE_CACHE: nodeDir });
  expect(existsSync(join(tsuvDir, "node-compile-cache"))).toBe(false);
  expect(readdirSync(nodeDir).length).toBeGreaterThan(0);
}, 30_000);

test("node20 (no flushCompileCache): no compile cache, and it still serves", async () => {
  const dir = cacheDir();
  await serveAndKill("node20", { TSUV_CACHE_DIR: dir });
  expect(existsSync(join(dir, "node-compile-cache"))).toBe(false);
}, 30_000);
