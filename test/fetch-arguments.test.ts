/**
 * What tsuv passes a fetch handler: `(request, info, ctx)`, as Deno.serve and Cloudflare call one,
 * except where the handler's second parameter is named for something else, which then gets the
 * request alone, as srvx calls it: React Router's `(request, initialContext)` (React Router 8 answers
 * 500 to any context not its own) and Nitro 3's `(input, init, context)` (which copies a request given
 * an init, dropping its `ip`). The real React Router and a copy of Nitro's shape, on every runtime;
 * which names count is app.test.ts's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { killAll, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

afterAll(killAll);

for (const runtime of RUNTIMES) {
  describe(runtime, () => {
    test("React Router's createRequestHandler(build) as the app's fetch: its loaders run, with its own context", async () => {
      const t = await startTsuv(runtime, ["test/fixtures/apps/react-router.ts", "--port", "0"]);
      const response = await fetch(`${t.url}/api`, { headers: { "x-forwarded-for": "203.0.113.7" } });
      expect(`${response.status} ${await response.text()}`).toBe("200 RouterContextProvider 203.0.113.7");
      await t.kill();
    });

    test("Nitro's standard output: its fetch gets tsuv's request, not a copy", async () => {
      const t = await startTsuv(runtime, ["test/fixtures/apps/nitro-standard.ts", "--port", "0"]);
      expect(await (await fetch(`${t.url}/`)).text()).toBe("same request 127.0.0.1 no context");
      await t.kill();
    });
  });
}
