/**
 * An app that listens for SIGTERM itself (process.on) is warned at start-up: its listener runs
 * beside tsuv's graceful shutdown, and the process.exit() such listeners call cuts the requests in
 * flight (uvicorn replaces an app's handlers while it serves). Node and Bun, a single server and
 * process workers. Not in thread workers (signals reach only the main thread) nor on Deno (its
 * signal listeners cannot be counted): no warning there. An app without one gets none.
 */
import { afterEach, expect, test } from "bun:test";
import { checkAppStopListeners } from "../src/app-stop-listeners.ts";
import { detectRuntime } from "../src/runtime/detect.ts";
import { nodeProcessBasics } from "../src/runtime/process-basics.ts";
import { killAll, type RuntimeKey, startTsuv, waitIdentities } from "./helpers/tsuv.ts";

const OWN = "test/fixtures/apps/own-sigterm.ts";
const PLAIN = "test/fixtures/apps/main.ts";
const WARNING =
  /WARNING: +The app listens for SIGTERM itself: its listener runs as soon as the signal arrives, beside tsuv's graceful shutdown, and a process\.exit\(\) there cuts the requests in flight\. Put that work in the app's shutdown\(\) hook, which runs after they finish\./g;

afterEach(async () => {
  await killAll();
});

test("checkAppStopListeners: what was added between the two counts, and nothing without a count", () => {
  const listeners: Record<string, number> = { SIGTERM: 1, SIGINT: 1 };
  const count = (signal: string) => listeners[signal] ?? 0;
  const none = checkAppStopListeners(count);
  expect(none.warning()).toBeUndefined();
  const both = checkAppStopListeners(count);
  listeners.SIGTERM = 2;
  listeners.SIGINT = 3;
  expect(both.warning()).toStartWith("The app listens for SIGTERM and SIGINT itself:");
  const sigint = checkAppStopListeners(count);
  listeners.SIGINT = 4;
  expect(sigint.warning()).toStartWith("The app listens for SIGINT itself:");
  expect(checkAppStopListeners(undefined).warning()).toBeUndefined();
  // NestJS's enableShutdownHooks() is what adds them there: the warning names it.
  const nest = checkAppStopListeners(count);
  listeners.SIGTERM = 3;
  expect(nest.warning("a NestJS application (its HTTP server's listeners; init() and close())")).toEndWith(
    "A NestJS app: leave out app.enableShutdownHooks(); tsuv calls the app's close(), which runs its onModuleDestroy and onApplicationShutdown hooks, after the requests in flight.",
  );
  expect(nest.warning("object with fetch()")).toEndWith("which runs after they finish.");
});

test("signalListenerCount leaves out tsuv's own listeners, from every adapter in the thread, and only while subscribed", () => {
  // Two adapters, as two servers the library's run() started in one process have.
  const [one, two] = [nodeProcessBasics(detectRuntime()), nodeProcessBasics(detectRuntime())];
  const base = one.signalListenerCount?.("SIGTERM") ?? -1;
  const offs = [one.onSignal("SIGTERM", () => {}), two.onSignal("SIGTERM", () => {})];
  expect([one.signalListenerCount?.("SIGTERM"), two.signalListenerCount?.("SIGTERM")]).toEqual([base, base]);
  // The app's listener counts, on either.
  const apps = () => {};
  process.on("SIGTERM", apps);
  try {
    expect([one.signalListenerCount?.("SIGTERM"), two.signalListenerCount?.("SIGTERM")]).toEqual([
      base + 1,
      base + 1,
    ]);
  } finally {
    process.off("SIGTERM", apps);
  }
  // Unsubscribing twice takes one off.
  for (const off of offs) off();
  offs[0]?.();
  expect(one.signalListenerCount?.("SIGTERM")).toBe(base);
});

const CASES: { runtime: RuntimeKey; app: string; args: string[]; warnings: number }[] = [
  { runtime: "node20", app: OWN, args: [], warnings: 1 },
  { runtime: "node24", app: OWN, args: [], warnings: 1 },
  { runtime: "bun", app: OWN, args: [], warnings: 1 },
  // Said by the first worker only: every worker loads the same app (WorkerBoot.appWarnings).
  { runtime: "node20", app: OWN, args: ["--workers", "2", "--worker-class", "process"], warnings: 1 },
  { runtime: "bun", app: OWN, args: ["--workers", "2", "--worker-class", "process"], warnings: 1 },
  { runtime: "node20", app: OWN, args: ["--workers", "2", "--worker-class", "thread"], warnings: 0 },
  { runtime: "deno", app: OWN, args: [], warnings: 0 },
  { runtime: "node20", app: PLAIN, args: [], warnings: 0 },
  { runtime: "bun", app: PLAIN, args: [], warnings: 0 },
];

for (const { runtime, app, args, warnings } of CASES) {
  const what = app === OWN ? "an app with its own SIGTERM listener" : "an app without one";
  const how = args.length === 0 ? "one server" : `${args[1]} ${args[3]} workers`;
  test(`${runtime}, ${how}, ${what}: ${warnings} warning(s)`, async () => {
    const t = await startTsuv(runtime, [app, "--port", "0", "--no-access-log", ...args]);
    // Every worker serves (so each has loaded the app, where the warning is said).
    if (app === OWN) await waitIdentities(t.url, args.length === 0 ? 1 : 2);
    expect((t.stderr() + t.stdout()).match(WARNING)?.length ?? 0).toBe(warnings);
  }, 30_000);
}
