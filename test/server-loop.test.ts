// src/server.ts's main loop: an idle server wakes once a second (the date header, a worker's
// heartbeat), not ten times as uvicorn's loop does, and a stop does not wait for that second.
// A real server on Bun's adapter, on port 0, with the adapter's timer watched.
import { expect, test } from "bun:test";
import { resolveConfig } from "../src/config.ts";
import { loggerFromConfig } from "../src/logging.ts";
import type { RuntimeAdapter } from "../src/runtime/adapter.ts";
import { loadAdapter } from "../src/runtime/index.ts";
import { Server } from "../src/server.ts";

const quiet = () =>
  loggerFromConfig(
    { logLevel: "critical", logFormat: "text", accessLog: false, useColors: false },
    { stdout: () => {}, stderr: () => {}, isTTY: false, noColor: true },
  );

test("an idle server's loop wakes once a second, ticks each time, and a stop wakes it at once", async () => {
  const real = await loadAdapter();
  const asked: number[] = [];
  // The adapter as it is, but for its timer, whose delays are noted.
  const adapter: RuntimeAdapter = Object.create(real, {
    after: {
      value: (ms: number, run: () => void) => {
        asked.push(ms);
        return real.after(ms, run);
      },
    },
  });
  const config = resolveConfig(
    ["app", "--port", "0", "--lifespan", "off"],
    {},
    { runtime: real.info, appGiven: true },
  );
  let ticks = 0;
  let ready: () => void = () => {};
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const server = new Server(config, adapter, quiet(), {
    given: { app: { fetch: () => new Response("ok") } },
    hooks: { onReady: () => ready(), onTick: () => ticks++ },
  });
  const serving = server.serve();
  await listening;
  asked.length = 0;
  await Bun.sleep(2_500);
  const stopAsked = performance.now();
  server.requestShutdown();
  expect(await serving).toBe(0);
  const stopMs = performance.now() - stopAsked;

  // 2.5 s idle: two ticks, and the loop asked for nothing shorter than a second (it was 0.1 s).
  expect(ticks).toBe(2);
  expect(asked.length).toBeGreaterThanOrEqual(2);
  expect(asked.length).toBeLessThanOrEqual(3);
  for (const ms of asked) expect(ms).toBeGreaterThanOrEqual(1000);
  // The stop came 0.5 s before the next tick: it did not wait for it.
  expect(stopMs).toBeLessThan(400);
}, 20_000);
