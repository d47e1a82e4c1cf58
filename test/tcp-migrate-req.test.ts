/**
 * net.ipv4.tcp_migrate_req advice (issue #8): workers sharing a port with SO_REUSEPORT on Linux, with
 * the sysctl at 0, get one start-up line suggesting `sysctl -w net.ipv4.tcp_migrate_req=1`. The /proc
 * read is faked; nothing here touches the real sysctl.
 */
import { describe, expect, test } from "bun:test";
import { tcpMigrateReqAdvice } from "../src/runtime/detect.ts";
import { readTcpMigrateReq, TCP_MIGRATE_REQ_PATH } from "../src/runtime/sysctl.ts";
import { Multiprocess } from "../src/supervisors/multiprocess.ts";
import { Multithread } from "../src/supervisors/multithread.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { harness } from "./supervisors/fakes.ts";

const linux = { os: "linux" };

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
    const argv = ["main:app", "--workers", "2", "--worker-class", kind, "--port", "0"];
    const h = harness(kind, { argv, runtime, probedPort: 4321, sharedFd: runtime === bun ? null : 10 });
    const Class = kind === "thread" ? Multithread : Multiprocess;
    const supervisor = new Class(h.config, h.adapter, h.logger, {
      clock: h.clock,
      readTcpMigrateReq: () => sysctl,
    });
    supervisor.signalQueue.push("SIGINT");
    expect(await supervisor.run()).toBe(0);
    return h.logger.messages("info").filter((line) => line.includes("tcp_migrate_req"));
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
