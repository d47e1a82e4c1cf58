/**
 * The cooperative healthcheck (src/supervisors/heartbeat.ts) on its own, over a FakeWorkerPort and a
 * virtual clock: when a thread's heartbeat is stale, when a process's ping counts as missed, which
 * messages count as a sign of life. Then the same decisions through the supervisor's loop, so a
 * change in how often it asks shows up here too.
 */
import { describe, expect, test } from "bun:test";
import { Heartbeat } from "../../src/supervisors/heartbeat.ts";
import { Multiprocess } from "../../src/supervisors/multiprocess.ts";
import { Multithread } from "../../src/supervisors/multithread.ts";
import { TICK_MS } from "../../src/supervisors/supervisor.ts";
import { FakeClock, FakeWorkerPort, harness, settle } from "./fakes.ts";

const TIMEOUT_MS = 1000;
const tcp = { kind: "tcp", host: "127.0.0.1", port: 1, reusePort: true } as const;

function heartbeat(kind: "thread" | "process") {
  const clock = new FakeClock();
  const port = new FakeWorkerPort(kind, { argv: [], listen: tcp });
  // A silent worker unless a test says otherwise: the fake answers pings only when healthy.
  port.healthy = false;
  return { clock, port, heartbeat: new Heartbeat(port, clock) };
}

describe("thread heartbeat (fresh)", () => {
  test("a thread that stops sending heartbeats is stale once the timeout has passed, not before", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("thread");
    port.markReady();
    await clock.advance(TIMEOUT_MS);
    expect(hb.fresh(TIMEOUT_MS)).toBe(true); // exactly the timeout: still fresh
    await clock.advance(1);
    expect(hb.fresh(TIMEOUT_MS)).toBe(false);
  });

  test("a thread that keeps sending heartbeats stays fresh however long it runs", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("thread");
    port.markReady();
    for (let i = 0; i < 100; i++) {
      await clock.advance(TIMEOUT_MS / 2);
      port.heartbeat();
      expect(hb.fresh(TIMEOUT_MS)).toBe(true);
    }
    expect(hb.lastSeen).toBe(clock.now());
  });

  test("a late heartbeat makes a stale thread fresh again (the check only reads the last one)", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("thread");
    port.markReady();
    await clock.advance(5 * TIMEOUT_MS);
    expect(hb.fresh(TIMEOUT_MS)).toBe(false);
    port.heartbeat();
    expect(hb.fresh(TIMEOUT_MS)).toBe(true);
  });

  test("ready counts as a sign of life: a slow boot does not fail the first check", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("thread");
    await clock.advance(30_000); // booting, silent
    port.markReady();
    expect(hb.lastSeen).toBe(30_000);
    expect(hb.fresh(TIMEOUT_MS)).toBe(true);
  });
});

describe("process ping (pingAnswered)", () => {
  test("a process that stops answering is unhealthy once its ping is older than the timeout", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("process");
    port.markReady();
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true); // sends ping 1
    expect(port.sent).toEqual([{ type: "ping", id: 1 }]);
    await clock.advance(TIMEOUT_MS);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true); // exactly the timeout: still in time
    await clock.advance(1);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(false);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(false); // and stays so: no new ping hides it
    expect(port.pings()).toBe(1); // one ping in flight at a time: a slow worker is not flooded
  });

  test("a process that answers stays healthy; each check after a pong sends the next ping", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("process");
    port.healthy = true; // the fake answers every ping at once
    port.markReady();
    for (let i = 1; i <= 20; i++) {
      expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true);
      expect(port.sent.at(-1)).toEqual({ type: "ping", id: i });
      expect(hb.lastSeen).toBe(clock.now()); // the pong is a sign of life
      await clock.advance(3 * TIMEOUT_MS); // between checks longer than the timeout: no ping waits
    }
    expect(port.pings()).toBe(20);
  });

  test("a ping answered late, but before the next check, passes: the check decides, not the pong", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("process");
    port.markReady();
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true);
    await clock.advance(TIMEOUT_MS + 200);
    port.emit({ type: "pong", id: 1 }); // past the timeout, nobody asked yet
    await clock.advance(300);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true);
    expect(port.sent.at(-1)).toEqual({ type: "ping", id: 2 });
  });

  test("a pong after the check that failed clears it: the next check passes and pings again", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("process");
    port.markReady();
    hb.pingAnswered(TIMEOUT_MS);
    await clock.advance(TIMEOUT_MS + 500);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(false);
    port.emit({ type: "pong", id: 1 });
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(true);
    expect(port.pings()).toBe(2);
  });

  test("only the pong for the ping in flight counts; heartbeats do not answer a ping", async () => {
    const { clock, port, heartbeat: hb } = heartbeat("process");
    port.markReady();
    hb.pingAnswered(TIMEOUT_MS); // ping 1
    await clock.advance(500);
    port.emit({ type: "pong", id: 7 }); // not ours
    expect(hb.lastSeen).toBe(0);
    port.heartbeat(); // a process worker heartbeats too, but only a pong proves the ping was read
    expect(hb.lastSeen).toBe(500);
    await clock.advance(TIMEOUT_MS);
    expect(hb.pingAnswered(TIMEOUT_MS)).toBe(false);
    expect(port.pings()).toBe(1);
  });
});

/** How often the loop test looks whether the supervisor has acted (virtual ms). */
const POLL_MS = 50;

/**
 * Run a supervisor for 10 virtual seconds after its first worker hangs (or not), noting how long
 * after the hang that worker was stopped (threads drain) or killed (processes).
 */
async function foundAfterHang(kind: "thread" | "process", hangs: boolean) {
  const argv = ["main:app", "--workers", "2", "--timeout-worker-healthcheck", "1"];
  if (kind === "thread") argv.push("--worker-class", "thread");
  const h = harness(kind, { argv });
  const deps = h.deps;
  const supervisor =
    kind === "thread"
      ? new Multithread(h.config, h.adapter, h.logger, deps)
      : new Multiprocess(h.config, h.adapter, h.logger, deps);
  const running = supervisor.run();
  await h.clock.advance(0);
  await settle();
  const first = h.ports[0] as FakeWorkerPort;
  expect(first).toBeDefined();
  const hungAt = h.clock.now() + 1;
  if (hangs)
    h.clock.at(hungAt, () => {
      first.healthy = false;
    });
  let foundAt: number | undefined;
  for (let t = hungAt; t <= hungAt + 10_000; t += POLL_MS) {
    h.clock.at(t, () => {
      if (foundAt === undefined && (first.stopped || first.killed)) foundAt = h.clock.now();
    });
  }
  h.clock.at(hungAt + 10_000, () => supervisor.signalQueue.push("SIGTERM"));
  expect(await running).toBe(0);
  return {
    foundAt: foundAt === undefined ? undefined : foundAt - hungAt,
    warnings: h.logger.messages("warning"),
  };
}

describe("through the supervisor loop (1 s timeout, 0.5 s ticks)", () => {
  for (const kind of ["thread", "process"] as const) {
    test(`a ${kind} that falls silent is declared unhealthy after the timeout, within two ticks more`, async () => {
      const { foundAt, warnings } = await foundAfterHang(kind, true);
      expect(foundAt).toBeDefined();
      // Not before the timeout, less the tick by which the last sign of life may precede the hang.
      // At most timeout + 2 ticks: a process's next ping leaves up to a tick after the hang and is
      // judged on the first tick past the timeout; plus the poll's own granularity.
      expect(foundAt as number).toBeGreaterThanOrEqual(TIMEOUT_MS - TICK_MS);
      expect(foundAt as number).toBeLessThanOrEqual(TIMEOUT_MS + 2 * TICK_MS + POLL_MS);
      expect(warnings[0]).toContain("failed healthcheck");
    });

    test(`a ${kind} that keeps answering is never declared unhealthy`, async () => {
      const { foundAt, warnings } = await foundAfterHang(kind, false);
      expect(foundAt).toBeUndefined();
      expect(warnings.filter((line) => line.includes("failed healthcheck"))).toEqual([]);
    });
  }
});
