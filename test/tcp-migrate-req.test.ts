/**
 * net.ipv4.tcp_migrate_req advice (issue #8): workers sharing a port with SO_REUSEPORT on Linux, with
 * the sysctl at 0, get one start-up line suggesting `sysctl -w net.ipv4.tcp_migrate_req=1`. With it
 * at 1, Node's workers on TCP listen with reusePort too (balanced, docs/workers.md "Connection
 * balance"). The /proc read is faked; nothing here touches the real sysctl.
 */
import { describe, expect, test } from "bun:test";
import { nodeBalancesWithReusePort, tcpMigrateReqAdvice } from "../src/runtime/support.ts";
import { readTcpMigrateReq, TCP_MIGRATE_REQ_PATH } from "../src/runtime/sysctl.ts";
import { Multiprocess } from "../src/supervisors/multiprocess.ts";
import { Multithread } from "../src/supervisors/multithread.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { harness } from "./supervisors/fakes.ts";

const linux = { os: "linux" };

/**
 * Two workers of `kind` over fakes, started with `sysctl` as net.ipv4.tcp_migrate_req and stopped:
 * the first worker's listen target, the ports probed, and the start-up advice lines.
 */
async function supervise(
  kind: "thread" | "process",
  runtime: ReturnType<typeof fakeRuntime>,
  sysctl: string | undefined,
  sharedFd: number | null,
) {
  const argv = ["main:app", "--workers", "2", "--worker-class", kind, "--port", "0"];
  const h = harness(kind, { argv, runtime, probedPort: 4321, sharedFd });
  const Class = kind === "thread" ? Multithread : Multiprocess;
  const supervisor = new Class(h.config, h.adapter, h.logger, {
    clock: h.clock,
    readTcpMigrateReq: () => sysctl,
  });
  supervisor.signalQueue.push("SIGINT");
  expect(await supervisor.run()).toBe(0);
  const advice = h.logger.messages("info").filter((line) => line.includes("tcp_migrate_req"));
  return { listen: h.ports[0]?.boot.listen, probed: h.probed, advice };
}

describe("tcpMigrateReqAdvice", () => {
  test("reusePort, several workers, sysctl 0 on Linux: the advice names the sysctl command", () => {
    expect(tcpMigrateReqAdvice(linux, true, 2, "0")).toContain("sysctl -w net.ipv4.tcp_migrate_req=1");
    expect(tcpMigrateReqAdvice(linux, true, 2, "0\n")).toBeDefined();
  });
  test("no advice otherwise", () => {
    expect(tcpMigrateReqAdvice(linux, true, 2, "1")).toBeUndefined();
    expect(tcpMigrateReqAdvice(linux, true, 2, undefined)).toBeUndefined(); // unreadable (Linux < 5.14)
    expect(tcpMigrateReqAdvice(linux, false, 2, "0")).toBeUndefined(); // one parent-bound queue (Node)
    expect(tcpMigrateReqAdvice(linux, true, 1, "0")).toBeUndefined();
    expect(tcpMigrateReqAdvice({ os: "darwin" }, true, 2, "0")).toBeUndefined();
  });
});

describe("readTcpMigrateReq", () => {
  test("reads and trims /proc/sys/net/ipv4/tcp_migrate_req", () => {
    const asked: string[] = [];
    expect(
      readTcpMigrateReq((path) => {
        asked.push(path);
        return "0\n";
      }),
    ).toBe("0");
    expect(asked).toEqual([TCP_MIGRATE_REQ_PATH]);
  });
  test("undefined where it cannot be read", () => {
    expect(
      readTcpMigrateReq(() => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
  });
});

describe("the supervisor logs it once at start-up", () => {
  const bun = fakeRuntime({
    name: "bun",
    displayName: "Bun",
    version: "1.4.5",
    caps: { listenOnFd: false, passSocketToChild: false },
  });

  async function startupLines(
    kind: "thread" | "process",
    runtime = bun,
    sysctl: string | undefined = "0",
  ): Promise<string[]> {
    return (await supervise(kind, runtime, sysctl, runtime === bun ? null : 10)).advice;
  }

  for (const kind of ["thread", "process"] as const) {
    test(`${kind} workers on reusePort with the sysctl at 0: one info line`, async () => {
      expect(await startupLines(kind)).toHaveLength(1);
    });
    test(`${kind} workers on reusePort with the sysctl at 1: none`, async () => {
      expect(await startupLines(kind, bun, "1")).toEqual([]);
    });
    test(`${kind} workers on a parent-bound socket (Node): none`, async () => {
      expect(await startupLines(kind, fakeRuntime(), "0")).toEqual([]);
    });
  }
});

describe("Node's workers listen with reusePort where the kernel migrates queued connections", () => {
  const node24 = fakeRuntime();
  const node20 = fakeRuntime({ version: "20.20.2", caps: { reusePortBalances: false } });

  test("nodeBalancesWithReusePort: Node with balancing reusePort and the sysctl at 1 only", () => {
    expect(nodeBalancesWithReusePort(node24, "1")).toBe(true);
    expect(nodeBalancesWithReusePort(node24, "1\n")).toBe(true);
    expect(nodeBalancesWithReusePort(node24, "0")).toBe(false);
    expect(nodeBalancesWithReusePort(node24, undefined)).toBe(false);
    expect(nodeBalancesWithReusePort(node20, "1")).toBe(false); // no listen({ reusePort }) before 22.12
    const bun = fakeRuntime({ name: "bun", caps: { passSocketToChild: false } });
    expect(nodeBalancesWithReusePort(bun, "1")).toBe(false); // reusePort already, whatever the sysctl
  });

  const firstBoot = (kind: "thread" | "process", runtime: typeof node24, sysctl: string | undefined) =>
    supervise(kind, runtime, sysctl, 10);

  for (const kind of ["thread", "process"] as const) {
    test(`${kind} workers, Node 22.12+, sysctl 1: each worker binds the probed port with reusePort`, async () => {
      const { listen, probed, advice } = await firstBoot(kind, node24, "1");
      expect(listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 4321, reusePort: true });
      expect(probed).toHaveLength(1);
      expect(advice).toEqual([]);
    });
    test(`${kind} workers, Node 22.12+, sysctl 0 or unreadable: the parent-bound socket, no advice`, async () => {
      for (const sysctl of ["0", undefined]) {
        const { listen, advice } = await firstBoot(kind, node24, sysctl);
        expect(listen).toEqual({ kind: "fd", fd: 10 });
        expect(advice).toEqual([]);
      }
    });
    test(`${kind} workers, Node 20, sysctl 1: the parent-bound socket`, async () => {
      expect((await firstBoot(kind, node20, "1")).listen).toEqual({ kind: "fd", fd: 10 });
    });
  }
});
