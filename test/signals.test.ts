// Signals around a single server's life, real tsuv on every runtime (src/server.ts):
// - a startup hook that hangs must not make CTRL+C useless: the first SIGINT says the server waits
//   for the startup to finish, a second one exits at once (unlessForced);
// - an import that hangs is not waited for at all: the first SIGINT or SIGTERM exits, as uvicorn's
//   (whose signal handlers come after the import) does;
// - a drain cut short by the timeout names what it cut, a streamed response included.
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

describe.each(RUNTIMES)("%s: signals while the app is still loading", (runtime) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`one ${signal} exits at once while the import hangs`, async () => {
      const server = await startTsuv(runtime, ["test/fixtures/apps/hanging-import.ts", "--port", "0"], {
        waitReady: false,
      });
      await server.waitFor(/import began/);
      server.signal(signal);
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toContain(
        "Shutdown requested while the app was still loading; not waiting for it.",
      );
      expect(server.stderr()).not.toContain("Forced exit during application startup.");
    });
  }
});

describe.each(RUNTIMES)("%s: a drain that times out", (runtime) => {
  test("says it cuts a response still streaming when no handler is running", async () => {
    const server = await startTsuv(runtime, [
      "test/fixtures/apps/behaviour.ts:app",
      "--port",
      "0",
      "--timeout-graceful-shutdown",
      "1",
    ]);
    const response = await fetch(`${server.url}/stream?ms=5000`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first chunk: the app has returned, the body goes on
    server.signal("SIGTERM");
    expect(await server.exited).toBe(0);
    reader.cancel().catch(() => {});
    expect(server.stderr()).toContain(
      "Close the connections still sending a response, timeout graceful shutdown exceeded",
    );
    expect(server.stderr()).not.toContain("Cancel 0");
  });
});
