// src/worker.ts: a thread worker's drain ends before its supervisor terminates it (fault case 5).
import { expect, test } from "bun:test";
import { resolveConfig } from "../src/config.ts";
import { THREAD_DRAIN_MARGIN_SECONDS, threadDrainLimitSeconds } from "../src/worker.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

const config = (...args: string[]) =>
  resolveConfig(
    ["main:app", "--workers", "2", "--worker-class", "thread", ...args],
    {},
    { runtime: fakeRuntime() },
  );

test("a thread worker cuts its drain off just before the supervisor's deadline, so it can name what it cuts", () => {
  expect(threadDrainLimitSeconds(config("--timeout-graceful-shutdown", "1"), true)).toBe(
    1 - THREAD_DRAIN_MARGIN_SECONDS,
  );
  // No graceful timeout: the supervisor's deadline is the healthcheck timeout, not the server's 30 s cap.
  expect(threadDrainLimitSeconds(config("--timeout-worker-healthcheck", "5"), true)).toBe(
    5 - THREAD_DRAIN_MARGIN_SECONDS,
  );
  expect(threadDrainLimitSeconds(config("--timeout-graceful-shutdown", "0"), true)).toBe(0);
});

test("a process worker keeps the configured drain limit (its supervisor waits a grace beyond it)", () => {
  expect(threadDrainLimitSeconds(config("--timeout-graceful-shutdown", "1"), false)).toBeUndefined();
});
