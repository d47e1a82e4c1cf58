/**
 * The capability matrix (runtime x OS x worker class) with fake RuntimeInfo values, as the seed's
 * tests patch `is_free_threaded_runtime`: every cell of docs/workers.md's table is checked against
 * threadModeSupport() / processModeSupport(), so the doc stays true. The fake capabilities mirror
 * detectRuntime()'s derivation, and a last test checks that mirror against detectRuntime() itself on
 * every installed runtime.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bun, deno, node22, node24, node26, ROOT } from "../scripts/tools.mjs";
import {
  type RuntimeCapabilities,
  type RuntimeInfo,
  type RuntimeName,
  versionAtLeast,
} from "../src/runtime/detect.ts";
import { type ModeSupport, processModeSupport, threadModeSupport } from "../src/runtime/support.ts";

/** detectRuntime()'s capabilities for a runtime, version and OS (kept in step by the last test). */
function capabilitiesFor(
  name: RuntimeName,
  version: string,
  os: string,
  unstableNet: boolean,
  runtimeArgs: string[] = [],
): RuntimeCapabilities {
  const linux = os === "linux";
  if (name === "deno") {
    return {
      webWorkers: true,
      reusePortBalances: linux,
      listenOnFd: false,
      passSocketToChild: false,
      unstableNet,
      writesDateHeader: true,
      peerAddressCheap: true,
      fetchDecoding: { codings: ["gzip", "br"], chains: false },
      clientCertificates: "none",
      tlsCiphers: false,
      idleConnectionTimeout: "never",
      fixedBacklog: { tcp: null, unix: 1024 },
      respawn: { ok: true, runtimeArgs },
      threadsDenied: null,
      listenDenied: null,
    };
  }
  if (name === "bun") {
    return {
      webWorkers: true,
      reusePortBalances: linux,
      listenOnFd: false,
      passSocketToChild: false,
      unstableNet: false,
      writesDateHeader: true,
      peerAddressCheap: false,
      fetchDecoding: null,
      clientCertificates: "required",
      tlsCiphers: true,
      idleConnectionTimeout: { maxSeconds: 255 },
      fixedBacklog: { tcp: 512, unix: 512 },
      respawn: { ok: true, runtimeArgs },
      threadsDenied: null,
      listenDenied: null,
    };
  }
  const unixLike = os !== "win32";
  return {
    webWorkers: true,
    reusePortBalances: linux && versionAtLeast(version, [22, 12]),
    listenOnFd: unixLike,
    passSocketToChild: unixLike,
    unstableNet: false,
    writesDateHeader: false,
    peerAddressCheap: true,
    // zstd from undici 7, which Node bundles from 24.0 (Node 22's zlib has zstd, its undici not).
    fetchDecoding: {
      codings: ["gzip", "x-gzip", "deflate", "br", ...(versionAtLeast(version, [24, 0]) ? ["zstd"] : [])],
      chains: true,
    },
    clientCertificates: "optional-and-required",
    tlsCiphers: true,
    idleConnectionTimeout: "unbounded",
    fixedBacklog: { tcp: null, unix: null },
    respawn: { ok: true, runtimeArgs },
    threadsDenied: null,
    listenDenied: null,
  };
}

const DISPLAY: Record<RuntimeName, string> = { node: "Node.js", bun: "Bun", deno: "Deno" };

function info(name: RuntimeName, version: string, os: string, unstableNet = false): RuntimeInfo {
  return {
    name,
    displayName: DISPLAY[name],
    version,
    os,
    arch: "x64",
    capabilities: capabilitiesFor(name, version, os, unstableNet),
  };
}

interface Row {
  runtime: string;
  version: string;
  os: string;
  thread: string;
  process: string;
}

function matrixRows(): Row[] {
  const doc = readFileSync(join(ROOT, "docs", "workers.md"), "utf8");
  const start = doc.indexOf("| Runtime | Version | OS | thread | process |");
  expect(start).toBeGreaterThan(-1);
  const rows: Row[] = [];
  for (const line of doc.slice(start).split("\n").slice(2)) {
    if (!line.startsWith("|")) break;
    const [runtime, version, os, thread, process] = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    rows.push({ runtime, version, os, thread, process } as Row);
  }
  return rows;
}

/** A concrete version for a row's version column ("20.6+", "20.0-20.5", "1.x"). */
function concreteVersion(column: string): string {
  if (column.endsWith("+")) return `${column.slice(0, -1)}.0`;
  if (column.includes("-")) return `${column.split("-")[1]}.0`;
  if (column.endsWith(".x")) return `${column.slice(0, -2)}.0.0`;
  return column;
}

function rowInfo(row: Row): RuntimeInfo {
  const name: RuntimeName = row.runtime.startsWith("Node")
    ? "node"
    : row.runtime.startsWith("Bun")
      ? "bun"
      : "deno";
  const unstableNet = row.runtime.includes("(unstable net)");
  return info(name, concreteVersion(row.version), row.os, unstableNet);
}

function cell(support: ModeSupport): string {
  return support.ok ? support.sharing : "no";
}

describe("docs/workers.md capability matrix", () => {
  const rows = matrixRows();

  test("covers every runtime on linux, darwin and win32", () => {
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const runtime of ["Node.js", "Bun", "Deno"]) {
      for (const os of ["linux", "darwin", "win32"]) {
        expect(rows.some((row) => row.runtime.startsWith(runtime) && row.os === os)).toBe(true);
      }
    }
  });

  for (const row of rows) {
    test(`${row.runtime} ${row.version} on ${row.os}: thread=${row.thread}, process=${row.process}`, () => {
      const runtime = rowInfo(row);
      expect(cell(threadModeSupport(runtime))).toBe(row.thread);
      expect(cell(processModeSupport(runtime))).toBe(row.process);
    });
  }
});

describe("refusals say what is missing and what was found", () => {
  test("Node.js 20.5 thread class", () => {
    const support = threadModeSupport(info("node", "20.5.1", "linux"));
    expect(support).toEqual({
      ok: false,
      reason: 'Worker class "thread" requires Node.js 20.6 or newer; found Node.js 20.5.1 on linux.',
    });
  });

  test("Bun on macOS", () => {
    const support = threadModeSupport(info("bun", "1.4.5", "darwin"));
    expect(support.ok).toBe(false);
    if (!support.ok)
      expect(support.reason).toContain("SO_REUSEPORT load balancing (Linux); found Bun 1.4.5 on darwin.");
  });

  test("Deno without the unstable net API, both classes", () => {
    const runtime = info("deno", "2.9.6", "linux", false);
    for (const support of [threadModeSupport(runtime), processModeSupport(runtime)]) {
      expect(support.ok).toBe(false);
      if (!support.ok) expect(support.reason).toContain("--unstable-net");
    }
  });

  test("a runtime without Web Workers", () => {
    const runtime = info("node", "24.0.0", "linux");
    runtime.capabilities.webWorkers = false;
    const support = threadModeSupport(runtime);
    expect(support.ok).toBe(false);
    if (!support.ok) expect(support.reason).toStartWith('Worker class "thread" requires Web Workers;');
  });
});

describe("the fake capabilities match detectRuntime() on every installed runtime", () => {
  const script = `import { detectRuntime } from ${JSON.stringify(join(ROOT, "src", "runtime", "detect.ts"))}; console.log(JSON.stringify(detectRuntime()));`;
  // With the runtime flags a process worker would get (respawn): Node's and Bun's execArgv; Deno's
  // command line less the subcommand (deno eval runs with every permission, as -A).
  const runtimes: [string, string[], string[]][] = [
    ["bun", [bun(), "-e", script], ["-e", script]],
    ["deno", [deno(), "eval", script], []],
    ["deno --unstable-net", [deno(), "eval", "--unstable-net", script], ["--unstable-net"]],
    // Node 22.18+, 24 and 26 strip the types of detect.ts itself; Node 20 cannot import .ts and is
    // covered by the rows.
    ["node22", [node22(), "--input-type=module", "-e", script], ["--input-type=module", "-e", script]],
    ["node24", [node24(), "--input-type=module", "-e", script], ["--input-type=module", "-e", script]],
    ["node26", [node26(), "--input-type=module", "-e", script], ["--input-type=module", "-e", script]],
  ];
  for (const [label, [command, ...args], runtimeArgs] of runtimes) {
    test(label, () => {
      const result = spawnSync(command as string, args, { encoding: "utf8", cwd: "/" });
      expect(result.stderr).not.toContain("rror");
      const detected = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as RuntimeInfo;
      const unstable = detected.name === "deno" && label.includes("unstable");
      expect(detected.capabilities).toEqual(
        capabilitiesFor(detected.name, detected.version, detected.os, unstable, runtimeArgs),
      );
    });
  }
});
