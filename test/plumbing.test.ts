/**
 * src/runtime/plumbing.ts on the runtime running the tests (Bun): how process workers are re-run,
 * what they receive, and the thread entry. Thread and process lifecycles (exit codes, kill, orphan
 * exit) are tested beside the supervisors, as the seed tests its Thread class.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { WorkerMessage } from "../src/runtime/adapter.ts";
import { detectRuntime } from "../src/runtime/detect.ts";
import {
  CHILD_SOCKET_FD,
  createPlumbing,
  isWorkerThread,
  ORPHAN_POLL_MS,
  ownCliEntry,
  type ParentView,
  processCommand,
  respawnOwnEntry,
  type StartPoll,
  watchParent,
} from "../src/runtime/plumbing.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/workers/${name}`, import.meta.url));

const savedArgv = [...process.argv];
afterEach(() => {
  process.argv.splice(0, process.argv.length, ...savedArgv);
});

describe("processCommand: re-run this same tsuv, never a runtime found on PATH", () => {
  test("Node.js and Bun: the executable, its flags, and the entry script (Node's after `--`)", () => {
    process.argv[1] = "/opt/tsuv/dist/cli.mjs";
    const respawn = { ok: true, runtimeArgs: ["--max-old-space-size=256"] } as const;
    const command = processCommand(fakeRuntime({ name: "node", caps: { respawn } }));
    expect(command.file).toBe(process.execPath);
    // `--`: Node would read the worker's own `--env-file` as its option too (nodejs/node#54232).
    expect(command.args).toEqual(["--max-old-space-size=256", "--", "/opt/tsuv/dist/cli.mjs"]);
    const bun = processCommand(fakeRuntime({ name: "bun", displayName: "Bun", caps: { respawn } }));
    expect(bun.args).toEqual(["--max-old-space-size=256", "/opt/tsuv/dist/cli.mjs"]);
  });

  test("Deno: run, the parent's flags, the unstable net API when the parent has it, no legacy abort where known, the entry", () => {
    process.argv[1] = "/opt/tsuv/src/cli.ts";
    const respawn = { ok: true, runtimeArgs: ["-A", "--location=https://x/"] } as const;
    const deno = (unstableNet: boolean, version = "2.9.6") =>
      processCommand(
        fakeRuntime({ name: "deno", displayName: "Deno", version, caps: { unstableNet, respawn } }),
      );
    const noLegacyAbort = "--unstable-no-legacy-abort";
    const parent = respawn.runtimeArgs;
    expect(deno(true).args).toEqual([
      "run",
      ...parent,
      "--unstable-net",
      noLegacyAbort,
      "/opt/tsuv/src/cli.ts",
    ]);
    expect(deno(false).args).toEqual(["run", ...parent, noLegacyAbort, "/opt/tsuv/src/cli.ts"]);
    expect(deno(true, "2.3.0").args).toContain(noLegacyAbort);
    // Older: the flag would be refused as unknown.
    expect(deno(true, "2.2.12").args).toEqual(["run", ...parent, "--unstable-net", "/opt/tsuv/src/cli.ts"]);
  });

  test("a runtime that cannot re-run itself throws its reason (config.ts refuses first)", () => {
    process.argv[1] = "/opt/tsuv/src/cli.ts";
    const respawn = { ok: false, reason: "starts Deno again, which it may not" } as const;
    expect(() => processCommand(fakeRuntime({ name: "deno", caps: { respawn } }))).toThrow(
      "cannot re-run tsuv: it starts Deno again, which it may not",
    );
  });

  test("a compiled Bun binary re-runs itself, with no script", () => {
    const bun = fakeRuntime({ name: "bun", displayName: "Bun", version: "1.4.5" });
    process.argv[1] = "/$bunfs/root/tsuv";
    expect(processCommand(bun)).toEqual({ file: process.execPath, args: [] });
    process.argv[1] = "B:/~BUN/root/tsuv.exe";
    expect(processCommand(bun)).toEqual({ file: process.execPath, args: [] });
  });
});

describe("ownCliEntry: what the library's workers run (never the caller's script, which calls run() again)", () => {
  const node = fakeRuntime({ name: "node" });
  const bun = fakeRuntime({ name: "bun", displayName: "Bun" });
  const deno = fakeRuntime({ name: "deno", displayName: "Deno" });

  test("tsuv's command beside the module that asks: sources, the Node bundle, Bun's and Deno's builds", () => {
    expect(ownCliEntry(bun, "file:///opt/tsuv/src/runtime/plumbing.ts")).toBe("/opt/tsuv/src/cli.ts");
    expect(ownCliEntry(node, "file:///opt/tsuv/dist/index.mjs")).toBe("/opt/tsuv/dist/cli.mjs");
    expect(ownCliEntry(bun, "file:///opt/tsuv/dist/index.mjs")).toBe("/opt/tsuv/dist/cli.mjs");
    // Deno running the Node bundle from npm gets its own build, beside it.
    expect(ownCliEntry(deno, "file:///opt/tsuv/dist/index.mjs")).toBe("/opt/tsuv/dist/deno/cli.mjs");
    expect(ownCliEntry(bun, "file:///opt/tsuv/dist/bun/chunk-0a1b.mjs")).toBe("/opt/tsuv/dist/bun/cli.mjs");
    expect(ownCliEntry(deno, "file:///opt/tsuv/dist/deno/chunk-0a1b.mjs")).toBe(
      "/opt/tsuv/dist/deno/cli.mjs",
    );
    expect(ownCliEntry(deno, "file:///opt/my%20app/node_modules/tsuv/dist/index.mjs")).toBe(
      "/opt/my app/node_modules/tsuv/dist/deno/cli.mjs",
    );
    // From JSR: a remote module, run as its URL.
    expect(ownCliEntry(deno, "https://jsr.io/@tsuv/tsuv/0.1.0/src/runtime/plumbing.ts")).toBe(
      "https://jsr.io/@tsuv/tsuv/0.1.0/src/cli.ts",
    );
  });

  test("from this checkout's sources it is src/cli.ts, and the library's respawn runs it", () => {
    expect(ownCliEntry(detectRuntime())).toBe(fileURLToPath(new URL("../src/cli.ts", import.meta.url)));
    process.argv[1] = "/home/me/project/main.ts";
    const respawn = { ok: true, runtimeArgs: [] } as const;
    expect(processCommand(fakeRuntime({ name: "bun", caps: { respawn } })).args).toEqual([
      "/home/me/project/main.ts",
    ]);
    respawnOwnEntry();
    try {
      expect(processCommand(fakeRuntime({ name: "bun", caps: { respawn } })).args).toEqual([
        fileURLToPath(new URL("../src/cli.ts", import.meta.url)),
      ]);
    } finally {
      respawnOwnEntry(false);
    }
  });
});

describe("spawnProcess", () => {
  async function report(shared: { fd: number } | null, argv: string[]) {
    const plumbing = createPlumbing(detectRuntime(), {
      processCommand: { file: process.execPath, args: [fixture("boot-echo.ts")] },
    });
    const listen = { kind: "tcp", host: "127.0.0.1", port: 5, reusePort: true } as const;
    const port = plumbing.spawnProcess(
      { argv, listen },
      shared && { fd: shared.fd, address: { kind: "tcp", host: "127.0.0.1", port: 5 }, close() {} },
    );
    const message = await new Promise<WorkerMessage>((done) => port.onMessage(done));
    const code = await new Promise<number | null>((done) => port.onExit(done));
    expect(code).toBe(0);
    if (message.type !== "fatal") throw new Error("unexpected message");
    return JSON.parse(message.message) as {
      boot: { argv: string[]; listen: unknown };
      inode: number | null;
      envLeft: string | null;
      argv: string[];
    };
  }

  test("hands the shared socket over as fd 4, and says so in the boot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-plumbing-"));
    writeFileSync(join(dir, "f"), "x");
    const fd = openSync(join(dir, "f"), "r");
    try {
      const got = await report({ fd }, ["main:app", "--workers", "2"]);
      expect(CHILD_SOCKET_FD).toBe(4);
      expect(got.boot.listen).toEqual({ kind: "fd", fd: 4 });
      expect(got.inode).toBe(fstatSync(fd).ino);
      expect(got.boot.argv).toEqual(["main:app", "--workers", "2"]);
      // The boot's argv is also on the command line (for ps), and the variable is not passed on.
      expect(got.argv).toEqual(["main:app", "--workers", "2"]);
      expect(got.envLeft).toBeNull();
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without a shared socket the boot's listen target is unchanged (reusePort)", async () => {
    const got = await report(null, ["main:app"]);
    expect(got.boot.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 5, reusePort: true });
  });

  test("a command that cannot start reports an exit instead of throwing", async () => {
    const plumbing = createPlumbing(detectRuntime(), {
      processCommand: { file: "/nonexistent/tsuv", args: [] },
    });
    const port = plumbing.spawnProcess({ argv: [], listen: { kind: "fd", fd: 3 } }, null);
    expect(await new Promise<number | null>((done) => port.onExit(done))).not.toBe(0);
    port.send({ type: "stop" }); // no throw on a dead worker
    port.kill();
  });
});

describe("threads", () => {
  test("the test process itself is not a worker thread and has no supervisor channel", () => {
    expect(isWorkerThread()).toBe(false);
    expect(createPlumbing(detectRuntime()).supervisorChannel()).toBeNull();
  });

  test("send() and kill() after a thread exited are harmless", async () => {
    const plumbing = createPlumbing(detectRuntime(), {
      threadEntry: new URL("./fixtures/workers/finishes.mjs", import.meta.url),
    });
    const port = plumbing.startThread({ argv: [], listen: { kind: "fd", fd: 0 } });
    await new Promise((done) => port.onExit(done));
    port.send({ type: "ping", id: 1 });
    port.kill();
  });
});

describe("watchParent: a process worker notices that its supervisor is gone", () => {
  /** node:process as watchParent sees it: a parent pid, the channel, its 'disconnect'. */
  function fakeProcess(ppid = 100) {
    const view = { connected: true, ppid, disconnect: undefined as (() => void) | undefined };
    const process: ParentView = {
      get connected() {
        return view.connected;
      },
      get ppid() {
        return view.ppid;
      },
      once(_event, listener) {
        view.disconnect = listener;
      },
    };
    return { view, process };
  }
  /** A poll the test runs by hand: `check()` is one tick of it. */
  function fakePoll() {
    const poll = { started: 0, stopped: 0, ms: 0, check: () => {} };
    const start: StartPoll = (check, ms) => {
      poll.started++;
      poll.ms = ms;
      poll.check = check;
      return () => poll.stopped++;
    };
    return { poll, start };
  }

  test("without a poll (Node, Bun): the channel's 'disconnect' alone, and no timer at all", async () => {
    const { view, process } = fakeProcess();
    let fired = 0;
    watchParent(process, 100, () => fired++, null);
    view.ppid = 1; // re-parented: nothing looks at it
    await Promise.resolve();
    expect(fired).toBe(0);
    view.disconnect?.();
    view.disconnect?.();
    expect(fired).toBe(1);
  });

  test("with a poll (Deno): re-parenting is seen at the next check, and the poll stops", () => {
    const { view, process } = fakeProcess();
    const { poll, start } = fakePoll();
    let fired = 0;
    watchParent(process, 100, () => fired++, start);
    expect(poll).toMatchObject({ started: 1, ms: ORPHAN_POLL_MS });
    poll.check();
    expect(fired).toBe(0);
    view.ppid = 1;
    poll.check();
    expect(fired).toBe(1);
    expect(poll.stopped).toBe(1);
    view.disconnect?.(); // a late 'disconnect' too: still once
    expect(fired).toBe(1);
  });

  test("with a poll: a channel that closed without 'disconnect' is seen too", () => {
    const { view, process } = fakeProcess();
    const { poll, start } = fakePoll();
    let fired = 0;
    watchParent(process, 100, () => fired++, start);
    view.connected = false;
    poll.check();
    expect(fired).toBe(1);
  });

  test("a parent gone before the watch began fires at once, with or without a poll", async () => {
    for (const startPoll of [null, fakePoll().start]) {
      const closed = fakeProcess();
      closed.view.connected = false; // 'disconnect' came before the listener
      let fired = 0;
      watchParent(closed.process, 100, () => fired++, startPoll);
      await Promise.resolve();
      expect(fired).toBe(1);
      const reparented = fakeProcess(1); // re-parented between the read of its parent and the watch
      watchParent(reparented.process, 100, () => fired++, startPoll);
      await Promise.resolve();
      expect(fired).toBe(2);
    }
  });
});
