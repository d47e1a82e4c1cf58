/**
 * --reload with --env-file: an edited env file applies to the next child (the docs suggest
 * `--reload-include .env`), on Node (the bundle), Bun and Deno. Before: the reloader loaded the file
 * once and every child inherited the first values, so the reload served the old ones.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAll, type RuntimeKey, startTsuv } from "./helpers/tsuv.ts";

const RUNTIMES: RuntimeKey[] = ["node20", "bun", "deno"];
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function getUntil(url: string, want: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
      if (last === want) return last;
    } catch {}
    await sleep(100);
  }
  return last;
}

for (const runtime of RUNTIMES) {
  describe(`--reload --env-file on ${runtime}`, () => {
    test("an edited env file applies after the reload; the real environment still wins", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-reload-env-"));
      dirs.push(dir);
      writeFileSync(
        join(dir, "app.ts"),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the app's own template literal.
        "export default { fetch: () => new Response(`${process.env.GREETING}|${process.env.GONE}|${process.env.REAL}`) };\n",
      );
      writeFileSync(join(dir, ".env"), "GREETING=one\nGONE=here\nREAL=file\n");
      const t = await startTsuv(
        runtime,
        [
          "app.ts",
          "--reload",
          "--env-file",
          ".env",
          "--reload-include",
          ".env",
          "--port",
          "0",
          "--no-access-log",
        ],
        { cwd: dir, env: { REAL: "real" } },
      );
      const url = `${t.url}/`;
      expect(await getUntil(url, "one|here|real")).toBe("one|here|real");
      writeFileSync(join(dir, ".env"), "GREETING=two\nREAL=file\n");
      await t.waitFor(/Changes detected in '\.env'\. Reloading\.\.\./);
      expect(await getUntil(url, "two|undefined|real")).toBe("two|undefined|real");
      t.signal("SIGTERM");
      expect(await t.exited).toBe(0);
    }, 60_000);
  });
}
