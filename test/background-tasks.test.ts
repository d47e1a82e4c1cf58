import { expect, test } from "bun:test";
import { BackgroundTasks, waitForBackgroundTasks } from "../src/background-tasks.ts";

test("settled() resolves at once with nothing pending, else after the last task settles, rejected or not", async () => {
  const errors: unknown[] = [];
  const tasks = new BackgroundTasks((error) => errors.push(error));
  let idle = false;
  await tasks.settled();
  let finish: () => void = () => {};
  tasks.waitUntil(new Promise<void>((resolve) => (finish = resolve)));
  tasks.executionContext.waitUntil(Promise.reject(new Error("boom")));
  tasks.waitUntil("not a promise");
  expect(tasks.size).toBe(3);
  const settled = tasks.settled().then(() => (idle = true));
  const alsoSettled = tasks.settled();
  await Bun.sleep(5);
  expect(idle).toBe(false);
  expect(tasks.size).toBe(1);
  expect(errors.map(String)).toEqual(["Error: boom"]);
  finish();
  await Promise.all([settled, alsoSettled]);
  expect(tasks.size).toBe(0);
});

test("waitForBackgroundTasks says how many it waits for, and nothing when none", async () => {
  const said: string[] = [];
  const logger = { info: (message: string) => said.push(message) };
  const tasks = new BackgroundTasks(() => {});
  await waitForBackgroundTasks(tasks, logger);
  expect(said).toEqual([]);
  tasks.waitUntil(Bun.sleep(1));
  await waitForBackgroundTasks(tasks, logger);
  expect(said).toEqual(["Waiting for background tasks to complete. (1 handed to waitUntil)"]);
});
