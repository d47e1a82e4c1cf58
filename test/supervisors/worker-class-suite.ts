/**
 * The seed's Multithread tests that read the same for both worker classes, written once. Each
 * function registers one test under the name the calling file gives it, so multithread.test.ts and
 * multiprocess.test.ts still list every seed test they port, in the seed's order; a WorkerClassKit
 * holds what differs (the class under test, its argv and its log wording, spelled out literally
 * in each file so a wording change in src/ fails here).
 */
import { expect, test } from "bun:test";
import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logging.ts";
import type { RuntimeAdapter } from "../../src/runtime/adapter.ts";
import type { Supervisor, SupervisorDeps } from "../../src/supervisors/supervisor.ts";
import type { WorkerHandle } from "../../src/supervisors/worker-handle.ts";
import { type FakeWorkerPort, type Harness, type HarnessOptions, harness, settle } from "./fakes.ts";

export interface Supervised<S extends Supervisor = Supervisor> extends Harness {
  supervisor: S;
  /** The i-th fake port started. */
  port(i: number): FakeWorkerPort;
}

type SupervisorClass<S> = new (
  config: Config,
  adapter: RuntimeAdapter,
  logger: Logger,
  deps: SupervisorDeps,
) => S;

/** A factory of `Class` supervisors, each over a fresh harness of `kind` fakes on a virtual clock. */
export function supervised<S extends Supervisor>(kind: "thread" | "process", Class: SupervisorClass<S>) {
  return (argv?: string[], options: Omit<HarnessOptions, "argv"> = {}): Supervised<S> => {
    const h = harness(kind, { argv, ...options });
    const supervisor = new Class(h.config, h.adapter, h.logger, h.deps);
    return { ...h, supervisor, port: (i) => h.ports[i] as FakeWorkerPort };
  };
}

export interface WorkerClassKit {
  /** A supervisor of this class over a fresh harness (argv default: two workers). */
  create(argv?: string[], options?: Omit<HarnessOptions, "argv">): Supervised;
  /** `main:app --workers N` plus what selects this class, then `extra`. */
  argv(workers: number, ...extra: string[]): string[];
  singular: string;
  plural: string;
  /** Exit code of a worker that dies on its own (a thread throws: 1; a process is killed: null). */
  deathCode: number | null;
  died(port: FakeWorkerPort): string;
  restarted(worker: WorkerHandle): string;
  /** The info line terminateAll logs per worker, if this class logs one. */
  terminated?(port: FakeWorkerPort): string;
  /** The info line joinAll logs while it waits for a worker, if this class logs one. */
  waiting?(port: FakeWorkerPort): string;
  didNotExit(port: FakeWorkerPort, seconds: string): string;
  /** What joinAll waits with --timeout-graceful-shutdown 3 before it kills (threads 3, processes 3 + 1). */
  joinSeconds: number;
}

/** A supervisor with its workers started and reported ready. */
export async function started(kit: WorkerClassKit, argv?: string[], options?: Omit<HarnessOptions, "argv">) {
  const h = kit.create(argv, options);
  h.supervisor.initWorkers();
  await settle();
  return h;
}

/** Two workers that report ready only when told, both told (ports 0 and 1); later ones wait. */
export function twoReady(kit: WorkerClassKit): Supervised {
  const h = kit.create(undefined, { autoReady: false });
  h.supervisor.initWorkers();
  h.port(0).markReady();
  h.port(1).markReady();
  return h;
}

/** seed: test_multithread_init_terminate_join_and_restart */
export function initTerminateJoinRestart(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, logger } = await started(kit);
    const original = [...supervisor.slots];
    expect(supervisor.slots).toHaveLength(2);
    expect(ports).toHaveLength(2);

    supervisor.terminateAll();
    expect(ports.every((port) => port.stopped)).toBe(true);
    await supervisor.joinAll();
    expect(original.every((worker) => !worker.alive)).toBe(true);
    for (const port of ports)
      if (kit.terminated) expect(logger.messages("info")).toContain(kit.terminated(port));

    supervisor.restartAll();
    for (let i = 0; i < 4 && supervisor.rolling; i++) {
      await settle();
      supervisor.tick();
    }
    expect(supervisor.rolling).toBeUndefined();
    expect(supervisor.slots).toHaveLength(2);
    for (const [i, worker] of supervisor.slots.entries())
      expect(worker).not.toBe(original[i] as WorkerHandle);
    expect(supervisor.slots.every((worker) => worker.alive)).toBe(true);
  });
}

/** seed: test_multithread_keep_subthread_alive_replaces_dead_thread */
export function keepAliveReplacesDead(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, port, logger } = await started(kit);
    const dead = supervisor.slots[0];
    port(0).exit(kit.deathCode);
    supervisor.keepAlive();
    expect(supervisor.slots[0]).not.toBe(dead as WorkerHandle);
    expect(supervisor.slots[0]?.alive).toBe(true);
    expect(logger.messages("info")).toContain(kit.died(port(0)));
  });
}

/** seed: test_multithread_keep_subthread_alive_noop_when_exiting */
export function keepAliveNoopWhenExiting(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, port } = await started(kit, kit.argv(1));
    const dead = supervisor.slots[0];
    port(0).exit(1);
    supervisor.shouldExit = true;
    supervisor.keepAlive();
    expect(supervisor.slots[0]).toBe(dead as WorkerHandle);
  });
}

/** seed: test_multithread_signal_handlers */
export function signalHandlers(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, logger } = await started(kit);
    const info = () => logger.messages("info");

    supervisor.handleTtin();
    expect(supervisor.slots).toHaveLength(3);
    expect(info()).toContain(`Received SIGTTIN, increasing the number of ${kit.plural}.`);
    const removed = supervisor.slots.at(-1) as WorkerHandle;
    await settle();

    supervisor.handleTtou();
    expect(supervisor.slots).toHaveLength(2);
    expect((removed.port as FakeWorkerPort).stopped).toBe(true);
    expect(removed.alive).toBe(false);

    supervisor.handleTtou();
    supervisor.handleTtou();
    expect(supervisor.slots).toHaveLength(1);
    expect(logger.last).toBe(
      `Already reached one ${kit.singular}, cannot decrease the number of ${kit.plural} anymore.`,
    );

    const original = supervisor.slots[0] as WorkerHandle;
    supervisor.handleHup();
    expect(info()).toContain(`Received SIGHUP, restarting ${kit.plural}.`);
    await settle(); // the replacement reports ready
    supervisor.tick();
    expect(supervisor.slots).toHaveLength(1);
    expect(supervisor.slots[0]).not.toBe(original);
    expect(info()).toContain(kit.restarted(original));

    supervisor.handleTerm();
    expect(supervisor.shouldExit).toBe(true);
    expect(info()).toContain("Received SIGTERM, exiting.");
  });
}

/** seed: test_multithread_join_all_uses_timeout_and_warns */
export function joinAllUsesTimeoutAndWarns(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const argv = kit.argv(1, "--timeout-worker-healthcheck", "2", "--timeout-graceful-shutdown", "3");
    const { supervisor, port, clock, logger } = await started(kit, argv);
    port(0).exitOnStop = false;
    const start = clock.now();
    await supervisor.joinAll();
    expect(port(0).stopped).toBe(true);
    expect(port(0).killed).toBe(true); // beyond the seed: the hung worker is killed
    expect(clock.now() - start).toBeGreaterThanOrEqual(kit.joinSeconds * 1000);
    expect(clock.now() - start).toBeLessThan(kit.joinSeconds * 1000 + 500);
    if (kit.waiting) expect(logger.messages("info")).toContain(kit.waiting(port(0)));
    expect(logger.last).toBe(kit.didNotExit(port(0), kit.joinSeconds.toFixed(2)));
  });
}

/** seed: test_multithread_handle_break */
export function handleBreak(kit: WorkerClassKit, name: string): void {
  test(name, () => {
    const { supervisor } = kit.create(kit.argv(1));
    supervisor.handleBreak();
    expect(supervisor.shouldExit).toBe(true);
  });
}

/** seed: test_multithread_handle_signals_and_run */
export function handleSignalsAndRun(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const first = kit.create(kit.argv(1));
    first.supervisor.signalQueue.push("SIGINT", "SIGUSR1");
    first.supervisor.handleSignals();
    expect(first.supervisor.shouldExit).toBe(true);
    expect(first.supervisor.signalQueue).toEqual([]);
    expect(first.logger.messages("debug")).toContain(
      "Received signal SIGUSR1, but no handler is defined for it.",
    );

    const second = kit.create(kit.argv(1));
    second.supervisor.signalQueue.push("SIGINT");
    expect(await second.supervisor.run()).toBe(0);
    expect(second.supervisor.shouldExit).toBe(true);
  });
}

/**
 * --limit-max-requests under a supervisor: a worker that asks to be recycled serves on until its
 * replacement is ready, and is then retired; a replacement that fails leaves it serving, and is
 * not retried in a loop.
 */
export function recycleOnMaxRequests(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, port, logger } = twoReady(kit);
    for (const started of ports) expect(started.boot.recycle).toBe(true);
    const old = supervisor.slots[0] as WorkerHandle;
    port(0).emit({ type: "recycle" });
    supervisor.tick();
    expect(ports).toHaveLength(3); // its replacement, started at once
    expect(logger.messages("info")).toContain(
      `${kit.restarted(old).replace(/ restarted$/, "")} reached --limit-max-requests; starting its replacement.`,
    );
    supervisor.tick();
    expect(port(0).stopped).toBe(false); // serving on while the replacement starts
    port(2).markReady();
    supervisor.tick();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(1)]);
    expect(port(0).sent).toContainEqual({ type: "stop", retire: true });
    expect(logger.messages("info")).toContain(kit.restarted(old));
    expect(port(1).stopped).toBe(false);
    expect(supervisor.rolling).toBeUndefined();

    // The next one's replacement cannot start: the worker keeps serving, and no retry loop follows.
    port(1).emit({ type: "recycle" });
    supervisor.tick();
    port(3).exit(1);
    for (let i = 0; i < 5; i++) supervisor.tick();
    expect(ports).toHaveLength(4);
    expect(port(1).stopped).toBe(false);
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(1)]);
    expect(supervisor.shouldExit).toBe(false);
  });
}

/**
 * A recycle request during a SIGHUP restart waits for it, and a worker the restart replaced is not
 * replaced again; during shutdown no replacement starts at all.
 */
export function recycleWaitsForRestart(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, port } = twoReady(kit);
    supervisor.handleHup();
    expect(ports).toHaveLength(3); // the restart's replacement for slot 0
    port(1).emit({ type: "recycle" });
    supervisor.tick();
    expect(ports).toHaveLength(3);
    port(2).markReady();
    supervisor.tick(); // slot 0 swapped; the restart starts slot 1's replacement
    expect(ports).toHaveLength(4);
    port(3).markReady();
    supervisor.tick();
    supervisor.tick();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(3)]);
    expect(ports).toHaveLength(4); // port(1) was replaced once, by the restart
    expect(supervisor.rolling).toBeUndefined();

    port(2).emit({ type: "recycle" });
    supervisor.handleTerm();
    supervisor.tick();
    expect(ports).toHaveLength(4);
  });
}

/**
 * SIGHUPs that arrive during a rolling restart (an operator or a deploy script sending several):
 * one more full round once this one ends, since code saved meanwhile must be loaded, and only one
 * however many came.
 */
export function hupsDuringRestart(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, port, logger } = twoReady(kit);
    supervisor.handleHup();
    supervisor.handleHup();
    supervisor.handleHup();
    supervisor.handleHup();
    expect(ports).toHaveLength(3); // one replacement at a time: slot 0's
    port(2).markReady();
    supervisor.tick();
    port(3).markReady();
    supervisor.tick(); // the first round is done: the second starts with slot 0 again
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(3)]);
    expect(supervisor.rolling).toBeDefined();
    expect(ports).toHaveLength(5);
    port(4).markReady();
    supervisor.tick();
    port(5).markReady();
    supervisor.tick();
    supervisor.tick();
    expect(supervisor.rolling).toBeUndefined();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(4), port(5)]);
    expect(ports).toHaveLength(6); // two rounds of two, not four rounds
    for (const old of [0, 1, 2, 3]) expect(port(old).stopped).toBe(true);
    const restarted = logger.messages("info").filter((m) => m.endsWith(" restarted"));
    expect(restarted).toHaveLength(4);
  });
}

/**
 * A SIGTTIN during a rolling restart adds a worker at once, which already runs the new code: the
 * restart replaces the slots it began with and leaves the added one alone.
 */
export function ttinDuringRestart(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, port } = twoReady(kit);
    supervisor.handleHup(); // slot 0's replacement: port 2
    supervisor.handleTtin(); // a third slot: port 3
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(0), port(1), port(3)]);
    port(2).markReady();
    port(3).markReady();
    supervisor.tick(); // slot 0 swapped; slot 1's replacement: port 4
    expect(ports).toHaveLength(5);
    port(4).markReady();
    supervisor.tick();
    supervisor.tick();
    expect(supervisor.rolling).toBeUndefined();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(2), port(4), port(3)]);
    expect(ports).toHaveLength(5);
    expect(port(3).stopped).toBe(false);
  });
}

/**
 * Once every worker has been ready, a replacement that cannot start (the code on disk broke since,
 * a database is down for a while) does not stop the others, as it would at boot (exit 3): it is
 * logged and retried after 1 s, then 2 s, and a retry that gets ready resets the backoff.
 */
export function failedReplacementAfterBoot(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, ports, port, clock, logger } = twoReady(kit);
    const failedLine = (slot: number, code: number, seconds: string) =>
      `${kit.restarted(supervisor.slots[slot] as WorkerHandle).replace(/ restarted$/, "")} failed to start (exit code ${code}); starting another in ${seconds} s (1 of 2 ${kit.plural} serving).`;
    expect(supervisor.booted).toBe(false);
    supervisor.keepAlive();
    expect(supervisor.booted).toBe(true);

    port(0).exit(kit.deathCode);
    supervisor.keepAlive();
    expect(ports).toHaveLength(3);
    port(2).fatal(3);
    port(2).exit(3);
    supervisor.keepAlive();
    expect(supervisor.shouldExit).toBe(false);
    expect(port(1).stopped).toBe(false);
    expect(logger.messages("error")).toContain(failedLine(0, 3, "1.0"));
    supervisor.keepAlive();
    expect(ports).toHaveLength(3); // not before its time
    await clock.advance(1000);
    supervisor.keepAlive();
    expect(ports).toHaveLength(4);

    // Exit code 3 without the fatal message is the same failure; the wait doubles.
    port(3).exit(3);
    supervisor.keepAlive();
    expect(logger.messages("error")).toContain(failedLine(0, 3, "2.0"));
    await clock.advance(1999);
    supervisor.keepAlive();
    expect(ports).toHaveLength(4);
    await clock.advance(1);
    supervisor.keepAlive();
    expect(ports).toHaveLength(5);

    // The code is fixed: the retry serves, and the next failure waits 1 s again.
    port(4).markReady();
    supervisor.keepAlive();
    expect(supervisor.slots.map((w) => w.port)).toEqual([port(4), port(1)]);
    port(4).exit(kit.deathCode);
    supervisor.keepAlive();
    port(5).fatal(3);
    supervisor.keepAlive();
    expect(logger.messages("error")).toContain(failedLine(0, 3, "1.0"));
    expect(supervisor.shouldExit).toBe(false);
    expect(port(1).stopped).toBe(false);
  });
}

/**
 * The whole tree paused (Ctrl-Z, `docker pause`) for longer than the healthcheck timeout: at the
 * first tick after it, no worker has spoken since before the pause (a timer runs before the I/O
 * that brings their heartbeats or pongs). The supervisor leaves out the time it did not run, so
 * no healthy worker is replaced; one that stays silent after the pause is still found.
 */
export function pauseOverlooked(kit: WorkerClassKit, name: string): void {
  test(name, async () => {
    const { supervisor, port, clock, logger } = await started(kit);
    const before = [...supervisor.slots];
    supervisor.tick();
    // Paused: nothing is heard from either worker while the clock runs on.
    port(0).healthy = false;
    port(1).healthy = false;
    await clock.advance(10_000);
    port(0).healthy = true;
    supervisor.tick();
    expect(supervisor.slots).toEqual(before);
    expect(logger.messages("warning")).toEqual([]);
    expect(logger.messages("info")).toContain(
      "The supervisor did not run for 10.0 s (the process was paused, or starved of CPU); the healthchecks leave that time out.",
    );
    // What was in flight before the pause arrives now: a pong to the ping sent before it.
    const lastPing = port(0)
      .sent.filter((message) => message.type === "ping")
      .at(-1);
    if (lastPing?.type === "ping") port(0).emit({ type: "pong", id: lastPing.id });
    // Worker 1 stays silent: found one timeout (5 s) later, while worker 0 serves on.
    for (let waited = 0; waited <= 6000; waited += 500) {
      await clock.advance(500);
      supervisor.tick();
    }
    expect(supervisor.slots[0]).toBe(before[0] as WorkerHandle);
    expect(supervisor.slots[1]).not.toBe(before[1] as WorkerHandle);
    expect(logger.messages("warning")).toHaveLength(1);
  });
}
