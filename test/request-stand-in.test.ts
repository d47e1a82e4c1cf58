/**
 * A node app whose fetch handler reads the body of a Request stand-in that delegates to
 * `globalThis.Request.prototype`'s own methods (test/fixtures/apps/request-stand-in.ts): srvx 0.8's
 * NodeRequest, as Nitro 3.0's node-middleware output bundles it, and srvx 1.0's. On Node tsuv's
 * Request is a subclass of undici's, which carries undici's methods as its own too
 * (runtime/node-globals.ts): before, the 0.8 stand-in's text() failed on every request with a body.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { killAll, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

afterAll(killAll);

for (const runtime of RUNTIMES) {
  describe(runtime, () => {
    for (const app of ["lazyInherit", "srvx"]) {
      test(`${app}: the stand-in reads the request's body`, async () => {
        const t = await startTsuv(runtime, [`test/fixtures/apps/request-stand-in.ts:${app}`, "--port", "0"]);
        const response = await fetch(`${t.url}/echo`, { method: "POST", body: '{"a":1}' });
        expect(`${response.status} ${await response.text()}`).toBe('200 POST {"a":1}');
        await t.kill();
      });
    }
  });
}
