/**
 * Instructions per request, counted by valgrind's callgrind: steadier than CPU time (a shared 2-core
 * machine moves CPU-us/req by 20% between runs; the instruction count of a settled server by 1-3%).
 * Starts each server under callgrind, warms it up (the JIT settles), zeroes the counters, sends
 * exactly N keep-alive requests from C connections, dumps the counters and divides; that --windows
 * times over (3), and prints the least with all of them beside it (see measure()).
 *
 *   bun scripts/bench/callgrind.ts [--requests N] [--warmup N] [--windows K] [--workload plaintext|json] CMD...
 *
 * CMD as in ab.ts (`$PORT` replaced, PORT/HOST in the environment, leading NAME=value words too). Every thread and process of
 * the command's own process counts (not children: a tsuv worker runs in its own process, so
 * measure single-worker tsuv). KEEP_CALLGRIND=1 prints where the dumps are (callgrind_annotate
 * them to see the native functions). Under valgrind a server is ~50x slower: keep N in the thousands.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { JSON_BODY, pathOf, type Workload } from "./load.ts";
import { commandArgv, freePort, sleep } from "./proc.ts";

/** Send `count` requests one after another on one keep-alive connection. */
function sequence(port: number, workload: Workload, count: number): Promise<void> {
  const path = pathOf(workload);
  const request =
    workload === "json"
      ? `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(JSON_BODY)}\r\n\r\n${JSON_BODY}`
      : `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buffer = Buffer.alloc(0);
    let left = count;
    socket.on("connect", () => socket.write(request));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1");
        if (!head.startsWith("HTTP/1.1 200")) {
          socket.destroy();
          reject(new Error(`unexpected answer: ${head.split("\r\n")[0]}`));
          return;
        }
        let length = Number(head.match(/content-length:\s*(\d+)/i)?.[1] ?? Number.NaN);
        if (Number.isNaN(length)) {
          if (!/transfer-encoding:\s*chunked/i.test(head)) {
            socket.destroy();
            reject(new Error("neither content-length nor chunked in the answer"));
            return;
          }
          // Small bodies only: the answer ends at the last chunk (no trailers).
          const last = buffer.indexOf("0\r\n\r\n", end + 4);
          if (last === -1) return;
          length = last + 5 - (end + 4);
        }
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        if (--left === 0) {
          socket.end();
          resolve();
          return;
        }
        socket.write(request);
      }
    });
  });
}

async function send(port: number, workload: Workload, total: number, connections: number): Promise<void> {
  const each = Math.floor(total / connections);
  await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      sequence(port, workload, i === 0 ? total - each * (connections - 1) : each),
    ),
  );
}

async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await sequence(port, "plaintext", 1);
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(200);
    }
  }
}

/** Instructions in the `part`th dump (`cg.out.PID.part`: each dump counts since the last one). */
function dumpIr(dir: string, part: number): number {
  const name = new RegExp(`^cg\\.out\\.\\d+\\.${part}$`);
  let total = 0;
  for (const file of readdirSync(dir)) {
    if (!name.test(file)) continue;
    const text = readFileSync(join(dir, file), "utf8");
    const match = text.match(/^(?:summary|totals):\s+(\d+)/m);
    if (match) total += Number(match[1]);
  }
  return total;
}

/**
 * Instructions per request in each of `windows` back-to-back windows of `requests` requests. The
 * JIT compilers run on threads of their own, which count too: a window in which a function was
 * still being (re)compiled stands out from the others, so the windows say whether the server had
 * settled. Seen on Bun 1.4.5 with 8,000 warm-up requests: the same plaintext server measured 21k
 * in one run and 29k in the next.
 */
async function measure(
  cmd: string,
  workload: Workload,
  requests: number,
  warmup: number,
  connections: number,
  windows: number,
): Promise<number[]> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tsuv-callgrind-"));
  const argv = commandArgv(cmd, port);
  // Leading NAME=value words go to the environment (valgrind would trace `env`, not the server).
  const env: Record<string, string> = {};
  while (argv[0] && /^\w+=/.test(argv[0])) {
    const [name, ...value] = (argv.shift() as string).split("=");
    env[name as string] = value.join("=");
  }
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      // JIT code is written to anonymous memory: valgrind must notice it changing.
      "--smc-check=all-non-file",
      `--callgrind-out-file=${join(dir, "cg.out.%p")}`,
      ...argv,
    ],
    {
      env: { ...process.env, NO_COLOR: "1", HOST: "127.0.0.1", PORT: String(port), ...env },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    },
  );
  let err = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4000);
  });
  const pid = child.pid as number;
  try {
    await waitListening(port, 120_000);
    await send(port, workload, warmup, connections);
    // vgdb names its pipes after $HOST, so callgrind_control needs the server's HOST too.
    const control = { encoding: "utf8" as const, env: { ...process.env, HOST: "127.0.0.1" } };
    const zero = spawnSync("callgrind_control", ["-z", String(pid)], control);
    if (zero.status !== 0) throw new Error(`callgrind_control -z failed: ${zero.stderr}${zero.stdout}`);
    for (let window = 0; window < windows; window++) {
      await send(port, workload, requests, connections);
      const dump = spawnSync("callgrind_control", ["-d", String(pid)], control);
      if (dump.status !== 0) throw new Error(`callgrind_control -d failed: ${dump.stderr}${dump.stdout}`);
    }
    await sleep(500);
    if (process.env.KEEP_CALLGRIND) console.log(`callgrind output: ${dir}`);
    return Array.from({ length: windows }, (_, window) => dumpIr(dir, window + 1) / requests);
  } catch (error) {
    throw new Error(`${cmd}: ${(error as Error).message}\n${err}`);
  } finally {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      requests: { type: "string", default: "5000" },
      warmup: { type: "string", default: "5000" },
      workload: { type: "string", default: "plaintext" },
      connections: { type: "string", default: "10" },
      windows: { type: "string", default: "3" },
    },
  });
  if (positionals.length === 0) {
    console.error(
      "usage: bun scripts/bench/callgrind.ts [--requests N] [--warmup N] [--windows K] [--workload W] CMD...",
    );
    return 2;
  }
  let base = 0;
  for (const cmd of positionals) {
    const windows = await measure(
      cmd,
      values.workload as Workload,
      Number(values.requests),
      Number(values.warmup),
      Number(values.connections),
      Number(values.windows),
    );
    // The least: JIT work only ever adds, and so does what a runtime does now and then (Deno 2.9.6's
    // third window was 1.2-2.8x its second in every run, raw Deno.serve's too; cause not looked
    // into). The windows beside it show how settled the server was.
    const ir = Math.min(...windows);
    base ||= ir;
    const each = windows.map((value) => `${(value / 1000).toFixed(1)}k`).join(", ");
    console.log(
      `${Math.round(ir).toString().padStart(9)} instructions/req  ${(ir / base).toFixed(3)}x  (${each})  ${cmd}`,
    );
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
