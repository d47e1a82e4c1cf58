/**
 * Where does one server's extra cost per request go, against another's? Both servers run at once
 * on CPU 0 (wrk on CPU 1, as the bench pins single workers), are loaded in turn (A B, B A, ...) in
 * 1-second rounds, and `perf record -e cpu-clock` samples both the whole time, kernel included.
 * Each sample is split by process and divided by the requests that process served: microseconds
 * per request by kind of work (kernel, JIT code, V8 builtins, GC...), then the leaf functions whose
 * cost differs most. Taking both in the same minute matters here: on this shared machine a
 * server's CPU per request moves by 20% or more between minutes (one run gave node:http 40 and then
 * 56 us per json request), while the two measured together move alike.
 *
 *   bun scripts/bench/perf-pair.ts [--rounds N] [--workload plaintext|json] [--top N]
 *                                  [--callers SYMBOL,...] CMD_A CMD_B
 *
 * Each CMD is one shell-style string (`$PORT` replaced; PORT and HOST in its environment). For
 * names of JavaScript functions, run Node with `--perf-basic-prof` and Deno with
 * `--v8-flags=--perf-basic-prof` (V8 writes /tmp/perf-PID.map); without it JIT code is one bucket.
 * Bun's JavaScriptCore writes no such map. Measures single-process servers: a worker in a child
 * process is not followed. --callers names the first JavaScript frames above each leaf function
 * given (what made a V8 builtin run). Needs perf (Debian: linux-perf) and root or
 * perf_event_paranoid <= 1; cpu-clock is a software event, so it works in VMs without PMU access.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../tools.mjs";
import { runWrk, type Workload } from "./load.ts";
import { ensureCommand } from "./prereq.ts";
import { type Running, sleep, startCommand, stopAll } from "./proc.ts";

/** Samples per second per CPU (a prime, so the sampling does not beat with a timer). */
const FREQUENCY = 1999;
const SERVER_CPU = "0";
const CLIENT_CPU = "1";

/** One sample: its frames, the leaf (where the CPU was) first, each with the object it is in. */
export interface Sample {
  pid: number;
  frames: { symbol: string; dso: string }[];
}

/**
 * `perf script -F pid,ip,sym,dso` output: a line with the pid, then one frame per line
 * ("\tffffffff81000000 name (dso)"), a blank line between samples.
 */
export function parsePerfScript(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (current) samples.push(current);
      current = undefined;
      continue;
    }
    // The pid, right-aligned (so maybe indented); frames are indented with a tab and carry an address.
    if (/^\s*\d+\s*$/.test(line)) {
      if (current) samples.push(current);
      current = { pid: Number.parseInt(line.trim(), 10), frames: [] };
      continue;
    }
    const match = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
    if (current && match) current.frames.push({ symbol: match[1] ?? "", dso: match[2] ?? "" });
  }
  if (current) samples.push(current);
  return samples;
}

const GC = /Scaveng|GarbageCollect|Heap::|MarkCompact|Sweeper|ConcurrentMark|MinorMS/;

/** What kind of work a sample's leaf was doing. */
export function kindOf(sample: Sample): string {
  const leaf = sample.frames[0];
  if (!leaf) return "unknown";
  // A collector's own frames anywhere near the leaf: allocation that ended in a GC counts as GC.
  if (sample.frames.slice(0, 12).some((frame) => GC.test(frame.symbol))) return "garbage collection";
  if (leaf.dso.includes("kernel")) return "kernel";
  if (/perf-\d+\.map|\[JIT\]/.test(leaf.dso) || leaf.symbol.startsWith("JS:")) return "JavaScript (JIT code)";
  if (sample.frames.slice(0, 8).some((frame) => /Json(Parse|Stringif)/.test(frame.symbol)))
    return "JSON parse/stringify";
  if (leaf.symbol.startsWith("Builtins_")) {
    if (/Promise|Microtask|Resolve/.test(leaf.symbol)) return "V8 builtins: promises";
    if (/IC|GetProperty|SetProperty/.test(leaf.symbol)) return "V8 builtins: property access";
    return "V8 builtins: other";
  }
  if (/llhttp/.test(leaf.symbol)) return "HTTP parser";
  if (leaf.dso.startsWith("libc")) return "libc";
  if (/^(uv_|uv__)/.test(leaf.symbol)) return "libuv";
  if (leaf.symbol.startsWith("v8::")) return "V8 runtime (C++)";
  if (leaf.symbol.startsWith("node::")) return "Node (C++)";
  return "other";
}

/** `count` samples as microseconds per request. */
function perRequest(count: number, requests: number): number {
  return requests > 0 ? (count * 1e6) / FREQUENCY / requests : 0;
}

function tally(samples: Sample[], key: (sample: Sample) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    const name = key(sample);
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** A table of `a` against `b` in us per request, the largest differences first. */
export function compare(
  a: Map<string, number>,
  aRequests: number,
  b: Map<string, number>,
  bRequests: number,
  top: number,
): string[] {
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const rows = names.map((name) => {
    const x = perRequest(a.get(name) ?? 0, aRequests);
    const y = perRequest(b.get(name) ?? 0, bRequests);
    return { name, x, y, diff: y - x };
  });
  rows.sort((p, q) => Math.abs(q.diff) - Math.abs(p.diff));
  return rows
    .slice(0, top)
    .map(
      ({ name, x, y, diff }) =>
        `${x.toFixed(2).padStart(8)} ${y.toFixed(2).padStart(8)} ${`${diff >= 0 ? "+" : ""}${diff.toFixed(2)}`.padStart(7)}  ${name}`,
    );
}

/** The first two JavaScript frames above the leaf: what made a builtin or runtime function run. */
function jsCallers(sample: Sample): string {
  const js = sample.frames
    .slice(1)
    .map((frame) => frame.symbol)
    .filter((symbol) => symbol.startsWith("JS:"))
    .slice(0, 2);
  return js.length ? js.join(" <- ") : "(no JavaScript frame)";
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      rounds: { type: "string", default: "8" },
      workload: { type: "string", default: "json" },
      top: { type: "string", default: "20" },
      callers: { type: "string", default: "" },
      connections: { type: "string", default: "50" },
    },
  });
  if (positionals.length !== 2) {
    console.error(
      "usage: bun scripts/bench/perf-pair.ts [--rounds N] [--workload W] [--top N] [--callers S,...] CMD_A CMD_B",
    );
    return 2;
  }
  if (!ensureCommand("perf", "linux-perf", false, "perf-pair samples with perf record")) return 2;
  if (!ensureCommand("wrk", "wrk", false, "the load generator")) return 2;
  const rounds = Number(values.rounds);
  const workload = values.workload as Workload;
  const top = Number(values.top);
  const load = { connections: Number(values.connections), threads: 1, durationS: 1, cpus: CLIENT_CPU };
  const dir = mkdtempSync(join(tmpdir(), "tsuv-perf-pair-"));
  const data = join(dir, "perf.data");
  const servers: { cmd: string; server: Running; requests: number }[] = [];
  try {
    for (const cmd of positionals) {
      const server = await startCommand(cmd, SERVER_CPU);
      servers.push({ cmd, server, requests: 0 });
    }
    // Warm up past the JIT's tiers before sampling.
    for (const s of servers) await runWrk(s.server.port, workload, { ...load, durationS: 3 });
    const pids = servers.map((s) => s.server.pid).join(",");
    const recorder = spawn(
      "perf",
      ["record", "-e", "cpu-clock", "-F", String(FREQUENCY), "-g", "-p", pids, "-o", data],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let recorderErr = "";
    recorder.stderr.on("data", (chunk: Buffer) => {
      recorderErr += chunk.toString("utf8");
    });
    const recorded = new Promise<void>((resolve) => recorder.once("exit", () => resolve()));
    await sleep(500);
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
        const m = await runWrk(s.server.port, workload, load);
        if (m.errors) throw new Error(`${s.cmd}: ${m.errors} errors`);
        s.requests += m.requests;
      }
    }
    recorder.kill("SIGINT");
    // Stopped by SIGINT, perf exits with a signal's status even when it wrote everything: it says so.
    await recorded;
    if (!recorderErr.includes("Captured and wrote")) throw new Error(`perf record failed:\n${recorderErr}`);
    const script = spawnSync("perf", ["script", "-i", data, "-F", "pid,ip,sym,dso"], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    if (script.status !== 0) throw new Error(`perf script failed:\n${script.stderr}`);
    const samples = parsePerfScript(script.stdout);
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const of = (s: typeof a) => samples.filter((sample) => sample.pid === s.server.pid);
    const aSamples = of(a);
    const bSamples = of(b);
    const total = (s: typeof a, n: number) => perRequest(n, s.requests).toFixed(2);
    console.log(`A: ${a.cmd}\n   ${a.requests} requests, ${total(a, aSamples.length)} us per request`);
    console.log(`B: ${b.cmd}\n   ${b.requests} requests, ${total(b, bSamples.length)} us per request`);
    console.log(`\nus per request by kind of work:\n       A        B     B-A`);
    for (const row of compare(tally(aSamples, kindOf), a.requests, tally(bSamples, kindOf), b.requests, 99))
      console.log(row);
    console.log(`\nleaf functions whose cost differs most (us per request):\n       A        B     B-A`);
    const leaf = (sample: Sample) => sample.frames[0]?.symbol.replace(`file://${ROOT}/`, "") ?? "?";
    for (const row of compare(tally(aSamples, leaf), a.requests, tally(bSamples, leaf), b.requests, top))
      console.log(row);
    for (const symbol of values.callers.split(",").filter(Boolean)) {
      console.log(`\nwhat ran ${symbol} (us per request):\n       A        B     B-A`);
      const callers = (sample: Sample) =>
        sample.frames[0]?.symbol.includes(symbol) ? jsCallers(sample) : undefined;
      for (const row of compare(
        tally(aSamples, callers),
        a.requests,
        tally(bSamples, callers),
        b.requests,
        8,
      ))
        console.log(row);
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    // The maps V8 wrote for --perf-basic-prof (it never removes them).
    for (const s of servers) rmSync(`/tmp/perf-${s.server.pid}.map`, { force: true });
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
