/**
 * Processes for the benchmark: start a server in its own process group, wait until it answers,
 * read the RSS of its whole tree from /proc, and kill the whole group by PID when done.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort as anyFreePort } from "../free-port.ts";
import { ROOT } from "../tools.mjs";

export interface Launch {
  cmd: string[];
  env?: Record<string, string>;
  /**
   * Send stdout to a file (removed at stop) instead of a pipe this process reads: for a server that
   * logs every request, so the load run measures the server and not how fast this process reads.
   */
  stdoutToFile?: boolean;
  /** Run the server (and whatever it starts) on these CPUs only (taskset's list, e.g. "0"). */
  cpus?: string;
}

export interface Running {
  pid: number;
  port: number;
  child: ChildProcess;
  /** The last few KiB of stdout+stderr, for error messages. */
  output(): string;
  exited(): boolean;
  /** "exit 3" / "signal SIGKILL" once exited. */
  exitStatus(): string;
  /** SIGKILL the process group (the server and every worker it started) and wait for the leader. */
  stop(): Promise<void>;
}

const live = new Set<Running>();

/** Kill everything still running (the bench's exit path, and a test's afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((r) => r.stop()));
}

const handedOut = new Set<number>();

/**
 * A port that was free a moment ago, below the kernel's ephemeral range (scripts/free-port.ts says
 * why). Never the same port twice in one run, so servers started together cannot be given one port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** `cmd` run on the CPUs `cpus` only (taskset's list, e.g. "0"), or as it is without them. */
export function onCpus(cmd: string[], cpus: string | undefined): string[] {
  return cpus ? ["taskset", "-c", cpus, ...cmd] : cmd;
}

/** Start a server as the leader of a new process group, so stop() reaches its workers too. */
export function launch(spec: Launch, port: number): Running {
  // taskset execs the command: the pid is the server's, as without it.
  const [file, ...args] = onCpus(spec.cmd, spec.cpus);
  if (!file) throw new Error("empty command");
  const logDir = spec.stdoutToFile ? mkdtempSync(join(tmpdir(), "tsuv-bench-stdout-")) : undefined;
  const logFd = logDir ? openSync(join(logDir, "stdout.log"), "w") : undefined;
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", HOST: "127.0.0.1", PORT: String(port), ...spec.env },
    stdio: ["ignore", logFd ?? "pipe", "pipe"],
    detached: true,
  });
  // The child has its own copy of the descriptor.
  if (logFd !== undefined) closeSync(logFd);
  let out = "";
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let done = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      done = true;
      resolve();
    });
    child.once("error", (error) => {
      out += `\nspawn failed: ${error.message}`;
      done = true;
      resolve();
    });
  });
  const running: Running = {
    pid: child.pid ?? 0,
    port,
    child,
    output: () => out,
    exited: () => done,
    exitStatus: () =>
      child.exitCode !== null
        ? `exit ${child.exitCode}`
        : child.signalCode
          ? `signal ${child.signalCode}`
          : "running",
    async stop() {
      live.delete(running);
      // The group first (workers that outlive their parent would keep the port), then the leader.
      for (const target of [-running.pid, running.pid]) {
        try {
          if (running.pid > 0) process.kill(target, "SIGKILL");
        } catch {}
      }
      if (!done) await Promise.race([exit, sleep(5000)]);
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    },
  };
  if (running.pid > 0) live.add(running);
  return running;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Reply {
  status: number;
  body: string;
}

/**
 * One HTTP/1.1 request on a fresh connection (Connection: close), over node:net so that no client
 * connection pool decides which worker answers: each probe is a new connection for the kernel to place.
 */
export function request(
  port: number,
  path: string,
  init: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error("timeout")), init.timeoutMs ?? 2000);
    const body = init.body ?? "";
    socket.on("connect", () => {
      const head = [
        `${init.method ?? "GET"} ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        "Connection: close",
        ...(body ? ["Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`] : []),
      ];
      // write, not end: a half-closed request (FIN after the body) makes some servers drop the body.
      socket.write(`${head.join("\r\n")}\r\n\r\n${body}`);
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0);
      if (!status) return reject(new Error(`no HTTP response (${JSON.stringify(text.slice(0, 80))})`));
      const split = text.indexOf("\r\n\r\n");
      const headers = text.slice(0, split).toLowerCase();
      let rest = text.slice(split + 4);
      // Chunked bodies (Node's res.end() with a streamed body, Deno's streams) need decoding.
      if (headers.includes("transfer-encoding: chunked")) rest = dechunk(rest);
      resolve({ status, body: rest });
    });
  });
}

function dechunk(text: string): string {
  let out = "";
  let at = 0;
  while (at < text.length) {
    const eol = text.indexOf("\r\n", at);
    const size = Number.parseInt(text.slice(at, eol), 16);
    if (!size) break;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return out;
}

/** The line of a failed server's output that says why: the first error line, else the last line. */
function lastLine(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^(\w*Error\b|error:|Error:)/.test(l)) ?? lines.at(-1) ?? "";
}

/** Poll GET / until it answers 200, the server exits, or the deadline passes. */
export async function waitReady(server: Running, timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (server.exited())
      throw new Error(
        `exited (${server.exitStatus()}) before serving: ${lastLine(server.output())}\n${server.output().trim()}`,
      );
    try {
      const reply = await request(server.port, "/", { timeoutMs: 1000 });
      if (reply.status === 200) return performance.now() - started;
    } catch {}
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `not serving after ${timeoutMs} ms: ${lastLine(server.output())}\n${server.output().trim()}`,
      );
    }
    await sleep(20);
  }
}

/** A command line as the A/B tools take it (ab.ts, perf-pair.ts, callgrind.ts): `$PORT` replaced, split on spaces. */
export function commandArgv(cmd: string, port: number): string[] {
  return cmd.replaceAll("$PORT", String(port)).split(/\s+/);
}

/**
 * Start such a command on a free port (on the CPUs `cpus` only, if given; `env` added to its
 * environment) and wait until it serves.
 */
export async function startCommand(
  cmd: string,
  cpus?: string,
  env?: Record<string, string>,
): Promise<Running> {
  const port = await freePort();
  const server = launch({ cmd: commandArgv(cmd, port), cpus, env }, port);
  await waitReady(server);
  return server;
}

let clockTicks = 0;
function ticksPerSecond(): number {
  if (!clockTicks) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    clockTicks = Number(out.stdout?.trim()) || 100;
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system) used so far by a process tree: every thread of every live process.
 * What a server spends per request is much less disturbed by other jobs on the machine than req/s.
 */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime are fields 14 and 15 of stat, 12 and 13 counted after the command name.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / ticksPerSecond();
}

/** PID -> parent PID for every process on the machine (Linux /proc). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      map.set(Number(entry), Number(fields[1]));
    } catch {}
  }
  return map;
}

/** The PID and all its descendants. */
export function tree(pid: number): number[] {
  const ppid = parents();
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of ppid) if (parent === found[i]) found.push(child);
  }
  return found;
}

/** Direct children of a PID. */
export function children(pid: number): number[] {
  return [...parents()].filter(([, parent]) => parent === pid).map(([child]) => child);
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(text.match(new RegExp(`^${field}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function pss(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return Number(text.match(/^Pss:\s+(\d+)/m)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface TreeMemory {
  processes: number;
  threads: number;
  /** Sum of VmRSS over the tree, KiB (counts shared pages once per process). */
  rssKiB: number;
  /** Sum of Pss over the tree, KiB (shared pages split between the processes sharing them). */
  pssKiB: number;
}

export function treeMemory(pid: number): TreeMemory {
  const pids = tree(pid);
  let rssKiB = 0;
  let pssKiB = 0;
  let threads = 0;
  for (const p of pids) {
    rssKiB += statusField(p, "VmRSS");
    threads += statusField(p, "Threads");
    pssKiB += pss(p);
  }
  return { processes: pids.length, threads, rssKiB, pssKiB };
}
