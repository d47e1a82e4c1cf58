/**
 * Node's cache of compiled TypeScript ($TSUV_CACHE_DIR, src/runtime/node-ts-hooks.ts): a start
 * writes one file per module it compiled and the next start reads it instead of compiling; a write
 * the disk refuses leaves nothing in the folder, since a partial file would keep the space a full
 * disk got back, start after start. Bun and Deno run TypeScript themselves and keep no such cache.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBody, killAll, type RuntimeKey, startTsuv } from "./helpers/tsuv.ts";

const NODES: RuntimeKey[] = ["node20", "node24"];
const CACHED = /^[0-9a-f]{28}\.js$/;

/**
 * The TypeScript cache's files in `dir`: on Node 24 Node's compile cache of tsuv's bundle shares the
 * folder, in a directory of its own (src/runtime/node-compile-cache.ts).
 */
const tsCacheFiles = (dir: string) => readdirSync(dir).filter((name) => name !== "node-compile-cache");

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A folder with `app.ts` (`source`) and an empty cache folder beside it. */
function appWithCache(source: string): { appDir: string; cacheDir: string } {
  const root = mkdtempSync(join(tmpdir(), "tsuv-ts-cache-test-"));
  dirs.push(root);
  const appDir = join(root, "app");
  const cacheDir = join(root, "cache");
  mkdirSync(appDir);
  mkdirSync(cacheDir, { mode: 0o700 });
  writeFileSync(join(appDir, "app.ts"), source);
  return { appDir, cacheDir };
}

async function serveOnce(runtime: RuntimeKey, appDir: string, cacheDir: string, fileSizeLimitKiB?: number) {
  const t = await startTsuv(runtime, ["app:default", "--app-dir", appDir, "--port", "0"], {
    env: { TSUV_CACHE_DIR: cacheDir },
    fileSizeLimitKiB,
  });
  const body = await getBody(t.url, "/");
  t.signal("SIGTERM");
  const code = await t.exited;
  return { body, code, stderr: t.stderr() };
}

for (const runtime of NODES) {
  test(`${runtime}: a start writes the compiled app to the cache, and the next start reads it`, async () => {
    const { appDir, cacheDir } = appWithCache(
      'const from: string = "source";\nexport default { fetch: () => new Response(from) };\n',
    );
    expect(await serveOnce(runtime, appDir, cacheDir)).toMatchObject({ body: "source", code: 0 });
    const files = tsCacheFiles(cacheDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(CACHED);
    // The same source again: the cached output is what runs (it is edited here to tell them apart).
    const cached = join(cacheDir, files[0] as string);
    writeFileSync(cached, readFileSync(cached, "utf8").replace('"source"', '"cache"'));
    expect(await serveOnce(runtime, appDir, cacheDir)).toMatchObject({ body: "cache", code: 0 });
    expect(tsCacheFiles(cacheDir)).toEqual(files);
  });

  test(`${runtime}: a cache write the disk refuses leaves nothing behind, and the app serves`, async () => {
    // Compiled, this is ~100 KiB: past the 16 KiB file-size limit, where a full disk would stop it.
    const padding = Array.from(
      { length: 2000 },
      (_, i) => `export const v${i}: number = ${i}; // ${"x".repeat(20)}`,
    );
    const { appDir, cacheDir } = appWithCache(
      `export default { fetch: () => new Response("served") };\n${padding.join("\n")}\n`,
    );
    const run = await serveOnce(runtime, appDir, cacheDir, 16);
    expect(run).toMatchObject({ body: "served", code: 0 });
    // Node's compile cache is left out: Node keeps what a full disk cut short; tsuv turns it off
    // when the disk is nearly full, which a file-size limit does not show.
    expect(tsCacheFiles(cacheDir)).toEqual([]);
  });
}
