/**
 * What does a request allocate, and where? Bytes of JavaScript heap per request, by the function
 * that allocated them, for one or more Node.js servers side by side. Each server gets
 * scripts/bench/alloc-sampler.mjs preloaded (NODE_OPTIONS): V8's sampling heap profiler, keeping
 * the samples of objects already collected, switched on for one wrk run after a warm-up. Bytes
 * allocated are the young generation's fill rate, so the scavenges a request causes; the issue's
 * "no per-request allocation of what can be shared" is checked here, and a change's effect on GC
 * then shows in perf-pair.ts.
 *
 *   bun scripts/bench/alloc.ts [--workload plaintext|json] [--seconds S] [--interval BYTES] [--top N] CMD...
 *
 * Each CMD is one shell-style string (`$PORT` replaced; PORT and HOST in its environment) that runs
 * Node, e.g. 'node bench/raw/node-http.mjs' 'node dist/cli.mjs bench/apps/hello.ts --port $PORT'.
 * A single-process server only (a worker in a child process is not followed). Sampling is
 * statistical: one sample per ~`--interval` bytes (512), so a function's figure is good to a few
 * per cent over the ~10^4 requests of a 2-second run, and totals to ~1%.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../tools.mjs";
import { runWrk, type Workload } from "./load.ts";
import { ensureCommand } from "./prereq.ts";
import { sleep, startCommand, stopAll } from "./proc.ts";

/** The part of a V8 sampling heap profile read here (HeapProfiler.SamplingHeapProfile). */
export interface HeapProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children: HeapProfileNode[];
}
export interface HeapProfile {
  head: HeapProfileNode;
  samples: { size: number; nodeId: number }[];
}

/**
 * Bytes allocated per function (the frame on top of the stack when the object was allocated: what
 * a builtin such as Array.prototype.push or Buffer.byteLength allocates counts for its JavaScript
 * caller). Keyed by name and file, without the line, so two builds of the same code compare.
 */
export function bytesByFunction(profile: HeapProfile, root = ROOT): Map<string, number> {
  const bytesAt = new Map<number, number>();
  for (const sample of profile.samples)
    bytesAt.set(sample.nodeId, (bytesAt.get(sample.nodeId) ?? 0) + sample.size);
  const byFunction = new Map<string, number>();
  const stack = [profile.head];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const bytes = bytesAt.get(node.id);
    if (bytes) {
      const name = frameName(node, root);
      byFunction.set(name, (byFunction.get(name) ?? 0) + bytes);
    }
    stack.push(...node.children);
  }
  return byFunction;
}

function frameName(node: HeapProfileNode, root: string): string {
  const { functionName, url } = node.callFrame;
  const path = url.replace(/^file:\/\//, "");
  // A build outside the checkout (an A/B copy in /tmp) keeps its path from dist/ or src/ on.
  const file = path.startsWith("/")
    ? relative(root, path).replace(/^(\.\.\/)+.*?\/(?=dist\/|src\/)/, "")
    : path;
  return `${functionName || "(anonymous)"}${file ? ` ${file}` : ""}`;
}

/** Rows of bytes per request, one column per server, the largest spread between them first. */
export function table(columns: { bytes: Map<string, number>; requests: number }[], top: number): string[] {
  const names = [...new Set(columns.flatMap((column) => [...column.bytes.keys()]))];
  const perRequest = (column: (typeof columns)[0], name: string) =>
    column.requests > 0 ? (column.bytes.get(name) ?? 0) / column.requests : 0;
  const rows = names.map((name) => {
    const values = columns.map((column) => perRequest(column, name));
    return { name, values, spread: Math.max(...values) - Math.min(...values), largest: Math.max(...values) };
  });
  // One server: where its bytes go; several: where they differ most.
  rows.sort((p, q) => (columns.length > 1 ? q.spread - p.spread : q.largest - p.largest));
  const cell = (value: number) => String(Math.round(value)).padStart(8);
  return rows.slice(0, top).map(({ name, values }) => `${values.map(cell).join("")}  ${name}`);
}

async function measure(
  cmd: string,
  workload: Workload,
  seconds: number,
  interval: number,
  dir: string,
  index: number,
): Promise<{ bytes: Map<string, number>; requests: number }> {
  const out = join(dir, `profile-${index}.json`);
  const sampler = join(ROOT, "scripts", "bench", "alloc-sampler.mjs");
  const server = await startCommand(cmd, undefined, {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${sampler}`.trim(),
    TSUV_ALLOC_OUT: out,
    TSUV_ALLOC_INTERVAL: String(interval),
  });
  const port = server.port;
  const load = { connections: 50, threads: 1, durationS: 3 };
  // Past the JIT's tiers first: what the interpreter allocates is not what a warm server does.
  await runWrk(port, workload, load);
  process.kill(server.pid, "SIGUSR2");
  await sleep(200);
  const measured = await runWrk(port, workload, { ...load, durationS: seconds });
  if (measured.errors) throw new Error(`${cmd}: ${measured.errors} errors under load`);
  process.kill(server.pid, "SIGUSR2");
  for (let waited = 0; !existsSync(out); waited += 50) {
    if (waited > 10_000 || server.exited()) throw new Error(`${cmd}: no profile written\n${server.output()}`);
    await sleep(50);
  }
  await sleep(100); // written in one call; let it finish
  await server.stop();
  const profile = JSON.parse(readFileSync(out, "utf8")) as HeapProfile | { error: string };
  if ("error" in profile) throw new Error(`${cmd}: ${profile.error}`);
  return { bytes: bytesByFunction(profile), requests: measured.requests };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      workload: { type: "string", default: "json" },
      seconds: { type: "string", default: "2" },
      interval: { type: "string", default: "512" },
      top: { type: "string", default: "25" },
    },
  });
  if (positionals.length === 0) {
    console.error(
      "usage: bun scripts/bench/alloc.ts [--workload W] [--seconds S] [--interval B] [--top N] CMD...",
    );
    return 2;
  }
  if (!ensureCommand("wrk", "wrk", false, "the load generator")) return 2;
  const dir = mkdtempSync(join(tmpdir(), "tsuv-alloc-"));
  try {
    const columns: { bytes: Map<string, number>; requests: number }[] = [];
    for (const [i, cmd] of positionals.entries()) {
      columns.push(
        await measure(
          cmd,
          values.workload as Workload,
          Number(values.seconds),
          Number(values.interval),
          dir,
          i,
        ),
      );
    }
    for (const [i, cmd] of positionals.entries()) {
      const column = columns[i] as (typeof columns)[0];
      const total = [...column.bytes.values()].reduce((sum, bytes) => sum + bytes, 0);
      console.log(`${String.fromCharCode(65 + i)}: ${cmd}`);
      console.log(`   ${column.requests} requests, ${Math.round(total / column.requests)} bytes per request`);
    }
    const heading = positionals.map((_, i) => String.fromCharCode(65 + i).padStart(8)).join("");
    console.log(`\nbytes per request by allocating function:\n${heading}`);
    for (const row of table(columns, Number(values.top))) console.log(row);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
