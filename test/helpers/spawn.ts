/**
 * Run any command (npx, bunx, a standalone binary, nginx, a socket-activation wrapper) the way the
 * shipping and deployment tests need: output captured, wait for a line, and cleanup of the whole
 * process tree by PID, since npx and bunx start tsuv as a grandchild.
 */
import { readdirSync, readFileSync } from "node:fs";
import { type Subprocess, spawn } from "bun";

export interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  output(): string;
  exited: Promise<number>;
  /** Resolves with the first match of `pattern` in stdout + stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL the process and every descendant. */
  kill(): Promise<void>;
}

const live = new Set<Running>();

/** Kill every process tree started here and still running (afterEach/afterAll). */
export async function killAllStarted(): Promise<void> {
  await Promise.all([...live].map((r) => r.kill()));
}

/** The direct children of `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/)) {
        if (child) found.push(Number(child));
      }
    } catch {
      // The thread ended meanwhile.
    }
  }
  return found;
}

/** Every descendant of `pid`, depth first. */
export function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  for (const child of childrenOf(pid)) all.push(child, ...descendantsOf(child));
  return all;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killTree(pid: number): void {
  for (const p of [pid, ...descendantsOf(pid)]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

export interface StartOptions {
  cwd?: string;
  /** The whole environment (not merged with process.env: the tests control what tsuv sees). */
  env: Record<string, string | undefined>;
}

export function start(cmd: string[], options: StartOptions): Running {
  const proc = spawn(cmd, {
    cwd: options.cwd,
    env: options.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      notify();
    }
  };
  collect(proc.stdout).catch(() => {});
  collect(proc.stderr).catch(() => {});
  const exited = proc.exited.then((code) => {
    live.delete(running);
    notify();
    return code;
  });
  const running: Running = {
    proc,
    pid: proc.pid,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            done();
            reject(
              new Error(
                `${cmd.join(" ")} exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}\n${text}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern} from ${cmd.join(" ")}\n${text}`));
        }, timeoutMs);
        const done = () => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      killTree(proc.pid);
      await exited;
    },
  };
  live.add(running);
  return running;
}

/** Wait for tsuv's "running on http://HOST:PORT" line; returns the base URL. */
export async function tsuvUrl(running: Running, timeoutMs?: number): Promise<string> {
  const match = await running.waitFor(/tsuv running on (https?:\/\/[^\s]+:\d+)/, timeoutMs);
  return match[1] as string;
}
