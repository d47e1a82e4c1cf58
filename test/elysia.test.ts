/**
 * An Elysia app under tsuv, on every runtime, gets what its own listen() and stop() would give it:
 * `app.server` (tsuv's stand-in: its url, and requestIP() naming the client proxy headers name),
 * its onStart hooks (its plugins' too) once tsuv listens, a hook that throws logged without stopping
 * the server, and its async onStop hooks finished before the process ends; in each worker too.
 * Its `.ws()` routes on Bun are in test/websocket-bun.test.ts.
 */
import { afterEach, expect, test } from "bun:test";
import { getBody, killAll, logCount, RUNTIMES, startTsuv, WORKER_CLASSES, waitLog } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/elysia.ts";

afterEach(killAll);

for (const runtime of RUNTIMES) {
  test(`${runtime}: Elysia's server, its onStart once tsuv listens, its async onStop before the process ends`, async () => {
    const tsuv = await startTsuv(runtime, [APP, "--port", "0"]);
    // Elysia's listen() sets app.server before its onStart hooks run; so does tsuv.
    await tsuv.waitFor(new RegExp(`elysia started at http://127\\.0\\.0\\.1:${tsuv.port}/`));
    expect(await (await fetch(`${tsuv.url}/ip`)).text()).toBe("127.0.0.1");
    const proxied = await fetch(`${tsuv.url}/ip`, { headers: { "x-forwarded-for": "198.51.100.2" } });
    expect(await proxied.text()).toBe("198.51.100.2");
    // The plugin's throwing onStart is logged with its stack; the app's own still ran and it serves.
    expect(tsuv.stderr()).toContain("ERROR:    Exception in the app's onStart hook");
    expect(tsuv.stderr()).toContain("the database plugin could not warm its cache");
    expect(await (await fetch(tsuv.url)).text()).toBe("elysia");

    tsuv.signal("SIGTERM");
    expect(await tsuv.exited).toBe(0);
    // tsuv ends the process itself once shut down: the hook's line (after 300 ms) is there only
    // because its promise was awaited.
    expect(tsuv.stdout()).toContain("database pool closed");
    expect(tsuv.stderr()).toContain("Finished server process");
  }, 30_000);
}

for (const runtime of RUNTIMES) {
  for (const workerClass of WORKER_CLASSES) {
    test(`${runtime}, 2 ${workerClass} workers: each worker's app has the server's address and runs its hooks`, async () => {
      const args = [APP, "--port", "0", "--workers", "2", "--worker-class", workerClass];
      const tsuv = await startTsuv(runtime, args);
      // Node's workers listen on their supervisor's socket (an fd): the url is still the port's.
      await waitLog(tsuv, /elysia started at \S+/g, 2);
      const url = `elysia started at http://127.0.0.1:${tsuv.port}/`;
      expect(tsuv.stdout().match(/elysia started at \S+/g)).toEqual([url, url]);
      expect(await getBody(tsuv.url, "/ip")).toBe("127.0.0.1");
      tsuv.signal("SIGTERM");
      expect(await tsuv.exited).toBe(0);
      expect(logCount(tsuv, /database pool closed/g)).toBe(2);
    }, 30_000);
  }
}
