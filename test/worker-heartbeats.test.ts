// src/worker.ts: who sends a worker's heartbeats. In a thread worker, the server's tick does once it
// serves (the seed's on_tick); the worker's own timer does before that (the app's import, its
// startup hook) and after (a drain), and beside the tick only when the healthcheck timeout asks for
// more than one a second. In a process worker they go out with the pongs to the supervisor's pings,
// and its timer beats only while no pings come. Real time, driving the real runWorker() through the
// fake channel and server.
import { expect, test } from "bun:test";
import { fakeWorker } from "./supervisors/fake-worker.ts";

const heartbeats = (sent: { type: string }[]) => sent.filter((m) => m.type === "heartbeat").length;

test("the worker's timer beats until the server ticks, stays quiet beside the ticks, and beats again once they stop", async () => {
  const worker = fakeWorker({ thread: true, fd: 10 });
  const tick = () => worker.serverOptions()?.hooks?.onTick?.();

  // Starting: no tick yet, the timer beats (once a second with the default 5 s timeout).
  await Bun.sleep(1_150);
  expect(heartbeats(worker.sent)).toBe(1);

  // Serving: three ticks a second apart, and only their three heartbeats (the timer fires twice
  // meanwhile; it sent a second copy of each before).
  const before = heartbeats(worker.sent);
  tick();
  await Bun.sleep(1_000);
  tick();
  await Bun.sleep(1_000);
  tick();
  expect(heartbeats(worker.sent) - before).toBe(3);

  // Draining: the ticks have stopped; the timer takes over within 1.5 s of the last one, plus its period.
  const ticked = heartbeats(worker.sent);
  await Bun.sleep(2_700);
  expect(heartbeats(worker.sent) - ticked).toBeGreaterThanOrEqual(1);
  worker.finish(0);
  expect(await worker.running).toBe(0);
}, 15_000);

test("a healthcheck timeout under 4 s: the timer beats four times per timeout, ticks or not", async () => {
  // 1 s: a heartbeat every 250 ms.
  const worker = fakeWorker({ thread: true, fd: 10, args: ["--timeout-worker-healthcheck", "1"] });
  const tick = () => worker.serverOptions()?.hooks?.onTick?.();
  await Bun.sleep(50);
  tick();
  const before = heartbeats(worker.sent);
  await Bun.sleep(1_100);
  // Four from the timer in 1.1 s (and none from the tick, which came before).
  expect(heartbeats(worker.sent) - before).toBeGreaterThanOrEqual(4);
  worker.finish(0);
  expect(await worker.running).toBe(0);
}, 10_000);

test("a process worker: no server tick; its heartbeats ride on the pongs, and its timer waits while pings come", async () => {
  const worker = fakeWorker({ thread: false, fd: 10 });
  expect(worker.serverOptions()?.hooks?.onTick).toBeUndefined();
  // Starting, before any ping: the timer beats (once a second with the default 5 s timeout).
  await Bun.sleep(1_150);
  expect(heartbeats(worker.sent)).toBe(1);

  // Serving: pings 0.5 s apart, as the supervisor sends them, for 3 s. Each gets its pong, every
  // other one a heartbeat too, and the timer, pushed back by each ping, never fires (it would add
  // one heartbeat per second of its own).
  const before = heartbeats(worker.sent);
  const from = worker.sent.length;
  for (let id = 1; id <= 6; id++) {
    await Bun.sleep(500);
    const sent = worker.sent.length;
    worker.deliver({ type: "ping", id });
    expect(worker.sent[sent]).toEqual({ type: "pong", id });
  }
  const beaten = heartbeats(worker.sent) - before;
  expect(beaten).toBeGreaterThanOrEqual(2);
  expect(beaten).toBeLessThanOrEqual(4);
  // Every heartbeat came right after a pong, none from the timer.
  worker.sent.forEach((message, i) => {
    if (i >= from && message.type === "heartbeat") expect(worker.sent[i - 1]?.type).toBe("pong");
  });

  // The pings stop (a drain, an orphan): the timer beats again within its period.
  const quiet = heartbeats(worker.sent);
  await Bun.sleep(1_300);
  expect(heartbeats(worker.sent) - quiet).toBeGreaterThanOrEqual(1);
  worker.finish(0);
  expect(await worker.running).toBe(0);
}, 15_000);
