/**
 * src/runtime/plumbing.ts on the runtime running the tests (Bun): how process workers are re-run,
 * what they receive, and the thread entry. Thread and process lifecycles (exit codes, kill, orphan
 * exit) are tested beside the supervisors, as the seed tests its Thread class.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { deno, ROOT } from "../scripts/tools.mjs";
import type { WorkerMessage } from "../src/runtime/adapter.ts";
import { detectRuntime } from "../src/runtime/detect.ts";
import {
  CHILD_SOCKET_FD,
  createPlumbing,
  isWorkerThread,
  ownCliEntry,
  type ParentView,
  processCommand,
  respawnOwnEntry,
  watchParent,
} from "../src/runtime/plumbing.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { printedChildPid, processAlive } from "./helpers/tsuv.ts";

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
  async function report(shared: { fd: number } | null, argv: string[], parentPipe = false) {
    const plumbing = createPlumbing(detectRuntime(), {
      processCommand: { file: process.execPath, args: [fixture("boot-echo.ts")] },
      ...(parentPipe ? { parentPipeEnd: async () => {} } : {}),
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
      boot: { argv: string[]; listen: unknown; parentPipe?: boolean };
      inode: number | null;
      stdinIsPipe: boolean;
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

  test("where the runtime reads a parent pipe (Deno), stdin is one and the boot says so; elsewhere neither", async () => {
    const piped = await report(null, ["main:app"], true);
    expect(piped.stdinIsPipe).toBe(true);
    expect(piped.boot.parentPipe).toBe(true);
    const plain = await report(null, ["main:app"]);
    expect(plain.stdinIsPipe).toBe(false);
    expect(plain.boot.parentPipe).toBeUndefined();
  });

  test("Deno: a child reading its parent pipe with stdinEnd() sees it end when the parent is SIGKILLed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-pipe-"));
    const marker = join(dir, "gone");
    // Deno on both sides, as a Deno supervisor and its workers are.
    const run = [deno(), "run", "-A", `--config=${join(ROOT, "deno.json")}`];
    const parent = spawn(
      run[0] as string,
      [...run.slice(1), fixture("pipe-parent.ts"), ...run, fixture("pipe-child.ts"), marker],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let childPid: number | undefined;
    try {
      childPid = await printedChildPid(parent);
      await Bun.sleep(500); // the child's read is waiting
      expect(existsSync(marker)).toBe(false);
      process.kill(parent.pid as number, "SIGKILL");
      const deadline = Date.now() + 3000;
      while (!existsSync(marker) && Date.now() < deadline) await Bun.sleep(20);
      expect(existsSync(marker)).toBe(true);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
      if (childPid !== undefined && processAlive(childPid)) process.kill(childPid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

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
  /** A parent pipe the test ends by hand. */
  function fakePipe() {
    let end: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const ended = new Promise<void>((done, failed) => {
      end = done;
      fail = failed;
    });
    return { ended, end: () => end(), fail: (error: Error) => fail(error) };
  }

  test("Node, Bun: the channel's 'disconnect' alone, once", async () => {
    const { view, process } = fakeProcess();
    let fired = 0;
    watchParent(process, 100, () => fired++, null);
    await Promise.resolve();
    expect(fired).toBe(0);
    view.disconnect?.();
    view.disconnect?.();
    expect(fired).toBe(1);
  });

  test("Deno: the parent pipe's end is enough (no 'disconnect' came), and a late 'disconnect' adds nothing", async () => {
    const { view, process } = fakeProcess();
    const pipe = fakePipe();
    let fired = 0;
    watchParent(process, 100, () => fired++, pipe.ended);
    await Bun.sleep(0);
    expect(fired).toBe(0);
    pipe.end();
    await Bun.sleep(0);
    expect(fired).toBe(1);
    view.disconnect?.();
    expect(fired).toBe(1);
  });

  test("Deno: a pipe that fails is its end too", async () => {
    const { process } = fakeProcess();
    const pipe = fakePipe();
    let fired = 0;
    watchParent(process, 100, () => fired++, pipe.ended);
    pipe.fail(new Error("EBADF"));
    await Bun.sleep(0);
    expect(fired).toBe(1);
  });

  test("a parent gone before the watch began fires at once", async () => {
    const closed = fakeProcess();
    closed.view.connected = false; // 'disconnect' came before the listener
    let fired = 0;
    watchParent(closed.process, 100, () => fired++, null);
    await Promise.resolve();
    expect(fired).toBe(1);
    const reparented = fakeProcess(1); // re-parented between the read of its parent and the watch
    watchParent(reparented.process, 100, () => fired++, fakePipe().ended);
    await Promise.resolve();
    expect(fired).toBe(2);
  });
});
