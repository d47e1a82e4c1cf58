/**
 * A deploy that swaps a symlink (`current -> releases/N`, Capistrano's layout) and then sends SIGHUP:
 * the workers the rolling restart starts serve the release `current` names now, its code and its
 * files read by relative path and its --env-file, in both classes, on every runtime. tsuv runs in `current` as a shell
 * leaves it (PWD names the symlink; the working directory is the release it resolved to), which is
 * what gunicorn follows too (benoitc/gunicorn#394). Before: the old release, every time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  getBody,
  killAll,
  logCount,
  RUNTIMES,
  startTwoWorkers,
  WORKER_CLASSES,
  waitLog,
} from "./helpers/tsuv.ts";

let root = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "tsuv-deploy-"));
  for (const release of ["1", "2"]) {
    const dir = join(root, "releases", release);
    mkdirSync(dir, { recursive: true });
    // The code names its release; data.txt, read relative to the working directory, names its own,
    // and so does the release's .env (--env-file .env, read again on SIGHUP).
    writeFileSync(
      join(dir, "app.ts"),
      `import { readFileSync } from "node:fs";
import process from "node:process";
export default {
  fetch: () => new Response("code ${release}, " + readFileSync("data.txt", "utf8") + ", " + process.env.RELEASE_ENV),
};
`,
    );
    writeFileSync(join(dir, "data.txt"), `data ${release}`);
    writeFileSync(join(dir, ".env"), `RELEASE_ENV=env ${release}\n`);
  }
});
afterAll(async () => {
  await killAll();
  rmSync(root, { recursive: true, force: true });
});

/** Points `link` at `release` in one rename, as deploy tools do (`ln -s` then `mv -T`). */
function swap(link: string, release: string): void {
  const next = `${link}.next`;
  rmSync(next, { force: true });
  symlinkSync(join("releases", release), next);
  renameSync(next, link);
}

describe.each(RUNTIMES)("%s", (runtime) => {
  for (const workerClass of WORKER_CLASSES) {
    test(`${workerClass} workers: SIGHUP after the symlink swap serves the new release's code, files and .env`, async () => {
      const link = join(root, `current-${runtime}-${workerClass}`);
      swap(link, "1");
      const server = await startTwoWorkers(runtime, "app.ts", workerClass, ["--env-file", ".env"], {
        cwd: link,
        env: { PWD: link },
      });
      // The parent's "running on" line comes before its process workers have imported the app;
      // under the parallel suite Node 20's took longer once than one request's 10 s (a bare null).
      let first: string | null = null;
      for (const deadline = Date.now() + 30_000; first === null && Date.now() < deadline; )
        first = await getBody(server.url, "/", 5_000);
      expect(first).toBe("code 1, data 1, env 1");
      const finished = logCount(server, /Finished server process/);
      swap(link, "2");
      server.signal("SIGHUP");
      // Both old workers gone (Bun and Deno let a retiring one linger, serving, after its
      // replacement is ready; an old thread lingering meanwhile reads the new release's files).
      await waitLog(server, /Finished server process/, finished + 2, 30_000);
      const bodies = new Set<string | null>();
      for (let i = 0; i < 8; i++) bodies.add(await getBody(server.url, "/"));
      expect([...bodies]).toEqual(["code 2, data 2, env 2"]);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
      // Above the 30 s wait for the old workers, so that a slow restart fails with waitLog's message
      // and the server's output: under the default 20 s, one on Node 22.23.3 in a full parallel run
      // was cut off with neither (2.3 s alone).
    }, 45_000);
  }
});
