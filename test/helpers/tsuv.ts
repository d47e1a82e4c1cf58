/**
 * Drive a real tsuv under a real runtime: spawn it, wait for the "running on" line to learn the
 * bound address, speak HTTP to it, and always kill it by PID afterwards.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { bun, deno, node20, pinnedNode, ROOT } from "../../scripts/tools.mjs";

export type RuntimeKey = "node20" | "node22" | "node24" | "node26" | "bun" | "deno";
/**
 * The runtimes most tests run on. Node 22 (maintenance LTS until 2027-04) and 26 (the Active LTS
 * since 2026-10) run the behaviour suite and what differs there (test/behaviour/node22.test.ts and
 * node26.test.ts, test/permissions.test.ts, test/runtime-node.test.ts), not all of them: the whole
 * suite passed on each in Node 24's place (run ad hoc), but for version-pinned asserts, Node 26's
 * --allow-net, and on Node 22 runtime-node's undici expectation, since keyed on the major version.
 */
export const RUNTIMES: RuntimeKey[] = ["node20", "node24", "bun", "deno"];

/**
 * A loopback port that was free a moment ago, below the kernel's ephemeral range (scripts/free-port.ts
 * says why), for a server that must be told its port up front: nginx's, or a tsuv whose output
 * cannot be read for "running on".
 */
export { canListen, freePort } from "../../scripts/free-port.ts";
export { ROOT };

/**
 * The contract forms from the README: the Node bundle, `bun src/cli.ts`, `deno run -A src/cli.ts`.
 * `runtimeFlags` go before the script; on Deno they replace -A (the permissions a test runs under).
 */
export function tsuvCommand(runtime: RuntimeKey, runtimeFlags: string[] = []): string[] {
  switch (runtime) {
    case "node20":
      return [node20(), ...runtimeFlags, join(ROOT, "dist", "cli.mjs")];
    case "node22":
    case "node24":
    case "node26":
      return [pinnedNode(runtime.slice(4)), ...runtimeFlags, join(ROOT, "dist", "cli.mjs")];
    case "bun":
      return [bun(), ...runtimeFlags, join(ROOT, "src", "cli.ts")];
    case "deno": {
      const flags = runtimeFlags.length > 0 ? runtimeFlags : ["-A"];
      return [deno(), "run", ...flags, `--config=${join(ROOT, "deno.json")}`, join(ROOT, "src", "cli.ts")];
    }
  }
}

export interface RunningTsuv {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  /** Base URL (http://127.0.0.1:PORT) once running; "" for unix sockets and fds. */
  url: string;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** Wait until a line matching `pattern` appears on stdout or stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  kill(): Promise<void>;
}

/** Linux has /proc; macOS does not, and there kill(pid, 0) alone has to answer. */
const HAS_PROCFS = existsSync("/proc/self/status");

/**
 * The process exists and is not a zombie (an exited orphan stays a zombie until init reaps it). A
 * /proc entry that vanished after kill(pid, 0) succeeded means the process just went away.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!HAS_PROCFS) return true;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * The pid a fixture parent prints on its stdout as `child PID` once its child started
 * (test/fixtures/workers: orphan-parent.ts, pipe-parent.ts). The parent must have stdout piped.
 */
export function printedChildPid(
  parent: { stdout: NodeJS.ReadableStream | null },
  timeoutMs = 10_000,
): Promise<number> {
  return new Promise<number>((done, fail) => {
    let out = "";
    parent.stdout?.on("data", (chunk) => {
      out += String(chunk);
      const match = out.match(/child (\d+)/);
      if (match) done(Number(match[1]));
    });
    setTimeout(() => fail(new Error(`no child pid: ${out}`)), timeoutMs);
  });
}

/** One request on a fresh connection (`connection: close`): the body of a 2xx, else null (error or timeout). */
export async function getBody(base: string, path: string, timeoutMs = 10_000): Promise<string | null> {
  try {
    const response = await fetch(`${base}${path}`, {
      headers: { connection: "close" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

/** How a burst of requests asks the workers who they are (the worker apps answer with their identity). */
export interface IdentityProbe {
  /** The route (default "/"). The workers fixture's /busy holds the event loop, spreading a burst. */
  path?: string;
  /** Concurrent requests per burst (default 8). */
  burst?: number;
  /** Per-request limit (default 5000 ms): a hung worker's share of the burst costs at most this. */
  requestTimeoutMs?: number;
}

/** The identities that answered one burst of concurrent requests. */
export async function identities(base: string, probe: IdentityProbe = {}): Promise<Set<string>> {
  const { path = "/", burst = 8, requestTimeoutMs = 5000 } = probe;
  const bodies = await Promise.all(
    Array.from({ length: burst }, () => getBody(base, path, requestTimeoutMs)),
  );
  return new Set(bodies.filter((body): body is string => body !== null));
}

/** Poll until `workers` distinct identities answered (a worker is ready only once it listens). */
export async function waitIdentities(
  base: string,
  workers: number,
  timeoutMs = 30_000,
  probe: IdentityProbe = {},
): Promise<Set<string>> {
  const seen = new Set<string>();
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    for (const id of await identities(base, probe)) seen.add(id);
    if (seen.size >= workers) return seen;
    await Bun.sleep(20);
  }
  throw new Error(`only ${seen.size} of ${workers} workers answered: ${[...seen].join(", ")}`);
}

/**
 * Poll until an identity not in `old` answers; the time it took (ms). `probe.burst` askers, each
 * asking on its own, and the first new identity ends the wait: where a hung worker's listener
 * outlives it (Deno's thread workers), a request landing there waits out its limit without holding
 * up the others. (Polling in bursts that each waited for their slowest request made such a wait
 * one whole request limit longer per burst: 22.3 s instead of 12.4 s for one Deno test.)
 */
export function waitNewIdentity(
  base: string,
  old: Set<string>,
  probe: IdentityProbe = {},
  timeoutMs = 30_000,
): Promise<number> {
  const { path = "/", burst = 8, requestTimeoutMs = 5000 } = probe;
  const start = performance.now();
  let found: number | undefined;
  return new Promise((resolve, reject) => {
    let askers = burst;
    for (let i = 0; i < burst; i++) {
      void (async () => {
        while (found === undefined && performance.now() - start < timeoutMs) {
          const body = await getBody(base, path, requestTimeoutMs);
          if (body !== null && !old.has(body)) {
            found ??= performance.now() - start;
            resolve(found);
          } else await Bun.sleep(20);
        }
        if (--askers === 0 && found === undefined) reject(new Error("no replacement worker answered"));
      })();
    }
  });
}

/** Both output streams, as the tests read the log (tsuv logs to stderr, access lines to stdout). */
function output(t: RunningTsuv): string {
  return t.stdout() + t.stderr();
}

/** How many times `pattern` occurs in the output so far. */
export function logCount(t: RunningTsuv, pattern: RegExp): number {
  const global = pattern.flags.includes("g") ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
  return output(t).match(global)?.length ?? 0;
}

/**
 * Wait until `pattern` occurs `n` times in the output (waitFor() waits for one); resolves with the
 * milliseconds it took, which the fault cases report as detection times.
 */
export async function waitLog(t: RunningTsuv, pattern: RegExp, n = 1, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  while (logCount(t, pattern) < n) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(
        `timed out waiting for ${n} x ${pattern}\n--- stderr\n${t.stderr()}\n--- stdout\n${t.stdout()}`,
      );
    }
    await Bun.sleep(10);
  }
  return performance.now() - start;
}

/** Child PIDs the parent logged ("Started server process [PID]" other than its own). */
export function childPids(t: RunningTsuv): number[] {
  const pids = [...output(t).matchAll(/Started server process \[(\d+)\]/g)].map((m) => Number(m[1]));
  return [...new Set(pids)].filter((pid) => pid !== t.pid);
}

const live = new Set<RunningTsuv>();

/** Kill every tsuv a test started and left running (call from afterEach/afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((t) => t.kill()));
}

function collect(stream: ReadableStream<Uint8Array>, into: { text: string }, notify: () => void): void {
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of stream) {
      into.text += decoder.decode(chunk, { stream: true });
      notify();
    }
  })().catch(() => {});
}

export interface StartOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Wait for "running on" (default) or nothing (for processes expected to fail). */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  /** Not killed by killAll() (a server shared by a describe block, killed in its afterAll). */
  persistent?: boolean;
  /**
   * Start under this open-file limit (soft and hard, as `ulimit -n` sets them, so the runtime cannot
   * raise it). The shell execs the runtime: the PID stays the server's.
   */
  openFileLimit?: number;
  /** Start with SIGHUP ignored (`trap '' HUP`, what nohup does); the shell execs the runtime. */
  ignoreHangup?: boolean;
  /**
   * Start under this file-size limit in KiB (`ulimit -S -f`): a write past it fails with EFBIG, as
   * one on a full disk fails with ENOSPC, without a disk to fill. Pipes are not limited.
   */
  fileSizeLimitKiB?: number;
  /** Runtime flags before the script (tsuvCommand); on Deno, in place of -A. */
  runtimeFlags?: string[];
}

export function startTsuv(
  runtime: RuntimeKey,
  args: string[],
  options: StartOptions = {},
): Promise<RunningTsuv> & { raw: RunningTsuv } {
  const command = [...tsuvCommand(runtime, options.runtimeFlags), ...args];
  const setup = [
    options.openFileLimit === undefined ? "" : `ulimit -n ${options.openFileLimit} && `,
    options.ignoreHangup ? "trap '' HUP && " : "",
    options.fileSizeLimitKiB === undefined ? "" : `ulimit -S -f ${options.fileSizeLimitKiB} && `,
  ].join("");
  const limited = setup === "" ? command : ["sh", "-c", `${setup}exec "$@"`, "sh", ...command];
  const proc = spawn(limited, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = { text: "" };
  const err = { text: "" };
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  collect(proc.stdout, out, notify);
  collect(proc.stderr, err, notify);
  const exited = proc.exited.then((code) => {
    live.delete(running);
    notify();
    return code;
  });

  const running: RunningTsuv = {
    proc,
    pid: proc.pid,
    url: "",
    port: 0,
    stdout: () => out.text,
    stderr: () => err.text,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = (out.text + err.text).match(pattern) ?? null;
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match[0]);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `tsuv exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}\n--- stdout\n${out.text}\n--- stderr\n${err.text}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`timed out waiting for ${pattern}\n--- stdout\n${out.text}\n--- stderr\n${err.text}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    signal(signal) {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, signal);
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
  if (!options.persistent) live.add(running);

  const ready = (async () => {
    if (options.waitReady === false) return running;
    const line = await running.waitFor(/tsuv running on \S+/, options.readyTimeoutMs ?? 20_000);
    const match = line.match(/https?:\/\/(\[[^\]]+\]|[^:/]+):(\d+)/);
    if (match) {
      running.port = Number(match[2]);
      running.url = `${line.includes("https://") ? "https" : "http"}://${match[1]}:${match[2]}`;
    }
    return running;
  })();
  return Object.assign(ready, { raw: running });
}

export type WorkerClassName = "process" | "thread";
export const WORKER_CLASSES: WorkerClassName[] = ["process", "thread"];

/**
 * `app` served by two workers of `workerClass` on a free port, as the worker and fault tests run it:
 * a 1 s graceful shutdown (a stuck worker costs a test 1 s, not the default wait) and no access log
 * (it would only add output to search). `extra` arguments come after these.
 */
export function startTwoWorkers(
  runtime: RuntimeKey,
  app: string,
  workerClass: WorkerClassName,
  extra: string[] = [],
  options: StartOptions = {},
): ReturnType<typeof startTsuv> {
  return startTsuv(
    runtime,
    [
      app,
      "--port",
      "0",
      "--workers",
      "2",
      "--worker-class",
      workerClass,
      "--timeout-graceful-shutdown",
      "1",
      "--no-access-log",
      ...extra,
    ],
    options,
  );
}

/** Run tsuv to completion (for errors and --version): exit code and output. */
export async function runTsuv(
  runtime: RuntimeKey,
  args: string[],
  options: StartOptions & { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const started = startTsuv(runtime, args, { ...options, waitReady: false });
  const t = await started;
  const timer = setTimeout(() => t.kill(), options.timeoutMs ?? 20_000);
  const code = await t.exited;
  clearTimeout(timer);
  return { code, stdout: t.stdout(), stderr: t.stderr() };
}
