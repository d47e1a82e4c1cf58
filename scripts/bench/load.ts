/**
 * Load generators: wrk (the real measurement) and a small fetch loop (the smoke test's fallback
 * where wrk is not installed). Both return the same Measurement.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCpus } from "./proc.ts";

/**
 * plaintext and json: keep-alive, the issue's two workloads (the default). close: plaintext with a
 * new connection per request (`Connection: close`), as a client or proxy that keeps no connection
 * open sends it (nginx's default to its upstream); by choice only (--workload).
 */
export type Workload = "plaintext" | "json" | "close";
export const WORKLOADS: Workload[] = ["plaintext", "json"];
export const ALL_WORKLOADS: Workload[] = ["plaintext", "json", "close"];

export interface Measurement {
  rps: number;
  requests: number;
  /** Socket errors plus non-2xx/3xx responses: a run with errors is not a valid number. */
  errors: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Server CPU time (user + system, whole process tree) per request, microseconds. */
  cpuUsPerRequest?: number;
}

export interface LoadOptions {
  connections: number;
  threads: number;
  durationS: number;
  /** Per-connection pause before each request (wrk's delay() hook), for a paced, sub-saturation rate. */
  delayMs?: number;
  /** Run wrk on these CPUs only (taskset's list, e.g. "1"): see ThroughputOptions.pin. */
  cpus?: string;
}

/** The 1 KiB JSON document the echo workload POSTs (exactly 1024 bytes). */
export const JSON_BODY: string = (() => {
  const items = Array.from({ length: 8 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    tags: ["a", "b"],
    ok: true,
  }));
  const base = JSON.stringify({ items, pad: "" });
  return JSON.stringify({ items, pad: "x".repeat(1024 - base.length) });
})();

export function pathOf(workload: Workload): string {
  return workload === "json" ? "/json" : "/";
}

/** A Lua script for wrk: POST the JSON body (json), close after each request (close), pace each connection. */
function luaScript(workload: Workload, delayMs: number | undefined): string | undefined {
  const lines: string[] = [];
  if (workload === "json") {
    lines.push(
      'wrk.method = "POST"',
      `wrk.body = [[${JSON_BODY}]]`,
      'wrk.headers["Content-Type"] = "application/json"',
    );
  }
  if (workload === "close") lines.push('wrk.headers["Connection"] = "close"');
  if (delayMs) lines.push(`function delay() return ${delayMs} end`);
  if (!lines.length) return undefined;
  // One fixed folder, one file per script: every run of wrk rewrites the same few files instead of
  // leaving a new temporary folder behind.
  const dir = join(tmpdir(), "tsuv-bench-lua");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${workload}${delayMs ? `-delay${delayMs}` : ""}.lua`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

export function wrkArgs(port: number, workload: Workload, options: LoadOptions): string[] {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${Math.max(1, Math.round(options.durationS))}s`,
    "--latency",
  ];
  const script = luaScript(workload, options.delayMs);
  if (script) args.push("-s", script);
  args.push(`http://127.0.0.1:${port}${pathOf(workload)}`);
  return args;
}

/** "1.23ms" / "845.00us" / "1.02s" -> milliseconds. */
export function parseDuration(text: string): number {
  const match = text.match(/^([\d.]+)(us|ms|s|m)$/);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  const unit = match[2];
  if (unit === "us") return value / 1000;
  if (unit === "ms") return value;
  if (unit === "s") return value * 1000;
  return value * 60_000;
}

/** Parse wrk's report (with --latency). */
export function parseWrk(output: string): Measurement {
  const rps = Number(output.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? Number.NaN);
  const requests = Number(output.match(/(\d+) requests in/)?.[1] ?? 0);
  let errors = Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const socket = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  // wrk counts "read" errors for connections the server closes; with keep-alive servers any is a failure.
  if (socket) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const p50 = output.match(/^\s+50%\s+(\S+)/m)?.[1];
  const p99 = output.match(/^\s+99%\s+(\S+)/m)?.[1];
  return {
    rps,
    requests,
    errors,
    p50Ms: p50 ? parseDuration(p50) : undefined,
    p99Ms: p99 ? parseDuration(p99) : undefined,
  };
}

export function runWrk(port: number, workload: Workload, options: LoadOptions): Promise<Measurement> {
  const args = wrkArgs(port, workload, options);
  return new Promise((resolve, reject) => {
    const [file, ...rest] = onCpus(["wrk", ...args], options.cpus);
    const child = spawn(file as string, rest, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const result = parseWrk(out);
      if (code !== 0 || Number.isNaN(result.rps)) reject(new Error(`wrk ${args.join(" ")} failed:\n${out}`));
      else resolve(result);
    });
  });
}

/**
 * The built-in client: `connections` concurrent fetch loops for `durationS`. Much slower than wrk
 * (the client, not the server, is the bottleneck), so it proves a server answers; it measures nothing.
 */
export async function runFetch(port: number, workload: Workload, options: LoadOptions): Promise<Measurement> {
  const url = `http://127.0.0.1:${port}${pathOf(workload)}`;
  const init: RequestInit =
    workload === "json"
      ? { method: "POST", body: JSON_BODY, headers: { "content-type": "application/json" } }
      : workload === "close"
        ? { method: "GET", headers: { connection: "close" } }
        : { method: "GET" };
  const deadline = performance.now() + options.durationS * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const response = await fetch(url, init);
        await response.arrayBuffer();
        if (response.status >= 400) errors++;
        else latencies.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.connections, 8) }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    rps: latencies.length / elapsed,
    requests: latencies.length,
    errors,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

export type Client = "wrk" | "fetch";

export function runLoad(
  client: Client,
  port: number,
  workload: Workload,
  options: LoadOptions,
): Promise<Measurement> {
  return client === "wrk" ? runWrk(port, workload, options) : runFetch(port, workload, options);
}
