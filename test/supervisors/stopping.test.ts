// src/supervisors/stopping.ts: graceful stop with a deadline, the stale list, the forced kill.
import { expect, test } from "bun:test";
import { StoppingWorkers } from "../../src/supervisors/stopping.ts";
import { STARTING_SILENCE_MS, WorkerHandle } from "../../src/supervisors/worker-handle.ts";
import { fakeRuntime } from "../helpers/fake-runtime.ts";
import { FakeClock, FakeWorkerPort, RecordingLogger } from "./fakes.ts";

function setup() {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const stopping = new StoppingWorkers({
    workerClass: {
      name: (worker) => `Child process [${worker.pid}]`,
      stopping: (worker) => `Terminated child process [${worker.pid}]`,
      forcedWarning: () => "forced on purpose",
    },
    logger,
    clock,
    runtime: fakeRuntime(),
    timeoutSeconds: () => 3,
  });
  /** A worker serving (`ready`, the default) or still starting. */
  const worker = (ready = true) => {
    const port = new FakeWorkerPort("process", { argv: [], listen: { kind: "fd", fd: 3 } });
    port.exitOnStop = false;
    const handle = new WorkerHandle(port, clock);
    if (ready) port.markReady();
    return { port, handle };
  };
  return { clock, logger, stopping, worker };
}

test("a graceful stop is asked once, with the timeout as its deadline; retire says so", async () => {
  const { clock, logger, stopping, worker } = setup();
  const { port, handle } = worker();
  await clock.advance(1000);
  stopping.stop(handle);
  stopping.stop(handle);
  expect(port.sent).toEqual([{ type: "stop" }]);
  expect(handle.stopDeadline).toBe(4000);
  expect(logger.messages("info")).toEqual([`Terminated child process [${port.pid}]`]);
  expect(stopping.stale).toHaveLength(0);

  const other = worker();
  stopping.retire(other.handle);
  stopping.retire(other.handle);
  expect(other.port.sent).toEqual([{ type: "stop", retire: true }]);
  expect(stopping.stale).toEqual([other.handle]);
});

test("a stale worker past its deadline is killed with uvicorn's warning, then forgotten once it exits", async () => {
  const { clock, logger, stopping, worker } = setup();
  const { port, handle } = worker();
  stopping.retire(handle);
  await clock.advance(2999);
  stopping.reap();
  expect(port.killed).toBe(false);
  await clock.advance(1);
  port.dieOnKill = false;
  stopping.reap();
  expect(port.killed).toBe(true);
  expect(logger.messages("warning")).toEqual([
    `Child process [${port.pid}] did not exit within 3.00 seconds.`,
    "forced on purpose",
  ]);
  expect(stopping.stale).toEqual([handle]); // killed, its exit not seen yet
  port.exit(null);
  stopping.reap();
  expect(stopping.stale).toHaveLength(0);
});

test("a worker still starting whose event loop is silent is killed 2 s into its stop, saying why", async () => {
  const { clock, logger, stopping, worker } = setup();
  const { port, handle } = worker(false);
  stopping.retire(handle);
  expect(handle.stopDeadline).toBe(STARTING_SILENCE_MS);
  await clock.advance(STARTING_SILENCE_MS - 1);
  stopping.reap();
  expect(port.killed).toBe(false);
  await clock.advance(1);
  stopping.reap();
  expect(port.killed).toBe(true);
  expect(logger.messages("warning")).toEqual([
    `Child process [${port.pid}] did not exit: it was still starting and its event loop has not run for 2 s (stuck in the app's import?).`,
    "forced on purpose",
  ]);
});

test("a worker still starting whose heartbeats go on (a slow startup hook) keeps the full drain time", async () => {
  const { clock, stopping, worker } = setup();
  const { port, handle } = worker(false);
  stopping.retire(handle);
  for (let beats = 0; beats < 5; beats++) {
    await clock.advance(500);
    port.heartbeat();
    stopping.reap();
  }
  expect(port.killed).toBe(false); // 2.5 s in: past STARTING_SILENCE_MS, but never silent that long
  expect(handle.stopDeadline).toBe(3000);
  await clock.advance(500);
  stopping.reap();
  expect(port.killed).toBe(true);
});

test("a worker whose ready comes after the stop was asked gets the full drain time", async () => {
  const { clock, stopping, worker } = setup();
  const { port, handle } = worker(false);
  stopping.retire(handle);
  await clock.advance(500);
  port.markReady();
  expect(handle.stopDeadline).toBe(3000);
  await clock.advance(2000);
  stopping.reap();
  expect(port.killed).toBe(false);
  await clock.advance(500);
  stopping.reap();
  expect(port.killed).toBe(true);
});

test("a killed worker whose exit never comes is given up on after the kill grace", async () => {
  const { clock, stopping, worker } = setup();
  const { port, handle } = worker();
  port.dieOnKill = false;
  stopping.keepUntilExit(handle);
  handle.kill();
  await clock.advance(1999);
  stopping.reap();
  expect(stopping.givenUp(handle, clock.now())).toBe(false);
  expect(stopping.stale).toHaveLength(1);
  await clock.advance(1);
  stopping.reap();
  expect(stopping.stale).toHaveLength(0);
});
