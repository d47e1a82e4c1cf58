/**
 * The process worker class: the process twins of the seed's test_multithread.py tests (see
 * multithread.test.ts for the mapping; each test here names its thread twin), written over the same
 * shared supervisor with FakeWorkerPorts that answer pings instead of sending heartbeats, plus real
 * child processes through the plumbing: healthcheck from the event loop, SIGKILL of a hung child,
 * and a child exiting on its own when its parent dies. The Multithread tests both classes share are
 * in worker-class-suite.ts (`shared.*`, called with the process kit below).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { WorkerMessage } from "../../src/runtime/adapter.ts";
import { detectRuntime } from "../../src/runtime/detect.ts";
import { createPlumbing } from "../../src/runtime/plumbing.ts";
import { Multiprocess, processShutdownTimeout } from "../../src/supervisors/multiprocess.ts";
import type { WorkerHandle } from "../../src/supervisors/worker-handle.ts";
import { fakeRuntime } from "../helpers/fake-runtime.ts";
import { printedChildPid, processAlive } from "../helpers/tsuv.ts";
import { fakeWorker } from "./fake-worker.ts";
import { settle } from "./fakes.ts";
import * as shared from "./worker-class-suite.ts";

const multiprocess = shared.supervised("process", Multiprocess);

const child = (pid: number | undefined) => `Child process [${pid}]`;
/** The process class for the shared Multithread tests (worker-class-suite.ts). */
const processes: shared.WorkerClassKit = {
  create: multiprocess,
  argv: (workers, ...extra) => ["main:app", "--workers", String(workers), ...extra],
  singular: "process",
  plural: "processes",
  deathCode: null,
  died: (port) => `${child(port.pid)} died`,
  restarted: (worker) => `${child(worker.pid)} restarted`,
  terminated: (port) => `Terminated child process [${port.pid}]`,
  waiting: (port) => `Waiting for child process [${port.pid}]`,
  didNotExit: (port, seconds) => `${child(port.pid)} did not exit within ${seconds} seconds.`,
  joinSeconds: 4, // --timeout-graceful-shutdown 3, plus the 1 s the child's own drain may overrun
};

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/workers/${name}`, import.meta.url));
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
});

describe("process twins of the seed's Thread tests", () => {
  test("each child gets the parent-bound socket (twin: duplicated sockets)", async () => {
    const { supervisor, ports } = multiprocess();
    await supervisor.prepare();
    supervisor.initWorkers();
    expect(ports).toHaveLength(2);
    for (const port of ports) {
      expect(port.shared?.fd).toBe(10);
      expect(port.boot.listen).toEqual({ kind: "fd", fd: 10 });
    }
  });

  test("with reusePort sharing (Bun, Deno), port 0 is probed once and every child binds it", async () => {
    const deno = fakeRuntime({
      name: "deno",
      displayName: "Deno",
      version: "2.9.6",
      caps: { listenOnFd: false, passSocketToChild: false, unstableNet: true },
    });
    const { supervisor, ports, probed } = multiprocess(["main:app", "--workers", "2", "--port", "0"], {
      runtime: deno,
      probedPort: 4555,
    });
    await supervisor.prepare();
    supervisor.initWorkers();
    expect(probed).toEqual([{ host: "127.0.0.1", port: 0 }]);
    for (const port of ports) {
      expect(port.shared).toBeNull();
      expect(port.boot.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 4555, reusePort: true });
    }
  });

  test("stop, SIGTERM and SIGINT ask the child's server to shut down (twin: terminate sets should_exit)", async () => {
    const worker = fakeWorker({ thread: false, fd: 4 });
    await settle();
    worker.deliver({ type: "stop" });
    worker.signals.get("SIGTERM")?.();
    // Ctrl+C reaches the child as SIGINT and, through the supervisor, as `stop`, in either order:
    // only the child's own second SIGINT (a second Ctrl+C) forces.
    worker.signals.get("SIGINT")?.();
    worker.signals.get("SIGINT")?.();
    expect(worker.shutdowns).toEqual([false, false, false, true]);
    worker.finish(0);
    expect(await worker.running).toBe(0);
    expect(worker.signals.size).toBe(0); // unsubscribed
  });

  test("a ping is answered with a pong from the event loop (twin: heartbeat recorded on tick)", async () => {
    const worker = fakeWorker({ thread: false, fd: 4 });
    await settle();
    worker.deliver({ type: "ping", id: 7 });
    expect(worker.sent).toContainEqual({ type: "pong", id: 7 });
    worker.finish(0);
    await worker.running;
  });

  test("an unanswered ping older than the timeout is unhealthy; a pong clears it (twin: is_healthy)", async () => {
    const { supervisor, port, clock } = multiprocess([
      "main:app",
      "--workers",
      "2",
      "--timeout-worker-healthcheck",
      "1",
    ]);
    supervisor.initWorkers();
    await settle();
    const handle = supervisor.slots[0] as WorkerHandle;
    port(0).healthy = false;
    expect(handle.heartbeat.pingAnswered(1000)).toBe(true); // sends ping 1
    await clock.advance(1500);
    expect(handle.heartbeat.pingAnswered(1000)).toBe(false);
    port(0).emit({ type: "pong", id: 1 });
    expect(handle.heartbeat.pingAnswered(1000)).toBe(true); // a fresh ping goes out
    expect(port(0).pings()).toBe(2);
  });

  test("a real child answers pings, stops on request and reports exit 0 (twin: start and join)", async () => {
    const plumbing = createPlumbing(detectRuntime(), {
      processCommand: { file: process.execPath, args: [fixture("child.ts")] },
    });
    const port = plumbing.spawnProcess(
      { argv: [], listen: { kind: "tcp", host: "127.0.0.1", port: 1, reusePort: true } },
      null,
    );
    pids.push(port.pid as number);
    const said: WorkerMessage[] = [];
    const exit = new Promise<number | null>((done) => port.onExit(done));
    await new Promise<void>((done) =>
      port.onMessage((message) => {
        said.push(message);
        if (message.type === "ready") done();
      }),
    );
    port.send({ type: "ping", id: 1 });
    await new Promise((done) => setTimeout(done, 200));
    expect(said).toContainEqual({ type: "pong", id: 1 });
    port.send({ type: "stop" });
    expect(await exit).toBe(0);
  });

  test("a real child stuck in its event loop misses the ping, and kill() ends it (twin: hung thread)", async () => {
    const plumbing = createPlumbing(detectRuntime(), {
      processCommand: { file: process.execPath, args: [fixture("child.ts")] },
    });
    const port = plumbing.spawnProcess(
      { argv: ["--hang"], listen: { kind: "tcp", host: "127.0.0.1", port: 1, reusePort: true } },
      null,
    );
    pids.push(port.pid as number);
    const said: WorkerMessage[] = [];
    port.onMessage((message) => said.push(message));
    const exit = new Promise<number | null>((done) => port.onExit(done));
    await new Promise((done) => setTimeout(done, 300));
    port.send({ type: "ping", id: 1 });
    await new Promise((done) => setTimeout(done, 300));
    expect(said.some((m) => m.type === "pong")).toBe(false);
    port.kill();
    expect(await exit).toBeNull(); // SIGKILL
  });

  test("a child exits by itself within 2 s when its parent is SIGKILLed", async () => {
    const parent = spawn(process.execPath, [fixture("orphan-parent.ts")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    pids.push(parent.pid as number);
    const childPid = await printedChildPid(parent);
    pids.push(childPid);
    process.kill(parent.pid as number, "SIGKILL");
    const killedAt = performance.now();
    const alive = () => processAlive(childPid);
    while (alive() && performance.now() - killedAt < 5000) await new Promise((done) => setTimeout(done, 50));
    expect(alive()).toBe(false);
    expect(performance.now() - killedAt).toBeLessThan(2000);
  });
});

describe("process twins of the seed's Multithread tests", () => {
  shared.initTerminateJoinRestart(processes, "init, terminate, join and restart all processes");

  shared.keepAliveReplacesDead(processes, "keepAlive replaces a dead process and logs its pid");

  test("keepAlive SIGKILLs and replaces a process that misses its ping", async () => {
    const { supervisor, port, clock, logger } = multiprocess();
    supervisor.initWorkers();
    await settle();
    port(0).healthy = false;
    supervisor.keepAlive(); // pings go out
    await clock.advance(5500);
    supervisor.keepAlive();
    expect(port(0).killed).toBe(true);
    expect(port(0).stopped).toBe(false); // no graceful stop for a process: SIGKILL
    expect(supervisor.slots[0]?.port).not.toBe(port(0));
    expect(logger.messages("warning")).toEqual([
      `Child process [${port(0).pid}] failed healthcheck; killing it and starting a replacement process.`,
    ]);
    expect(supervisor.slots[1]?.port).toBe(port(1));
  });

  test("no ping is sent before a process is ready", async () => {
    const { supervisor, port, clock } = multiprocess(["main:app", "--workers", "1"], { autoReady: false });
    supervisor.initWorkers();
    for (let i = 0; i < 20; i++) {
      await clock.advance(500);
      supervisor.keepAlive();
    }
    expect(port(0).pings()).toBe(0);
    expect(port(0).killed).toBe(false);
    port(0).markReady();
    supervisor.keepAlive();
    expect(port(0).pings()).toBe(1);
  });

  test("a killed process that has not exited yet is tracked without waiting", async () => {
    const { supervisor, port, clock } = multiprocess(["main:app", "--workers", "1"]);
    supervisor.initWorkers();
    await settle();
    port(0).healthy = false;
    port(0).dieOnKill = false;
    supervisor.keepAlive();
    await clock.advance(6000);
    supervisor.keepAlive();
    expect(supervisor.stale.map((w) => w.port)).toEqual([port(0)]);
    port(0).exit(null);
    supervisor.reapStale();
    expect(supervisor.stale).toHaveLength(0);
  });

  shared.pauseOverlooked(
    processes,
    "a pause of the whole tree longer than the healthcheck timeout replaces no healthy worker",
  );
  shared.keepAliveNoopWhenExiting(processes, "keepAlive does nothing once exiting");

  shared.signalHandlers(processes, "TTIN, TTOU, HUP and TERM handlers, with process wording");

  shared.joinAllUsesTimeoutAndWarns(processes, "joinAll waits the shutdown timeout, warns, and SIGKILLs");

  test("the process shutdown timeout is the child's own drain limit plus 1 s", () => {
    expect(processShutdownTimeout({ timeoutGracefulShutdown: 3 })).toBe(4);
    expect(processShutdownTimeout({ timeoutGracefulShutdown: undefined })).toBe(31);
    const { supervisor } = multiprocess(["main:app", "--workers", "2", "--timeout-worker-healthcheck", "7"]);
    expect(supervisor.shutdownTimeoutSeconds).toBe(31);
  });

  shared.handleBreak(processes, "SIGBREAK exits");

  shared.handleSignalsAndRun(processes, "queued signals are handled, and run() stops on SIGINT");
});

describe("process class beyond the seed", () => {
  shared.failedReplacementAfterBoot(
    processes,
    "after boot, a replacement that cannot start is retried with backoff while the others serve on",
  );
  shared.recycleOnMaxRequests(
    processes,
    "--limit-max-requests: a child serves on until its replacement is ready, then retires",
  );
  shared.recycleWaitsForRestart(
    processes,
    "a recycle request waits for a SIGHUP restart, and none starts during shutdown",
  );
  shared.hupsDuringRestart(
    processes,
    "SIGHUPs during a rolling restart run one more round once it ends, however many came",
  );
  shared.ttinDuringRestart(processes, "a worker SIGTTIN adds during a rolling restart is not restarted");

  test("a child that fails startup stops everything with exit code 3 (uvicorn exits 0 here)", async () => {
    const { supervisor, port, ports, clock, logger } = multiprocess(undefined, { autoReady: false });
    const running = supervisor.run();
    await clock.advance(0);
    port(0).markReady();
    port(1).fatal(3);
    port(1).exit(3);
    expect(await running).toBe(3);
    expect(ports).toHaveLength(2);
    expect(logger.messages("error")).toContain(
      `Child process [${port(1).pid}] failed to start (exit code 3); stopping all processes instead of restarting it.`,
    );
  });

  test("rolling restart keeps the old child until the new one is ready, and aborts if it is not", async () => {
    const { supervisor, port, clock, logger } = shared.twoReady(processes);
    supervisor.handleHup();
    supervisor.tick();
    expect(port(0).stopped).toBe(false);
    port(2).markReady();
    supervisor.tick();
    expect(port(0).stopped).toBe(true);
    expect(supervisor.slots[0]?.port).toBe(port(2));
    await clock.advance(30_000);
    supervisor.tick();
    expect(port(3).killed).toBe(true);
    expect(port(1).stopped).toBe(false);
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(1)]);
    expect(logger.messages("error")).toContain(
      "Rolling restart aborted: the new process was not ready within 30.00 seconds; keeping the old processes. For an app that takes longer to start, raise --timeout-worker-healthcheck: the wait is the longer of 30 s and that.",
    );
  });

  test("run() logs the uvicorn lines and stops every child on SIGTERM", async () => {
    const { supervisor, clock, logger, ports, raise } = multiprocess();
    const running = supervisor.run();
    clock.at(1500, () => raise("SIGTERM"));
    expect(await running).toBe(0);
    const [a, b] = ports.map((port) => port.pid);
    expect(logger.messages("info")).toEqual([
      "tsuv running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
      "Started parent process [4242]",
      "Received SIGTERM, exiting.",
      `Terminated child process [${a}]`,
      `Terminated child process [${b}]`,
      "Stopping parent process [4242]",
    ]);
  });
});
