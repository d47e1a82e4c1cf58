// src/server.ts's main loop: a worker's server wakes once a second for its heartbeat, not ten
// times as uvicorn's loop does; a single server (no tick hook) sets no timer at all, the date
// header keeping itself; and a stop does not wait for either. A real server on Bun's adapter, on
// port 0, with the adapter's timer watched.
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

/** A real server on the running runtime's adapter whose timer requests are noted in `asked`. */
async function watchedServer(hooks: { onTick?: () => void }) {
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
  let ready: (address: unknown) => void = () => {};
  const listening = new Promise<unknown>((resolve) => (ready = resolve));
  const server = new Server(config, adapter, quiet(), {
    given: { app: { fetch: () => new Response("ok") } },
    hooks: { ...hooks, onReady: (address) => ready(address) },
  });
  const serving = server.serve();
  const address = (await listening) as { port: number };
  asked.length = 0;
  /** Ask for a stop and say how long the server took to end, and its exit code. */
  const stop = async () => {
    const stopAsked = performance.now();
    server.requestShutdown();
    const code = await serving;
    return { code, stopMs: performance.now() - stopAsked };
  };
  return { asked, stop, port: address.port };
}

test("a worker's idle server wakes once a second, ticks each time, and a stop wakes it at once", async () => {
  let ticks = 0;
  const { asked, stop } = await watchedServer({ onTick: () => ticks++ });
  await Bun.sleep(2_500);
  const { code, stopMs } = await stop();
  expect(code).toBe(0);

  // 2.5 s idle: two ticks, and the loop asked for nothing shorter than a second (it was 0.1 s).
  expect(ticks).toBe(2);
  expect(asked.length).toBeGreaterThanOrEqual(2);
  expect(asked.length).toBeLessThanOrEqual(3);
  for (const ms of asked) expect(ms).toBeGreaterThanOrEqual(1000);
  // The stop came 0.5 s before the next tick: it did not wait for it.
  expect(stopMs).toBeLessThan(400);
}, 20_000);

test("a single server sets no timer while idle, dates its responses, and stops at once", async () => {
  const { asked, stop, port } = await watchedServer({});
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(await response.text()).toBe("ok");
  expect(Date.parse(response.headers.get("date") ?? "")).toBeGreaterThan(Date.now() - 2000);
  await Bun.sleep(1_500);
  const { code, stopMs } = await stop();
  expect(code).toBe(0);
  // It was one timer a second before: the date header's refresh.
  expect(asked).toEqual([]);
  expect(stopMs).toBeLessThan(400);
}, 20_000);
