/**
 * An Elysia app's onStart and onStop hooks (its own and its plugins'), which Elysia's own listen()
 * and stop() run, run under tsuv too, on every runtime: onStart once tsuv listens (on Bun with
 * `app.server` already set), a hook that throws logged without stopping the server, and an async
 * onStop finished before the process ends.
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/elysia-lifecycle.ts";

afterEach(killAll);

for (const runtime of RUNTIMES) {
  test(`${runtime}: Elysia's onStart runs once tsuv listens, its async onStop before the process ends`, async () => {
    const tsuv = await startTsuv(runtime, [APP, "--port", "0"]);
    // Elysia's listen() sets app.server before its onStart hooks run; tsuv gives Bun apps a stand-in.
    await tsuv.waitFor(
      runtime === "bun" ? new RegExp(`elysia started, port ${tsuv.port}\\b`) : /elysia started/,
    );
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
