/**
 * On Deno, a single server takes pid, env, signals and exit from the Deno namespace
 * (src/runtime/deno-process.ts) and loads no node:* module for them, nor for paths (paths.ts),
 * nor for its timers (web-timer.ts): the first one would start Deno's Node compatibility layer
 * (~30 ms of start-up; 10-14 ms for the timers alone).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import { deno, ROOT } from "../scripts/tools.mjs";

const CONFIG = `--config=${join(ROOT, "deno.json")}`;

test("deno: the env object reads and writes Deno.env, signals come and go, exit keeps its code", async () => {
  const proc = spawn(
    [deno(), "run", "-A", CONFIG, join(ROOT, "test/fixtures/deno-process-driver.ts"), "x", "--y"],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(7);
  const [report, exitLine] = out.trim().split("\n");
  expect(exitLine).toBe("exit handler 7");
  expect(JSON.parse(report as string)).toEqual({
    pid: true,
    setVisibleToDeno: "deleted",
    seenNative: "from-deno",
    hasBefore: true,
    spreadHas: true,
    missing: null,
    hups: 1,
    resolved: true,
    argv: ["x", "--y"],
  });
}, 20_000);

/**
 * A single server on Deno with its debug log on, which names every module Deno reads and loads:
 * started, asked for two paths (the access log is on: its flush is a timer), left to run its first
 * main-loop tick (one a second: the date header, a worker's heartbeat), then killed.
 */
async function serveWithDebugLog(): Promise<{ log: string; access: string }> {
  const proc = spawn(
    [
      deno(),
      "run",
      "-A",
      "--log-level=debug",
      CONFIG,
      join(ROOT, "src/cli.ts"),
      join(ROOT, "test/fixtures/apps/main.ts"),
      "--port",
      "0",
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  let log = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of proc.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  const access = new Response(proc.stdout).text();
  try {
    const deadline = Date.now() + 15_000;
    let url: string | undefined;
    while (url === undefined && Date.now() < deadline) {
      url = /tsuv running on (http:\/\/\S+)/.exec(log)?.[1];
      if (url === undefined) await Bun.sleep(20);
    }
    expect(url).toBeDefined();
    for (const path of ["/", "/missing"]) await (await fetch(`${url}${path}`)).arrayBuffer();
    await Bun.sleep(1_200);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
    await reading;
  }
  return { log, access: await access };
}

test("deno: a single server loads no node:* module, through start-up and its first requests", async () => {
  const { log, access } = await serveWithDebugLog();
  // The flush ran: both access lines are out.
  expect(access.match(/"GET \/(missing)? HTTP\/1.1"/g)).toHaveLength(2);
  // Node's built-in modules are ext:deno_node/NAME.ts (and their internals in subfolders); their
  // timers are loaded by the first setTimeout/clearTimeout since Deno 2.8 (runtime/web-timer.ts).
  const loaded = [...log.matchAll(/ES module: ext:deno_node\/([a-z_/]+)\.(?:ts|mjs|js)\b/g)].map((m) => m[1]);
  expect(loaded).toEqual([]);
}, 20_000);

test("deno: a single server does not read the other runtimes' adapters, the supervisors or a worker's entry", async () => {
  // Deno reads every module a static import or a literal import() reaches before it runs any;
  // those are imported through split specifiers (src/runtime/index.ts, loadAdapter).
  const { log } = await serveWithDebugLog();
  const read = new Set(
    [...log.matchAll(/FileFetcher::fetch_no_follow - specifier: file:\/\/(\S+)/g)].map((m) =>
      (m[1] as string).slice(ROOT.length + 1),
    ),
  );
  // The log names what is read: Deno's own adapter and the app are.
  expect(read).toContain("src/runtime/deno.ts");
  expect(read).toContain("test/fixtures/apps/main.ts");
  const notNeeded = [...read].filter(
    (path) =>
      path === "src/runtime/bun.ts" ||
      path === "src/runtime/node.ts" ||
      path === "src/worker.ts" ||
      path.startsWith("src/supervisors/"),
  );
  expect(notNeeded).toEqual([]);
}, 20_000);
