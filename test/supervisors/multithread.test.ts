/**
 * The thread worker class. One test per test in the seed's tests/supervisors/test_multithread.py,
 * same intent and assertions (FakeWorkerPort plays FakeThread; a virtual clock replaces waiting):
 *
 *   test_thread_target_passes_duplicated_sockets             -> "each thread's boot names the socket the parent shares"
 *   test_thread_terminate_sets_server_exit_flag              -> "stopping a thread asks its server to shut down"
 *   test_thread_record_heartbeat_and_is_healthy              -> "a heartbeat makes a stale thread healthy again"
 *   test_server_progress_callback_records_heartbeat_on_tick  -> "the server's tick sends the heartbeat the supervisor records"
 *   test_thread_start_and_join                               -> "a real thread starts, finishes and reports its exit"
 *   test_thread_join_timeout_returns_false_for_hung_thread   -> "a real hung thread does not exit by itself, and kill() ends it"
 *   test_multithread_init_terminate_join_and_restart         -> "init, terminate, join and restart all threads"
 *   test_multithread_keep_subthread_alive_replaces_dead_thread      -> "keepAlive replaces a dead thread"
 *   test_multithread_keep_subthread_alive_replaces_unhealthy_thread -> "keepAlive replaces an unhealthy thread"
 *   test_multithread_keep_subthread_alive_skips_healthcheck_until_ready -> "keepAlive skips the healthcheck until ready"
 *   test_multithread_keep_subthread_alive_replaces_unhealthy_thread_without_blocking_join
 *                                                            -> "an unhealthy thread that will not stop is kept as stale, without waiting"
 *   test_multithread_keep_subthread_alive_noop_when_exiting  -> "keepAlive does nothing once exiting"
 *   test_multithread_signal_handlers                         -> "TTIN, TTOU, HUP and TERM handlers"
 *   test_multithread_join_all_uses_timeout_and_warns         -> "joinAll waits the shutdown timeout, warns, and terminates"
 *   test_multithread_thread_shutdown_timeout_defaults_to_healthcheck -> "the shutdown timeout defaults to the healthcheck timeout"
 *   test_multithread_handle_break                            -> "SIGBREAK exits"
 *   test_multithread_handle_signals_and_run                  -> "queued signals are handled, and run() stops on SIGINT"
 *
 * The Multithread tests that read the same for the process class (init/terminate/join/restart, dead
 * worker, noop when exiting, signal handlers, joinAll, SIGBREAK, queued signals) are written once in
 * worker-class-suite.ts and called here with the thread kit (`shared.*`); multiprocess.test.ts calls
 * them with the process kit.
 *
 * Beyond the seed: hard terminate after the shutdown timeout, readiness-gated rolling restart and
 * its aborts, startup failure exit code 3, a second SIGINT forcing, run()'s log lines and exit codes.
 */
import { describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import type { WorkerMessage } from "../../src/runtime/adapter.ts";
import { detectRuntime } from "../../src/runtime/detect.ts";
import { createPlumbing } from "../../src/runtime/plumbing.ts";
import { Multithread } from "../../src/supervisors/multithread.ts";
import { MAX_BOOT_DEATHS } from "../../src/supervisors/supervisor.ts";
import type { WorkerHandle } from "../../src/supervisors/worker-handle.ts";
import { fakeRuntime } from "../helpers/fake-runtime.ts";
import { fakeWorker } from "./fake-worker.ts";
import { settle } from "./fakes.ts";
import * as shared from "./worker-class-suite.ts";

const multithread = shared.supervised("thread", Multithread);

/** `main:app --workers N --worker-class thread`, then `extra`. */
const threadArgv = (workers: number, ...extra: string[]) => [
  "main:app",
  "--workers",
  String(workers),
  "--worker-class",
  "thread",
  ...extra,
];

/** Bun: no fd listening, so threads share the port with reusePort. */
const bunRuntime = () =>
  fakeRuntime({
    name: "bun",
    displayName: "Bun",
    version: "1.4.5",
    caps: { listenOnFd: false, passSocketToChild: false },
  });

/** The thread class for the shared Multithread tests (worker-class-suite.ts). */
const threads: shared.WorkerClassKit = {
  create: multithread,
  argv: threadArgv,
  singular: "thread",
  plural: "threads",
  deathCode: 1,
  died: () => "Child thread died",
  restarted: () => "Worker thread restarted",
  didNotExit: (_port, seconds) => `Worker thread did not exit within ${seconds} seconds.`,
  joinSeconds: 3, // --timeout-graceful-shutdown 3
};

/** Two started, ready threads (or `argv`'s) whose healthcheck times out after 1 s. */
const startedWithHealthcheck1s = (workers = 2, ...extra: string[]) =>
  shared.started(threads, threadArgv(workers, "--timeout-worker-healthcheck", "1", ...extra));

const fixture = (name: string) => new URL(`../fixtures/workers/${name}`, import.meta.url);

describe("seed: Thread", () => {
  // The seed hands each thread its own dup() of the socket. Here the boot names the parent's fd, and
  // the Node.js adapter gives each thread its own duplicate of it (src/runtime/node-thread-fd.ts);
  // Bun and Deno bind with reusePort instead (next test).
  test("each thread's boot names the socket the parent shares (seed: duplicated sockets)", async () => {
    const { supervisor, ports } = multithread();
    await supervisor.prepare();
    supervisor.initWorkers();
    expect(ports).toHaveLength(2);
    for (const port of ports) expect(port.boot.listen).toEqual({ kind: "fd", fd: 10 });
    expect(ports[0]?.boot.argv).toEqual(["main:app", "--workers", "2", "--worker-class", "thread"]);
  });

  test("with reusePort sharing, port 0 is probed once and every thread binds that port", async () => {
    const { supervisor, ports, probed } = multithread(threadArgv(3, "--port", "0"), {
      runtime: bunRuntime(),
      probedPort: 4321,
    });
    await supervisor.prepare();
    supervisor.initWorkers();
    expect(probed).toEqual([{ host: "127.0.0.1", port: 0 }]);
    for (const port of ports)
      expect(port.boot.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 4321, reusePort: true });
  });

  test("with reusePort sharing, the reserved port is held until the first thread listens", async () => {
    const { supervisor, port, clock, logger, released, raise } = multithread(threadArgv(2, "--port", "0"), {
      runtime: bunRuntime(),
      probedPort: 4321,
      autoReady: false,
    });
    const running = supervisor.run();
    await clock.advance(1000);
    expect(released()).toBe(0); // no thread listens yet: the parent keeps the port
    expect(logger.messages("info")).not.toContain(
      "tsuv running on http://127.0.0.1:4321 (Press CTRL+C to quit)",
    );
    port(0).markReady();
    await clock.advance(1000);
    expect(released()).toBe(1); // let go with the announcement
    expect(logger.messages("info")).toContain("tsuv running on http://127.0.0.1:4321 (Press CTRL+C to quit)");
    port(1).markReady();
    clock.at(3000, () => raise("SIGTERM"));
    expect(await running).toBe(0);
  });

  test("with reusePort sharing, a start-up that fails before any thread listens lets the port go too", async () => {
    const { supervisor, port, clock, released } = multithread(threadArgv(2, "--port", "0"), {
      runtime: bunRuntime(),
      autoReady: false,
    });
    const running = supervisor.run();
    await clock.advance(0);
    port(0).exit(3);
    expect(await running).toBe(3);
    expect(released()).toBeGreaterThan(0);
  });

  test("stopping a thread asks its server to shut down (seed: terminate sets should_exit)", async () => {
    const worker = fakeWorker({ thread: true, fd: 10, finishOnShutdown: true });
    await settle();
    expect(worker.shutdowns).toEqual([]);
    worker.deliver({ type: "stop" });
    expect(worker.shutdowns).toEqual([false]);
    expect(await worker.running).toBe(0);
    // And the supervisor's side of it: terminateAll sends that stop message to every thread.
    const { supervisor, ports } = multithread();
    supervisor.initWorkers();
    supervisor.terminateAll();
    for (const port of ports) expect(port.sent).toContainEqual({ type: "stop" });
  });

  test("a heartbeat makes a stale thread healthy again (seed: record_heartbeat / is_healthy)", async () => {
    const { clock, supervisor, port } = await startedWithHealthcheck1s();
    const handle = supervisor.slots[0] as WorkerHandle;
    port(0).healthy = false;
    await clock.advance(5000);
    expect(handle.heartbeat.fresh(1000)).toBe(false);
    port(0).heartbeat();
    expect(handle.heartbeat.fresh(1000)).toBe(true);
  });

  test("the server's tick sends the heartbeat the supervisor records (seed: callback_progress on_tick)", async () => {
    const worker = fakeWorker({ thread: true, fd: 10 });
    const { sent } = worker;
    await settle();
    const before = sent.filter((m) => m.type === "heartbeat").length;
    const options = worker.serverOptions();
    options?.hooks?.onTick?.();
    expect(sent.filter((m) => m.type === "heartbeat").length).toBe(before + 1);
    options?.hooks?.onReady?.({ kind: "fd", fd: 10 });
    expect(sent).toContainEqual({ type: "ready", address: { kind: "fd", fd: 10 } });
    worker.finish(0);
    expect(await worker.running).toBe(0);

    // The supervisor records it: an old heartbeat is refreshed by the next one.
    const { clock, supervisor, port } = await shared.started(threads);
    port(0).healthy = false;
    await clock.advance(5000);
    const handle = supervisor.slots[0] as WorkerHandle;
    const stale = handle.heartbeat.lastSeen;
    port(0).heartbeat();
    expect(handle.heartbeat.lastSeen).toBeGreaterThan(stale);
  });

  test("a real thread starts, finishes and reports its exit (seed: start and join)", async () => {
    const plumbing = createPlumbing(detectRuntime(), { threadEntry: fixture("finishes.mjs") });
    const port = plumbing.startThread({ argv: [], listen: { kind: "fd", fd: 0 } });
    const said: WorkerMessage[] = [];
    port.onMessage((message) => said.push(message));
    const code = await new Promise<number | null>((done) => port.onExit(done));
    expect(code).toBe(0);
    expect(said).toEqual([{ type: "heartbeat" }]);
  });

  test("a real hung thread does not exit by itself, and kill() ends it (seed: join timeout on a hung thread)", async () => {
    const plumbing = createPlumbing(detectRuntime(), { threadEntry: fixture("hangs.mjs") });
    const port = plumbing.startThread({ argv: [], listen: { kind: "fd", fd: 0 } });
    let exited = false;
    const exit = new Promise<number | null>((done) =>
      port.onExit((code) => {
        exited = true;
        done(code);
      }),
    );
    await new Promise<void>((done) => port.onMessage(() => done()));
    await new Promise((done) => setTimeout(done, 50));
    expect(exited).toBe(false);
    // Beyond the seed: a Python thread cannot be killed; a worker thread can.
    port.kill();
    expect(await exit).toBe(1);
  });

  test("a real thread that throws dies, and the supervisor's process survives it", async () => {
    const plumbing = createPlumbing(detectRuntime(), { threadEntry: fixture("throws.mjs") });
    const port = plumbing.startThread({ argv: [], listen: { kind: "fd", fd: 0 } });
    // Exit code 1 under node, bun and deno; `bun test` itself reports 0 for it, so only the exit is checked.
    expect(await new Promise<number | null>((done) => port.onExit(done))).not.toBeUndefined();
  });
});

describe("seed: Multithread", () => {
  shared.initTerminateJoinRestart(threads, "init, terminate, join and restart all threads");

  shared.keepAliveReplacesDead(threads, "keepAlive replaces a dead thread");

  test("keepAlive replaces an unhealthy thread", async () => {
    const { supervisor, port, clock, logger } = await shared.started(threads);
    const unhealthy = supervisor.slots[0] as WorkerHandle;
    port(0).healthy = false;
    await clock.advance(6000); // past the 5 s default healthcheck timeout
    supervisor.keepAlive();
    expect(supervisor.slots[0]).not.toBe(unhealthy);
    expect(supervisor.slots[0]?.alive).toBe(true);
    expect(port(0).stopped).toBe(true);
    expect(logger.messages("warning")[0]).toContain("Worker thread failed healthcheck");
    // The healthy one stays.
    expect(supervisor.slots[1]?.port).toBe(port(1));
  });

  test("keepAlive skips the healthcheck until the thread is ready", async () => {
    const { supervisor, port, clock } = multithread(threadArgv(1), { autoReady: false });
    supervisor.initWorkers();
    const thread = supervisor.slots[0];
    port(0).healthy = false;
    await clock.advance(60_000);
    supervisor.keepAlive();
    expect(supervisor.slots[0]).toBe(thread as WorkerHandle);
    expect(port(0).stopped).toBe(false);
  });

  test("an unhealthy thread that will not stop is kept as stale, without waiting for it", async () => {
    const { supervisor, port, clock } = await shared.started(threads, threadArgv(1));
    const unhealthy = supervisor.slots[0] as WorkerHandle;
    port(0).healthy = false;
    port(0).exitOnStop = false;
    await clock.advance(6000);
    supervisor.keepAlive(); // returns at once: nothing waits on the hung thread
    expect(supervisor.slots[0]).not.toBe(unhealthy);
    expect(supervisor.stale).toContain(unhealthy);
    expect(unhealthy.alive).toBe(true);
  });

  shared.pauseOverlooked(
    threads,
    "a pause of the whole tree longer than the healthcheck timeout replaces no healthy worker",
  );
  shared.keepAliveNoopWhenExiting(threads, "keepAlive does nothing once exiting");

  shared.signalHandlers(threads, "TTIN, TTOU, HUP and TERM handlers");

  shared.joinAllUsesTimeoutAndWarns(
    threads,
    "joinAll waits the shutdown timeout, warns, and terminates the thread",
  );

  test("the shutdown timeout defaults to the healthcheck timeout", () => {
    const { supervisor } = multithread(threadArgv(1, "--timeout-worker-healthcheck", "7"));
    expect(supervisor.shutdownTimeoutSeconds).toBe(7);
  });

  shared.handleBreak(threads, "SIGBREAK exits");

  shared.handleSignalsAndRun(threads, "queued signals are handled, and run() stops on SIGINT");
});

describe("beyond the seed", () => {
  shared.failedReplacementAfterBoot(
    threads,
    "after boot, a replacement that cannot start is retried with backoff while the others serve on",
  );
  shared.recycleOnMaxRequests(
    threads,
    "--limit-max-requests: a thread serves on until its replacement is ready, then retires",
  );
  shared.recycleWaitsForRestart(
    threads,
    "a recycle request waits for a SIGHUP restart, and none starts during shutdown",
  );
  shared.hupsDuringRestart(
    threads,
    "SIGHUPs during a rolling restart run one more round once it ends, however many came",
  );
  shared.ttinDuringRestart(threads, "a worker SIGTTIN adds during a rolling restart is not restarted");

  test("a stale thread is terminated once the shutdown timeout passes, and logged", async () => {
    const { supervisor, port, clock, logger } = await startedWithHealthcheck1s(
      2,
      "--timeout-graceful-shutdown",
      "2",
    );
    port(0).healthy = false;
    port(0).exitOnStop = false; // stuck in `while (true) {}`: it never sees the stop message
    await clock.advance(1500);
    supervisor.tick();
    const stale = supervisor.stale[0] as WorkerHandle;
    expect(stale.port).toBe(port(0));
    expect(port(0).killed).toBe(false);
    await clock.advance(1000);
    supervisor.tick();
    expect(port(0).killed).toBe(false);
    await clock.advance(1000);
    supervisor.tick();
    expect(port(0).killed).toBe(true);
    expect(logger.messages("warning")).toContain("Worker thread did not exit within 2.00 seconds.");
    expect(supervisor.stale).toHaveLength(0);
  });

  test("a hung thread is found by the heartbeat within the timeout plus one tick", async () => {
    const { supervisor, port, clock } = multithread(threadArgv(2, "--timeout-worker-healthcheck", "1"));
    supervisor.signalQueue.length = 0;
    const running = supervisor.run();
    await clock.advance(0);
    await settle();
    const hungAt = clock.now();
    clock.at(hungAt + 1, () => {
      port(0).healthy = false;
    });
    let foundAt: number | undefined;
    for (let t = 500; t <= 3000 && foundAt === undefined; t += 100) {
      clock.at(hungAt + t, () => {
        if (foundAt === undefined && port(0).stopped) foundAt = clock.now();
      });
    }
    clock.at(hungAt + 4000, () => supervisor.signalQueue.push("SIGTERM"));
    await running;
    expect(foundAt).toBeDefined();
    expect((foundAt as number) - hungAt).toBeLessThanOrEqual(2000);
  });

  test("rolling restart waits until the replacement is ready before stopping the old thread", async () => {
    const { supervisor, ports, port, logger } = shared.twoReady(threads);
    supervisor.handleHup();
    expect(ports).toHaveLength(3); // replacement for slot 0 started at once
    supervisor.tick();
    expect(port(0).stopped).toBe(false); // not ready yet: the old one keeps serving
    expect(supervisor.slots[0]?.port).toBe(port(0));
    port(2).markReady();
    supervisor.tick();
    expect(supervisor.slots[0]?.port).toBe(port(2));
    expect(port(0).stopped).toBe(true);
    expect(ports).toHaveLength(4); // and the next slot's replacement
    expect(port(1).stopped).toBe(false);
    port(3).markReady();
    supervisor.tick();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(3)]);
    expect(port(1).stopped).toBe(true);
    expect(supervisor.rolling).toBeUndefined();
    expect(logger.messages("info").filter((m) => m === "Worker thread restarted")).toHaveLength(2);
  });

  test("rolling restart aborts, keeping the old threads, when the replacement is not ready in time", async () => {
    const { supervisor, port, clock, logger } = shared.twoReady(threads);
    supervisor.handleHup();
    await clock.advance(29_000);
    supervisor.tick();
    expect(supervisor.rolling).toBeDefined();
    await clock.advance(1_000);
    supervisor.tick();
    expect(supervisor.rolling).toBeUndefined();
    expect(port(2).killed).toBe(true);
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(0), port(1)]);
    expect(port(0).stopped).toBe(false);
    expect(logger.messages("error")).toContain(
      "Rolling restart aborted: the new thread was not ready within 30.00 seconds; keeping the old threads. For an app that takes longer to start, raise --timeout-worker-healthcheck: the wait is the longer of 30 s and that.",
    );
  });

  test("rolling restart aborts, without exiting, when the replacement fails to start", async () => {
    const { supervisor, port, logger } = shared.twoReady(threads);
    supervisor.handleHup();
    port(2).fatal(3);
    port(2).exit(3);
    supervisor.tick();
    expect(supervisor.rolling).toBeUndefined();
    expect(supervisor.shouldExit).toBe(false);
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(0), port(1)]);
    expect(logger.messages("error")).toContain(
      "Rolling restart aborted: the new thread exited before it was ready (exit code 3); keeping the old threads.",
    );
  });

  test("a thread that fails startup stops everything with exit code 3, no restart loop", async () => {
    const { supervisor, port, ports, clock, logger } = multithread(undefined, { autoReady: false });
    const running = supervisor.run();
    await clock.advance(0);
    port(0).markReady();
    port(1).fatal(3, "Application startup failed. Exiting.");
    port(1).exit(3);
    expect(await running).toBe(3);
    expect(ports).toHaveLength(2);
    expect(port(0).stopped).toBe(true);
    expect(logger.messages("error")).toContain(
      "Worker thread failed to start (exit code 3); stopping all threads instead of restarting it.",
    );
    expect(logger.last).toBe("Stopping parent process [4242]");
  });

  test("exit code 3 before ready (no fatal message) is a startup failure too", async () => {
    const { supervisor, port, clock } = multithread(undefined, { autoReady: false });
    const running = supervisor.run();
    await clock.advance(0);
    port(0).exit(3);
    expect(await running).toBe(3);
  });

  test("a crash before ready with another code is replaced, not fatal", async () => {
    const { supervisor, port, ports } = multithread(undefined, { autoReady: false });
    supervisor.initWorkers();
    port(0).exit(1);
    supervisor.keepAlive();
    expect(supervisor.shouldExit).toBe(false);
    expect(ports).toHaveLength(3);
  });

  test("workers that keep crashing before ready stop the supervisor with exit 3 (no endless restart loop)", async () => {
    const { supervisor, ports, logger } = multithread(threadArgv(1), { autoReady: false });
    supervisor.initWorkers();
    for (let i = 0; i < MAX_BOOT_DEATHS; i++) {
      (ports.at(-1) as { exit(code: number): void }).exit(1);
      supervisor.keepAlive();
    }
    expect(supervisor.shouldExit).toBe(true);
    expect(supervisor.exitCode).toBe(3);
    expect(ports).toHaveLength(MAX_BOOT_DEATHS);
    expect(logger.messages("error")).toContain(
      `Worker thread died ${MAX_BOOT_DEATHS} times in a row before it was ready.`,
    );
  });

  test("a slot that crashes on every boot is a startup failure even beside a ready worker", async () => {
    const { supervisor, port, ports, logger } = multithread(undefined, { autoReady: false });
    supervisor.initWorkers();
    port(0).markReady();
    for (let i = 0; i < MAX_BOOT_DEATHS; i++) {
      (ports.at(-1) as { exit(code: number): void }).exit(1);
      supervisor.keepAlive();
    }
    expect(supervisor.shouldExit).toBe(true);
    expect(supervisor.exitCode).toBe(3);
    expect(logger.messages("error")).toContain(
      `Worker thread died ${MAX_BOOT_DEATHS} times in a row before it was ready.`,
    );
  });

  test("after boot, a slot that crashes on every boot backs off instead of restarting twice a second", async () => {
    const { supervisor, port, ports, clock, logger } = shared.twoReady(threads);
    supervisor.keepAlive();
    expect(supervisor.booted).toBe(true);
    port(1).exit(1); // a serving worker dies: replaced at once, and its replacement crashes on boot
    supervisor.keepAlive();
    for (let i = 0; i < MAX_BOOT_DEATHS; i++) {
      (ports.at(-1) as { exit(code: number): void }).exit(1);
      supervisor.keepAlive();
    }
    const started = ports.length;
    expect(supervisor.shouldExit).toBe(false);
    expect(logger.messages("error")).toContain(
      "Worker thread failed to start (exit code 1); starting another in 1.0 s (1 of 2 threads serving).",
    );
    supervisor.keepAlive();
    expect(ports).toHaveLength(started); // waits for the backoff
    await clock.advance(1000);
    supervisor.keepAlive();
    expect(ports).toHaveLength(started + 1);
    // The retry crashes too: straight back to the backoff, now 2 s.
    (ports.at(-1) as { exit(code: number): void }).exit(1);
    supervisor.keepAlive();
    expect(ports).toHaveLength(started + 1);
    expect(logger.messages("error")).toContain(
      "Worker thread failed to start (exit code 1); starting another in 2.0 s (1 of 2 threads serving).",
    );
    expect(port(0).stopped).toBe(false);
  });

  test("run() logs like uvicorn and stops gracefully on SIGTERM", async () => {
    const { supervisor, clock, logger, ports, subscribed, sharedClosed, raise } = multithread();
    const running = supervisor.run();
    clock.at(2000, () => raise("SIGTERM"));
    expect(await running).toBe(0);
    expect(ports.every((port) => port.stopped && !port.alive)).toBe(true);
    expect(logger.messages("info")).toEqual([
      "tsuv running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
      "Started parent process [4242]",
      "Received SIGTERM, exiting.",
      "Stopping parent process [4242]",
    ]);
    expect(sharedClosed()).toBe(true);
    expect(subscribed.size).toBe(0); // unsubscribed at the end
  });

  test("a second SIGINT during shutdown terminates the threads at once", async () => {
    const { supervisor, clock, ports, raise } = multithread(
      threadArgv(2, "--timeout-graceful-shutdown", "60"),
    );
    const running = supervisor.run();
    clock.at(1000, () => {
      for (const port of ports) port.exitOnStop = false;
      raise("SIGINT");
    });
    clock.at(2000, () => raise("SIGINT"));
    expect(await running).toBe(0);
    expect(clock.now()).toBeLessThan(3000);
    expect(ports.every((port) => port.killed)).toBe(true);
  });

  test("TTOU during a rolling restart drops that slot's replacement too", async () => {
    const { supervisor, port, ports } = shared.twoReady(threads);
    supervisor.handleHup(); // replacement for slot 0 (port 2)
    port(2).markReady();
    supervisor.tick(); // slot 0 swapped; replacement for slot 1 (port 3) started
    expect(ports).toHaveLength(4);
    supervisor.handleTtou(); // removes slot 1, whose replacement is pending
    expect(port(1).stopped).toBe(true);
    expect(port(3).stopped).toBe(true);
    supervisor.tick();
    expect(supervisor.rolling).toBeUndefined();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2)]);
  });

  test("a parent that cannot bind exits 1 before starting any thread", async () => {
    const { supervisor, adapter, ports, logger } = multithread();
    adapter.bindSharedSocket = async () => {
      throw new Error("[Errno 98] Address already in use: 127.0.0.1:8000");
    };
    expect(await supervisor.run()).toBe(1);
    expect(ports).toHaveLength(0);
    expect(logger.messages("error")).toEqual(["[Errno 98] Address already in use: 127.0.0.1:8000"]);
  });

  test("--uds with reusePort sharing is refused with exit 1", async () => {
    const { supervisor, logger } = multithread(threadArgv(2, "--uds", "/tmp/x.sock"), {
      runtime: bunRuntime(),
    });
    expect(await supervisor.run()).toBe(1);
    expect(logger.messages("error")[0]).toContain("--uds with more than one worker requires");
  });

  test("the fixture entry paths exist", () => {
    for (const name of ["finishes.mjs", "hangs.mjs", "throws.mjs"])
      expect(Bun.file(fileURLToPath(fixture(name))).size).toBeGreaterThan(0);
  });
});
