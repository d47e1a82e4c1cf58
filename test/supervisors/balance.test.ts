// src/supervisors/balance.ts: how many connections a crowded worker sheds, and when the supervisor asks.
import { expect, test } from "bun:test";
import type { WorkerMessage } from "../../src/runtime/adapter.ts";
import { ConnectionBalance, excessConnections } from "../../src/supervisors/balance.ts";
import { WorkerHandle } from "../../src/supervisors/worker-handle.ts";
import { fakeWorker } from "./fake-worker.ts";
import { FakeClock, FakeWorkerPort } from "./fakes.ts";

test("a worker over its share plus the slack sheds down to the share; the others shed nothing", () => {
  expect(excessConnections([50, 0])).toEqual([25, 0]);
  expect(excessConnections([0, 50])).toEqual([0, 25]);
  expect(excessConnections([38, 12])).toEqual([13, 0]);
  expect(excessConnections([40, 5, 5])).toEqual([23, 0, 0]);
  // 10% of the share once that is more than the fixed slack: 1000 connections over 2 workers.
  expect(excessConnections([550, 450])).toEqual([0, 0]);
  expect(excessConnections([551, 449])).toEqual([51, 0]);
});

test("a split within the slack, a lone worker and no connections shed nothing", () => {
  expect(excessConnections([27, 23])).toEqual([0, 0]);
  expect(excessConnections([5, 0])).toEqual([0, 0]);
  expect(excessConnections([6, 0])).toEqual([3, 0]);
  expect(excessConnections([50])).toEqual([0]);
  expect(excessConnections([0, 0])).toEqual([0, 0]);
  expect(excessConnections([])).toEqual([]);
});

function workers(n: number) {
  const clock = new FakeClock();
  return Array.from({ length: n }, () => {
    const port = new FakeWorkerPort("process", { argv: [], listen: { kind: "fd", fd: 3 } });
    const handle = new WorkerHandle(port, clock);
    port.markReady();
    /** A heartbeat with a connection count, acknowledging `sheds` shed messages. */
    const report = (connections: number, sheds = sent(port).length) =>
      port.emit({ type: "heartbeat", connections, sheds });
    return { port, handle, report };
  });
}

function sent(port: FakeWorkerPort): Extract<WorkerMessage, { type: "shed" }>[] {
  return port.sent.filter((m): m is Extract<WorkerMessage, { type: "shed" }> => m.type === "shed");
}

test("the crowded worker is asked to shed once every worker has reported", () => {
  const [a, b] = workers(2) as [ReturnType<typeof workers>[0], ReturnType<typeof workers>[0]];
  const balance = new ConnectionBalance();
  a.report(50);
  balance.step([a.handle, b.handle]);
  expect(sent(a.port)).toEqual([]); // b has not reported
  b.report(0);
  expect(balance.step([a.handle, b.handle])).toEqual([{ worker: a.handle, connections: 50, shed: 25 }]);
  expect(sent(a.port)).toEqual([{ type: "shed", count: 25 }]);
  expect(sent(b.port)).toEqual([]);
});

test("a count made before the worker received the last shed is not used; a later one is", () => {
  const [a, b] = workers(2) as [ReturnType<typeof workers>[0], ReturnType<typeof workers>[0]];
  const balance = new ConnectionBalance();
  a.report(50);
  b.report(0);
  balance.step([a.handle, b.handle]);
  expect(sent(a.port)).toHaveLength(1);
  // In flight when the shed went out: still counts the 25 being shed.
  a.report(50, 0);
  b.report(0);
  balance.step([a.handle, b.handle]);
  expect(sent(a.port)).toHaveLength(1);
  // After it: 37 stay, 13 moved; still crowded, so it sheds again, down to the share.
  a.report(37);
  b.report(13);
  balance.step([a.handle, b.handle]);
  expect(sent(a.port)).toEqual([
    { type: "shed", count: 25 },
    { type: "shed", count: 12 },
  ]);
  // Balanced: a 0 clears what may still be pending, once; then nothing more is sent.
  a.report(26);
  b.report(24);
  balance.step([a.handle, b.handle]);
  a.report(26);
  b.report(24);
  balance.step([a.handle, b.handle]);
  expect(sent(a.port).at(-1)).toEqual({ type: "shed", count: 0 });
  expect(sent(a.port)).toHaveLength(3);
  expect(sent(b.port)).toEqual([]);
});

test("stopping and starting workers take no part, and one serving worker is left alone", () => {
  const [a, b, c] = workers(3) as [
    ReturnType<typeof workers>[0],
    ReturnType<typeof workers>[0],
    ReturnType<typeof workers>[0],
  ];
  const balance = new ConnectionBalance();
  b.handle.stop(1000);
  a.report(50);
  b.report(0);
  c.report(0);
  balance.step([a.handle, b.handle, c.handle]);
  // a and c share: 25 each.
  expect(sent(a.port)).toEqual([{ type: "shed", count: 25 }]);
  expect(sent(b.port)).toEqual([]);
  c.handle.stop(1000);
  a.report(40);
  balance.step([a.handle, b.handle, c.handle]);
  expect(sent(a.port)).toHaveLength(1);
});

test("workers that report no count (Bun, Deno) are never asked", () => {
  const [a, b] = workers(2) as [ReturnType<typeof workers>[0], ReturnType<typeof workers>[0]];
  const balance = new ConnectionBalance();
  a.port.heartbeat();
  b.port.heartbeat();
  balance.step([a.handle, b.handle]);
  expect(a.port.sent).toEqual([]);
  expect(b.port.sent).toEqual([]);
});

test.each([true, false])(
  "a worker (thread: %p) reports its connections with the sheds it received, and passes each shed to its server",
  async (thread) => {
    let open = 40;
    const worker = fakeWorker({ thread, fd: 3, connections: () => open });
    // A thread's heartbeat comes from the server's tick; a process worker's with a pong, at most
    // one per 0.75 s (src/worker.ts processBeats).
    let pings = 0;
    const beat = async () => {
      if (thread) return worker.serverOptions()?.hooks?.onTick?.();
      if (pings > 0) await Bun.sleep(800);
      worker.deliver({ type: "ping", id: ++pings });
    };
    await beat();
    expect(worker.sent.at(-1)).toEqual({ type: "heartbeat", connections: 40, sheds: 0 });
    worker.deliver({ type: "shed", count: 15 });
    expect(worker.sheds).toEqual([15]);
    open = 25;
    await beat();
    expect(worker.sent.at(-1)).toEqual({ type: "heartbeat", connections: 25, sheds: 1 });
    worker.deliver({ type: "stop" });
    worker.finish(0);
    await worker.running;
  },
);

test("a worker whose server counts no connections sends plain heartbeats", async () => {
  const worker = fakeWorker({ thread: true, fd: 3 });
  worker.serverOptions()?.hooks?.onTick?.();
  expect(worker.sent.at(-1)).toEqual({ type: "heartbeat" });
  worker.finish(0);
  await worker.running;
});
