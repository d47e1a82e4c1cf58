// A runtime started with --inspect, then process workers or --reload (src/runtime/inspector-port.ts):
// each child gets an inspector on a port of its own, the parent's plus 1, 2, 3... in the order
// they start, as node:cluster does. Before, every child was given the parent's port: Bun's children
// died at start (so nothing was served), Node's printed "Starting inspector ... failed: address
// already in use" and had none, and Deno's had none (the flag was dropped).
import { afterEach, describe, expect, test } from "bun:test";
import { withChildInspectorPort } from "../src/runtime/inspector-port.ts";
import { freePort, getBody, killAll, RUNTIMES, type RuntimeKey, startTsuv, waitLog } from "./helpers/tsuv.ts";

afterEach(killAll);

/**
 * A port with the next four free too (the parent's inspector and its children's), below the
 * kernel's ephemeral range: picked from 20000-50000 before, a run could reach into that range,
 * where another test's port-0 server could take one of its ports before an inspector bound it.
 */
const freeRun = () => freePort("127.0.0.1", 5);

/** What each runtime prints when an inspector listens on `port`. */
const LISTENING = (runtime: RuntimeKey, port: number): RegExp =>
  runtime === "bun"
    ? new RegExp(`ws://127\\.0\\.0\\.1:${port}/`)
    : new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${port}/`);

describe.each(RUNTIMES)("%s --inspect", (runtime) => {
  const inspect = (port: number) =>
    runtime === "deno" ? ["-A", `--inspect=127.0.0.1:${port}`] : [`--inspect=127.0.0.1:${port}`];

  test("two process workers serve, each with its own inspector", async () => {
    const port = await freeRun();
    const server = await startTsuv(
      runtime,
      ["test/fixtures/apps/main.ts:app", "--port", "0", "--workers", "2"],
      {
        runtimeFlags: inspect(port),
      },
    );
    expect(await getBody(server.url, "/")).toContain("app");
    for (const own of [port, port + 1, port + 2]) await waitLog(server, LISTENING(runtime, own), 1, 10_000);
    expect(server.stderr()).not.toMatch(/failed|Failed|died/);
    // Above the start and the three 10 s waits, so a slow start fails with waitLog's message and
    // the server's output: under the 20 s default, one CI run (Node 20, 2026-12-06) was cut off with
    // neither.
  }, 60_000);

  test("--reload's server has its own inspector", async () => {
    const port = await freeRun();
    const server = await startTsuv(runtime, ["test/fixtures/apps/main.ts:app", "--port", "0", "--reload"], {
      runtimeFlags: inspect(port),
    });
    // The child's inspector first: a child that never starts fails here, with the server's output
    // (one CI run, Deno under the parallel suite, had GET / unanswered for 10 s and said no more).
    await waitLog(server, LISTENING(runtime, port + 1), 1, 15_000);
    const body = await getBody(server.url, "/", 15_000);
    if (body === null)
      throw new Error(`GET / had no answer\n--- stderr\n${server.stderr()}\n--- stdout\n${server.stdout()}`);
    expect(body).toContain("app");
    expect(server.stderr()).not.toMatch(/failed|Failed|died/);
  }, 45_000);
});

describe("withChildInspectorPort", () => {
  test("Bun and Deno: each flag's port moved on by one per child, in every address form", () => {
    const first = withChildInspectorPort("bun", ["--smol", "--inspect=127.0.0.1:9300"]);
    const offset = Number(first[1]?.split(":").at(-1)) - 9300;
    expect(offset).toBeGreaterThan(0);
    const next = (runtime: "bun" | "deno", flag: string) => withChildInspectorPort(runtime, [flag])[0];
    expect(next("bun", "--inspect=9300")).toBe(`--inspect=${9300 + offset + 1}`);
    expect(next("deno", "--inspect-brk=[::1]:9300")).toBe(`--inspect-brk=[::1]:${9300 + offset + 2}`);
    expect(next("bun", "--inspect=ws://localhost:9300/debug")).toBe(
      `--inspect=ws://localhost:${9300 + offset + 3}/debug`,
    );
    // No port: the runtime's own default (Bun 6499, Deno 9229).
    expect(next("bun", "--inspect")).toBe(`--inspect=127.0.0.1:${6499 + offset + 4}`);
    expect(next("deno", "--inspect-wait=0.0.0.0")).toBe(`--inspect-wait=0.0.0.0:${9229 + offset + 5}`);
  });

  test("Node: --inspect-port added, from process.debugPort, for a flag or NODE_OPTIONS; nothing without", () => {
    const args = withChildInspectorPort("node", ["--inspect"], { parentPort: 9400, nodeOptions: "" });
    const port = Number(args[1]?.slice("--inspect-port=".length));
    expect(args[0]).toBe("--inspect");
    expect(port).toBeGreaterThan(9400);
    expect(withChildInspectorPort("node", [], { parentPort: 9400, nodeOptions: "--inspect=9400" })).toEqual([
      `--inspect-port=${port + 1}`,
    ]);
    expect(withChildInspectorPort("node", ["--max-old-space-size=64"])).toEqual(["--max-old-space-size=64"]);
  });

  test("past 65535 the ports wrap around to 1024, as node:cluster's", () => {
    const [flag] = withChildInspectorPort("deno", ["--inspect=65535"]);
    expect(Number(flag?.slice("--inspect=".length))).toBeGreaterThanOrEqual(1024);
    expect(Number(flag?.slice("--inspect=".length))).toBeLessThan(1100);
  });
});
