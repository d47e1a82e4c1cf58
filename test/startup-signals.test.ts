// A startup hook that hangs must not make CTRL+C useless: the first SIGINT says the server waits for
// the startup to finish, a second one exits at once (src/server.ts unlessForced). Real tsuv, every
// runtime.
import { afterEach, describe, expect, test } from "bun:test";
import { killAll, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

afterEach(killAll);

describe.each(RUNTIMES)("%s: signals during application startup", (runtime) => {
  test("a second SIGINT exits while the startup hook hangs", async () => {
    const server = await startTsuv(runtime, ["test/fixtures/apps/hanging-startup.ts", "--port", "0"], {
      waitReady: false,
    });
    await server.waitFor(/startup hook began/);
    server.signal("SIGINT");
    await server.waitFor(/waiting for application startup to finish \(CTRL\+C again forces\)/);
    server.signal("SIGINT");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("Forced exit during application startup.");
  });
});
