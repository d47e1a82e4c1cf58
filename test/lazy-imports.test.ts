/**
 * What a server loads depends on what its app needs: the WebSocket layer (crossws and the native
 * adapters) and the node-interface handler are imported only for apps that use them (src/server.ts),
 * which takes ~2 ms off a plain fetch app's start on Bun and ~4 ms on Deno; and on Bun a plain
 * server never loads node:fs. Bun names the modules it loads to a runtime plugin, and tsuv's
 * node:* modules pass through process.getBuiltinModule (test/fixtures/module-trace.ts, preloaded).
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { killAll, ROOT, startTsuv } from "./helpers/tsuv.ts";

afterEach(killAll);

const TRACE = join(ROOT, "test/fixtures/module-trace.ts");
const LAZY = ["websocket.ts", "websocket-crossws.ts", "node-app-handler.ts"];

/** Serves one request with `args`, stops gracefully, and lists what the process loaded. */
async function loadedBy(args: string[], path = "/"): Promise<{ modules: string[]; builtins: string[] }> {
  const server = await startTsuv("bun", [...args, "--port", "0"], { runtimeFlags: ["--preload", TRACE] });
  expect((await fetch(`${server.url}${path}`)).status).toBe(200);
  server.signal("SIGTERM");
  expect(await server.exited).toBe(0);
  const list = (name: string): string[] => {
    const line = server.stderr().match(new RegExp(`^tsuv ${name}: (.*)$`, "m"));
    if (!line) throw new Error(`no ${name} list in:\n${server.stderr()}`);
    return JSON.parse(line[1] as string) as string[];
  };
  return { modules: list("modules"), builtins: list("builtins") };
}

/** The src/ modules the process loaded (see loadedBy). */
async function modulesLoaded(args: string[], path = "/"): Promise<string[]> {
  return (await loadedBy(args, path)).modules;
}

test("a plain fetch app's server loads neither the WebSocket layer nor the node-interface handler", async () => {
  const loaded = await modulesLoaded(["test/fixtures/apps/main.ts"]);
  // The trace sees the server itself, so an empty list cannot pass for a lazy one.
  expect(loaded).toContain("server.ts");
  expect(loaded).toContain("request-handler.ts");
  expect(loaded.filter((name) => LAZY.includes(name))).toEqual([]);
}, 20_000);

test("a plain single server on Bun never loads node:fs (~5 ms of Bun's start-up)", async () => {
  // The app's file and real path come from Bun's resolver, whether SIGHUP is ignored from an early
  // read of /proc/self/status (src/runtime/index.ts bunResolvedPath, src/runtime/bun.ts).
  const { builtins } = await loadedBy(["test/fixtures/apps/main.ts"]);
  // The trace sees tsuv's first use of a builtin, so an empty list cannot pass for one without fs.
  expect(builtins).toContain("node:process");
  expect(builtins).not.toContain("node:fs");
}, 20_000);

test("an app with WebSocket hooks, or --ws none, loads the WebSocket layer", async () => {
  const hooks = await modulesLoaded(["test/fixtures/apps/websocket.ts"], "/plain");
  expect(hooks).toContain("websocket.ts");
  expect(hooks).toContain("websocket-crossws.ts");
  expect(hooks).not.toContain("node-app-handler.ts");
  // --ws none: the layer's warnOnUpgrade answers upgrades with a logged 400 (websocket.test.ts).
  expect(await modulesLoaded(["test/fixtures/apps/main.ts", "--ws", "none"])).toContain("websocket.ts");
}, 20_000);

test("a node-interface app loads the node-interface handler", async () => {
  const loaded = await modulesLoaded(
    ["test/fixtures/apps/node-app.ts", "--interface", "node"],
    "/own-server",
  );
  expect(loaded).toContain("node-app-handler.ts");
}, 20_000);
