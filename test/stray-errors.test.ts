// An error no code caught (a throw in the app's timer, a promise it never awaited) is logged and the
// server serves on, as uvicorn's event loop does; by default every runtime would end the process
// (exit code 1, which deploy/systemd reads as a bad config and does not restart). src/server.ts.
import { afterEach, describe, expect, test } from "bun:test";
import {
  killAll,
  RUNTIMES,
  type RunningTsuv,
  startTsuv,
  startTwoWorkers,
  WORKER_CLASSES,
  waitLog,
} from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/stray-errors.ts";

afterEach(killAll);

async function strayErrorsAreLogged(server: RunningTsuv): Promise<void> {
  expect(await (await fetch(`${server.url}/reject`)).text()).toBe("ok");
  await waitLog(server, /ERROR: {4}Unhandled promise rejection/);
  expect(await (await fetch(`${server.url}/throw`)).text()).toBe("ok");
  await waitLog(server, /ERROR: {4}Uncaught exception/);
  // Served after both, by the same process: no worker died on the way.
  expect(await (await fetch(`${server.url}/`)).text()).toBe("ok");
  const log = server.stdout() + server.stderr();
  expect(log).toContain("Error: stray rejection");
  expect(log).toContain("Error: stray throw");
  expect(log).not.toMatch(/died|failed to start/);
  server.signal("SIGTERM");
  expect(await server.exited).toBe(0);
}

describe.each(RUNTIMES)("%s: stray errors", (runtime) => {
  test("a single server logs them and serves on", async () => {
    await strayErrorsAreLogged(await startTsuv(runtime, [APP, "--port", "0"]));
  });
  for (const workerClass of WORKER_CLASSES) {
    test(`a ${workerClass} worker logs them and serves on`, async () => {
      await strayErrorsAreLogged(await startTwoWorkers(runtime, APP, workerClass));
    });
  }
});
