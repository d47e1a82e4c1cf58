/**
 * Results -> ratios -> docs/benchmarks.md (+ the SVG chart). Pure functions over the run's data,
 * so the report can be rebuilt from a saved results JSON (`--report-from`).
 */
import { join, resolve } from "node:path";
import { ROOT } from "../tools.mjs";
import { allGroups, type Comparison, RUNTIME_NAMES } from "./contenders.ts";
import { type IdleRun, renderIdleMarkdown } from "./idle.ts";
import type { Measurement, Workload } from "./load.ts";
import type { Machine } from "./machine.ts";
import { type MemoryResult, threadProcessRatio } from "./memory.ts";
import type { ReplaceResult } from "./replace.ts";
import type { StartupResult } from "./startup.ts";
import { type ChartRow, ratioChart } from "./svg.ts";
import { type ContenderResult, median, medianRatio } from "./throughput.ts";
import {
  renderWebSocketMarkdown,
  type WebSocketOptions,
  type WebSocketResult,
  webSocketSides,
} from "./websocket.ts";

/** How the memory rows were sampled: said only for runs with rounds (older saved runs had one). */
function memoryRoundsNote(memory: MemoryResult[]): string {
  const rounds = Math.max(0, ...memory.map((m) => m.rounds?.length ?? 0));
  if (rounds < 2) return "";
  return ` Each setup ran ${rounds} times, the two classes alternating (thread first, then process first); RSS, PSS and the counts are the median round's (by RSS), every round's RSS in brackets, and a ratio is the median of the per-round ratios.`;
}

export interface BenchRun {
  command: string;
  startedAt: string;
  elapsedS: number;
  machine: Machine;
  loadAfter: string;
  versions: Record<string, string>;
  settings: {
    client: "wrk" | "fetch";
    durationS: number;
    warmupS: number;
    rounds: number;
    connections: number;
    threads: number;
    workloads: Workload[];
    /** Single-worker groups' server and wrk CPUs (ThroughputOptions.pin); absent: left free. */
    pin?: { server: string; client: string };
    /** The groups of 2+ workers' own rounds and seconds (ThroughputOptions.multiWorker), if set. */
    multiWorker?: { rounds: number; durationS: number };
    /** `rounds`: absent in runs saved before the latency run had rounds of its own (it had the throughput's). */
    latency?: { connections: number; delayMs: number; durationS: number; rounds?: number };
  };
  results: ContenderResult[];
  comparisons: Comparison[];
  memory: MemoryResult[];
  /**
   * `packageBin`: on Bun and Deno, the npm package's bin (dist/bun/, dist/deno/), where `tsuv` is
   * the checkout's src/ (absent in older runs).
   */
  startup: { runtime: string; tsuv: StartupResult; raw: StartupResult; packageBin?: StartupResult }[];
  binary?: StartupResult;
  /** `npx tsuv` on Node 20: the npm command, npm's own start included (absent in older runs). */
  npx?: StartupResult;
  replace: ReplaceResult[];
  /** CPU and wake-ups while idle (scripts/bench/idle.ts), when that section ran. */
  idle?: IdleRun;
  /** WebSocket echo round trips (scripts/bench/websocket.ts), when that section ran. */
  websocket?: WebSocketResult[];
  websocketSettings?: Omit<WebSocketOptions, "log">;
  notes: string[];
}

export interface Ratio {
  comparison: Comparison;
  subject?: ContenderResult;
  baseline?: ContenderResult;
  ratios: Partial<Record<Workload, number>>;
  /** The same ratio in requests per server CPU-second: what each request costs, less noise-prone. */
  cpuRatios: Partial<Record<Workload, number>>;
}

/**
 * Where the single-worker gap to Bun.serve and Deno.serve comes from (and that on Node there is none
 * in the instructions), in instructions per request: measured once with scripts/bench/callgrind.ts
 * (steady to 1-3% where req/s on this machine moves by 20%), not by every run, since each server
 * runs ~1 min under valgrind.
 */
const PER_REQUEST_COSTS =
  "Where a single worker's cost per request goes, in instructions per request (user space, all threads), counted by valgrind (Bun and Deno: plaintext, measured 2026-12-04 with `bun scripts/bench/callgrind.ts --requests 3000 --warmup 4000 CMD...`, the least of 3 windows; steady to a few per cent, where req/s here moves by 20%). " +
  "Bun 1.4.5 (measured again 2026-12-05 with `--warmup 15000`): Bun.serve 18.2k; tsuv with `--no-server-header --no-proxy-headers` 19.1k; tsuv without the server header 21.8k, without the proxy check 21.9k; tsuv by default 23.8k without its access log, 29.1k with it. " +
  "On Bun too the two defaults cost what Bun's own APIs cost for them: Bun.serve's hello world with tsuv's header work done by hand (bench/raw/bun-headers.ts, MODE=...) went from 16.5k to 18.0k for reading `request.headers` (Bun builds the request's Headers on first read), 19.4k with the proxy check's two `has()`, 18.6k for the `server` header (`has()` then `set()`), 21.4k for both; and `server.requestIP()`, which the access log needs for every line, to 19.5k. Since 2026-12-05, with the access log on, tsuv asks for the peer before the headers (the line needs it anyway), so a client outside --forwarded-allow-ips costs no Headers: 27.2k instead of 29.1k. " +
  "Deno 2.9.6: Deno.serve 12.8k; tsuv lean 14.6k; tsuv without the server header 27.7k, without the proxy check 28.3k; tsuv by default 38.2k. " +
  "On Deno the two defaults tsuv takes from uvicorn cost more than all of tsuv's own work, and the cost is Deno's. A raw Deno.serve handler that adds a second response header (`server`) to `new Response(\"Hello, world!\")` went from 10.8k to 22.7k-30.8k instructions, however it was added. Deno 2.9.6's own JavaScript (ext/fetch's Response and ext/http's serve, as embedded in its binary) says why: `new Response(string)` is marked for a static fast path that sends the body and its default content-type in one op; reading the response's `headers` drops that mark; and a response with two or more headers goes out through `op_http_set_response_body_text_with_headers` (or its bytes twin), or, when they were given in the init, through a native response built with them at construction (`op_http_new_response_native_headers`). One that asks `request.headers.has()`, as the X-Forwarded-* check must for a trusted peer (the bench's client is 127.0.0.1, which tsuv trusts by default, as uvicorn does), went to 19.4k: Deno copies the whole header list out (two `get()` calls, one op each, cost more: 23.2k). " +
  "So on Deno the 0.97x target is out of reach with uvicorn's defaults; without them (the lean rows) tsuv comes near it. " +
  "Node 20 (measured 2026-12-05, `--requests 3000 --warmup 16000`: Node's JIT needs the longer warm-up before two windows agree), tsuv as it starts by default against node:http with `res.end()`, side by side: plaintext 56.9k against 56.9k (1.00x), json 173.0k against 168.2k (1.03x; 177.3k against 170.2k before that day's trims of the body reader, the in-flight list and the header-name check). So on Node tsuv runs about the instructions node:http runs (and the same syscalls: one read and one writev per request for both, `strace -c` over 2 s of json load), yet takes more CPU for them. `bun scripts/bench/perf-pair.ts` (perf's cpu-clock sampling of both servers while they are loaded in turn, json, 8 rounds of 1 s, kernel included) gave node:http 40.6 us and tsuv 44.0 us per request (0.92x): JIT code +1.1 us, V8 builtins +0.9, JSON.parse and JSON.stringify +0.8 (the same documents, the same instruction counts), promise builtins +0.5, GC +0.3, the kernel -0.7 (tsuv frames with Content-Length where node:http, after writeHead, sends chunked). Not the size of tsuv's process: node:http with tsuv's library bundle imported and ~10 MB more of live objects (an ad hoc wrapper, four servers alternated in 1-s rounds, CPU per json request) was no slower than plain node:http beyond this machine's start-to-start spread (medians in us: plain 39.3, with the bundle 40.3, with both 40.0, tsuv 43.5 in one run's four undisturbed rounds; plain 45.5, 41.9, 43.0, tsuv 47.7 in a second run of 8 rounds). What is left is tsuv's own path per request, 1.03x the instructions with more promise hops and more distinct code; this VM exposes no hardware counters to tell cache misses from the rest.";

/**
 * The ratio for one workload: within a group, the median of per-round ratios (round i of A over
 * round i of B, measured seconds apart); across groups, the ratio of medians.
 */
export function ratioOf(
  a: ContenderResult,
  b: ContenderResult,
  workload: Workload,
  paired: boolean,
  metric: "rps" | "cpu" = "rps",
): number {
  // "cpu": requests per CPU-second (the inverse of CPU time per request), so higher is better too.
  const value = (m: Measurement) => (metric === "rps" ? m.rps : 1 / (m.cpuUsPerRequest ?? Number.NaN));
  const x = a.runs[workload].map(value).filter((v) => !Number.isNaN(v));
  const y = b.runs[workload].map(value).filter((v) => !Number.isNaN(v));
  if (!x.length || !y.length) return Number.NaN;
  return paired ? medianRatio(x, y) : median(x) / median(y);
}

export function computeRatios(run: BenchRun): Ratio[] {
  const out: Ratio[] = [];
  for (const comparison of run.comparisons) {
    // Within a group: both from that group. Across groups: the baseline's group is comparison.group,
    // and the subject is taken from wherever it ran.
    if (!run.results.some((r) => r.group === comparison.group)) continue;
    const pick = (id: string, anyGroup: boolean) =>
      run.results.find((r) => r.id === id && r.group === comparison.group) ??
      (anyGroup ? run.results.find((r) => r.id === id) : undefined);
    const subject = pick(comparison.subject, Boolean(comparison.crossGroup));
    const baseline = pick(comparison.baseline, false);
    // A group run without its control (the quick smoke, a saved run from before controls).
    if ((comparison.crossGroup || comparison.control) && !subject) continue;
    const ratios: Partial<Record<Workload, number>> = {};
    const cpuRatios: Partial<Record<Workload, number>> = {};
    if (subject && baseline) {
      const paired = !comparison.crossGroup && subject.group === baseline.group;
      for (const w of run.settings.workloads) {
        ratios[w] = ratioOf(subject, baseline, w, paired);
        cpuRatios[w] = ratioOf(subject, baseline, w, paired, "cpu");
      }
    }
    out.push({ comparison, subject, baseline, ratios, cpuRatios });
  }
  return out;
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const fmtRatio = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "n/a" : `${n.toFixed(2)}x`);

/**
 * A ratio beside the target that judges it, with as many decimals (up to 4) as it takes not to
 * print the target itself: the 2026-12-05 run's Node 24 memory ratio, 0.5007, read "0.50x" against
 * "<= 0.5x" in a row whose verdict said missed.
 */
export function fmtAgainst(n: number | undefined, target: number): string {
  if (n === undefined || Number.isNaN(n)) return "n/a";
  let digits = 2;
  while (digits < 4 && n !== target && n.toFixed(digits) === target.toFixed(digits)) digits++;
  return `${n.toFixed(digits)}x`;
}

/** Exec to first 200 of `subject` over `raw`'s, where both were measured. */
function startupRatio(subject: StartupResult, raw: StartupResult | undefined): number | undefined {
  return subject.medianMs !== undefined && raw?.medianMs !== undefined
    ? subject.medianMs / raw.medianMs
    : undefined;
}

/** A row of the start-up table: the subject's time, the raw server's (named) and their ratio. */
function startupRow(label: string, subject: StartupResult, raw: StartupResult | undefined): string {
  const time = (r: StartupResult) => (r.ok ? `${fmt(r.medianMs, 1)} ms` : "failed");
  return `| ${label} | ${time(subject)} | ${raw ? `${time(raw)} (${raw.label})` : ""} | ${fmtRatio(startupRatio(subject, raw))} |`;
}
const mib = (kib: number | undefined) => (kib === undefined ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`);

type Verdict = "met" | "missed" | "not measured";
function verdict(values: (number | undefined)[], ok: (v: number) => boolean): Verdict {
  const measured = values.filter((v): v is number => v !== undefined && !Number.isNaN(v));
  if (!measured.length || measured.length < values.length) return "not measured";
  return measured.every(ok) ? "met" : "missed";
}
const mark = (v: Verdict) => (v === "met" ? "**met**" : v === "missed" ? "**missed**" : "not measured");

/**
 * A missed ratio target, qualified by its group's control: "within noise" when every workload that
 * missed did so by no more than the control strayed from 1.00x on that workload in the same rounds
 * (the same server measured against itself), so this run cannot tell the miss from noise. Still a
 * miss: the qualifier says how much the run can tell, it does not turn a verdict round.
 */
function ratioVerdict(r: Ratio, control: Ratio | undefined, workloads: Workload[]): string {
  const target = r.comparison.target as number;
  const v = verdict(
    workloads.map((w) => r.ratios[w]),
    (x) => x >= target,
  );
  if (v !== "missed" || !control) return mark(v);
  const withinNoise = workloads.every((w) => {
    const value = r.ratios[w] as number;
    const spread = Math.abs(1 - (control.ratios[w] ?? Number.NaN));
    return value >= target || target - value <= spread;
  });
  return withinNoise ? `${mark(v)} (within the control's spread)` : mark(v);
}

function ratioLabel(r: Ratio): string {
  const s = r.subject?.label ?? r.comparison.subject;
  const b = r.baseline?.label ?? r.comparison.baseline;
  return `${s} / ${b}${r.comparison.crossGroup ? " (across groups)" : ""}`;
}

/** "Node 20: tsuv 2w thread / node:cluster 2w": the runtime once, short names (the chart's rows). */
function shortLabel(r: Ratio): string {
  const star = r.comparison.crossGroup ? " *" : "";
  // Results saved before contenders had short names get them from the definitions, by id.
  const known = new Map(allGroups("python3").flatMap((g) => g.contenders.map((c) => [c.id, c] as const)));
  const a = r.subject && (r.subject.short ? r.subject : known.get(r.subject.id));
  const b = r.baseline && (r.baseline.short ? r.baseline : known.get(r.baseline.id));
  if (!a?.short || !b?.short) return ratioLabel(r).replace(" (across groups)", star);
  if (a.runtime === b.runtime) return `${a.runtime}: ${a.short} / ${b.short}${star}`;
  return `${a.runtime} ${a.short} / ${b.short}${star}`;
}

export function chartRows(run: BenchRun, ratios: Ratio[]): ChartRow[] {
  return ratios
    .filter((r) => r.subject?.tsuv || r.comparison.target !== undefined)
    .map((r) => ({
      label: shortLabel(r),
      target: r.comparison.target,
      values: run.settings.workloads.map((w) => ({ workload: w, ratio: r.ratios[w] })),
    }));
}

/** The report a run writes unless told otherwise (`--out`). */
export const DEFAULT_REPORT = join(ROOT, "docs", "benchmarks.md");

/**
 * Where a run's raw results go: `--json` if given; else beside a report written elsewhere than the
 * default (`--out /tmp/idle.md` -> /tmp/idle.json), so a partial run (`--only`, `--skip`) never
 * overwrites the results of the full run that docs/benchmarks.md was made from, which
 * `--report-from` rebuilds it from; else .bench/results.json.
 */
export function resultsPathFor(out: string | undefined, json: string | undefined): string {
  if (json) return resolve(json);
  const report = out ? resolve(out) : DEFAULT_REPORT;
  if (report !== DEFAULT_REPORT) return report.replace(/(\.md)?$/, ".json");
  return join(ROOT, ".bench", "results.json");
}

export function renderSvg(run: BenchRun): string {
  const rows = chartRows(run, computeRatios(run));
  const s = run.settings;
  return ratioChart(
    "tsuv throughput relative to each baseline (higher is better)",
    rows,
    s.workloads,
    `wrk -t${s.threads} -c${s.connections} -d${s.durationS}s, median of ${s.rounds} alternated rounds${s.multiWorker ? ` (2+ workers: ${s.multiWorker.rounds} of ${s.multiWorker.durationS} s)` : ""}${s.pin ? ", one-worker servers and wrk on separate CPUs" : ""}, ${run.machine.nproc} cores, ${run.startedAt.slice(0, 10)}. * measured in another group: ratio of medians, not alternated.`,
  );
}

export function renderMarkdown(run: BenchRun, svgName: string): string {
  const s = run.settings;
  const ratios = computeRatios(run);
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(
    "# Benchmarks",
    "",
    `Written by \`npm run bench\` (scripts/bench.ts) on ${run.startedAt}; the run took ${Math.round(run.elapsedS)} s.`,
    "Do not edit by hand: rerun the benchmark.",
    "",
    `![ratios](${svgName})`,
    "",
    "How to read it: every server runs on loopback on the same machine as the load generator. Contenders",
    "in one group run at the same time and are measured in turn (A B C, then C B A, ...), so a busy",
    "neighbour slows them alike; a ratio is the median of the per-round ratios. Absolute req/s on this",
    "shared machine are noisy (other jobs were running); compare the ratios. Each group with a target",
    "also runs its raw baseline twice: that control pair serves the same code, so how far its ratio",
    "strays from 1.00x is how far this run's noise moves a ratio in that group (the targets table",
    "shows it beside each ratio target).",
    "",
  );

  // Targets first: what issue 7 asks, and whether this run meets it.
  push(
    "## Targets (issue 7)",
    "",
    "| target | this run | control: the baseline over itself | verdict |",
    "|---|---|---|---|",
  );
  const byWorkload = (r: Ratio | undefined, format: (n: number | undefined) => string = fmtRatio) =>
    r ? s.workloads.map((w) => `${w} ${format(r.ratios[w])}`).join(", ") : "";
  for (const r of ratios.filter((r) => r.comparison.target !== undefined)) {
    const t = r.comparison.target as number;
    const control = ratios.find((c) => c.comparison.control && c.comparison.group === r.comparison.group);
    push(
      `| ${ratioLabel(r)} >= ${t.toFixed(2)}x | ${byWorkload(r, (n) => fmtAgainst(n, t))} | ${byWorkload(control)} | ${ratioVerdict(r, control, s.workloads)} |`,
    );
  }
  // The targets are for the bench app as users run it, TypeScript; the JavaScript rows explain.
  const memoryRows = run.memory.filter((m) => !m.javascriptApp);
  for (const rt of new Set(memoryRows.map((m) => m.runtime))) {
    const thread = memoryRows.find((m) => m.runtime === rt && m.workerClass === "thread");
    const proc = memoryRows.find((m) => m.runtime === rt && m.workerClass === "process");
    const ratio = threadProcessRatio(thread, proc);
    push(
      `| ${RUNTIME_NAMES[rt]}: RSS of ${thread?.workers ?? 4} thread workers <= 0.5x ${proc?.workers ?? 4} process workers | ${fmtAgainst(ratio, 0.5)} | | ${mark(verdict([ratio], (v) => v <= 0.5))} |`,
    );
  }
  for (const st of run.startup) {
    const ratio = startupRatio(st.tsuv, st.raw);
    push(
      `| ${st.runtime}: exec to first 200 within 1.2x of the raw server | ${fmt(st.tsuv.medianMs, 1)} ms vs ${fmt(st.raw.medianMs, 1)} ms = ${fmtAgainst(ratio, 1.2)} | | ${mark(verdict([ratio], (v) => v <= 1.2))} |`,
    );
  }
  push(
    `| compiled binary: exec to first 200 under 150 ms | ${run.binary ? `${fmt(run.binary.medianMs, 1)} ms` : "no binary built"} | | ${mark(verdict([run.binary?.medianMs], (v) => v < 150))} |`,
  );
  for (const rp of run.replace) {
    const serving = rp.ok ? median(rp.servingMs) : undefined;
    push(
      `| ${RUNTIME_NAMES[rp.runtime]}: killed process worker serving again within 1 s | ${rp.ok ? `${fmt(serving)} ms (median of ${rp.servingMs.length})` : "failed"} | | ${mark(verdict([serving], (v) => v <= 1000))} |`,
    );
  }
  push("");

  push(
    "## Ratios",
    "",
    "req/s of the first over the second (what the targets are about), then the same in requests per CPU-second of the server's whole process tree (what a request costs; other jobs on the machine disturb it much less than req/s, but it does not show scaling across cores).",
    "",
    `| comparison | ${s.workloads.map((w) => `${w} req/s`).join(" | ")} | ${s.workloads.map((w) => `${w} per CPU-s`).join(" | ")} | target |`,
    `|---|${s.workloads.map(() => "---:|---:|").join("")}---:|`,
  );
  for (const r of ratios) {
    // req/s is what a target judges: printed as in the targets table, so the two tables agree.
    const target = r.comparison.target;
    const reqs = (n: number | undefined) => (target === undefined ? fmtRatio(n) : fmtAgainst(n, target));
    push(
      `| ${ratioLabel(r)} | ${s.workloads.map((w) => reqs(r.ratios[w])).join(" | ")} | ${s.workloads.map((w) => fmtRatio(r.cpuRatios[w])).join(" | ")} | ${r.comparison.target !== undefined ? `>= ${r.comparison.target.toFixed(2)}x` : ""} |`,
    );
  }
  push("", PER_REQUEST_COSTS, "");

  push(
    "## Throughput",
    "",
    `wrk keep-alive, \`-t${s.threads} -c${s.connections} -d${s.durationS}s\`, ${s.rounds} rounds after a ${s.warmupS} s warm-up per workload; req/s is the median (all rounds in brackets). \`plaintext\`: GET / answering \`Hello, world!\`; \`json\`: POST /json with a 1 KiB JSON body that the server parses and sends back.${s.workloads.includes("close") ? " `close`: GET / on a new connection per request (`Connection: close`)." : ""}${s.pin ? ` In the groups of single-process servers (the \`-1\` groups and uvicorn) the server runs on CPU ${s.pin.server} and wrk on CPU ${s.pin.client} (\`taskset -c\`): left to the scheduler, a one-worker server and wrk sometimes share a core, which halves what the server gets for that run (node:http on Node 24, nine 1-second wrk runs each: 24.6-39.4k req/s left free, 37.2-39.9k pinned apart, 28.1-29.0k pinned together). The 2-worker groups run free: two workers and wrk cannot each have a core of 2.` : ""}${s.multiWorker ? ` The 2-worker groups run ${s.multiWorker.rounds} rounds of ${s.multiWorker.durationS} s: each wrk run opens its 50 connections at once, and tsuv's Node workers, which accept from one shared socket, even out such a burst within 1-3 s (see the notes), which a 1-second round would mostly miss.` : ""}`,
    "",
    `| group | contender | ${s.workloads.map((w) => `${w} req/s`).join(" | ")} | ${s.workloads.map((w) => `${w} CPU-us/req`).join(" | ")} | errors |`,
    `|---|---|${s.workloads.map(() => "---:|---:|").join("")}---:|`,
  );
  for (const r of run.results) {
    const cells = s.workloads.map((w) => {
      const rps = r.runs[w].map((m) => m.rps);
      return rps.length ? `${fmt(median(rps))} (${rps.map((v) => fmt(v / 1000, 1)).join(", ")}k)` : "n/a";
    });
    for (const w of s.workloads) {
      const cpu = r.runs[w].map((m) => m.cpuUsPerRequest).filter((v): v is number => v !== undefined);
      cells.push(cpu.length ? fmt(median(cpu), 1) : "n/a");
    }
    const errors = s.workloads.reduce((sum, w) => sum + r.runs[w].reduce((e, m) => e + m.errors, 0), 0);
    const name = r.ok ? r.label : `${r.label} (FAILED: ${r.reason?.split("\n")[0]})`;
    push(`| ${r.group} | ${name} | ${cells.join(" | ")} | ${errors} |`);
  }
  push("");

  if (s.latency) {
    const l = s.latency;
    push(
      "## Latency below saturation",
      "",
      `wrk2 (a constant-rate load generator) is not packaged in Debian, so this is plain wrk with ${l.connections} connections, each pausing ${l.delayMs} ms before every request (wrk's \`delay()\` hook), for ${l.durationS} s: a paced load of at most ${fmt((l.connections * 1000) / l.delayMs)} req/s, well below every single-worker server's saturation. It is closed-loop (a slow response delays the next request), so tail latency is understated compared with a true constant-rate (open-loop) measurement. Medians over ${l.rounds ?? s.rounds} rounds; each round's p99 in brackets, in round order. A p99 here is the slowest 1% of at most ${fmt((l.connections * 1000 * l.durationS) / l.delayMs)} requests per round, and on this shared machine it moves between rounds by more than servers differ (Deno.serve alone: 1.21-3.70 ms in three rounds of one run, 2026-12-05): compare p50s, and p99s only where the brackets do not overlap.`,
      "",
      "| contender | achieved req/s | p50 | p99 |",
      "|---|---:|---:|---:|",
    );
    for (const r of run.results.filter((r) => r.latency.length)) {
      push(
        `| ${r.label} | ${fmt(median(r.latency.map((m) => m.rps)))} | ${fmt(median(r.latency.map((m) => m.p50Ms ?? Number.NaN)), 3)} ms | ${fmt(median(r.latency.map((m) => m.p99Ms ?? Number.NaN)), 3)} ms (${r.latency.map((m) => fmt(m.p99Ms, 2)).join(", ")}) |`,
      );
    }
    push("");
  }

  if (run.memory.length) {
    push(
      "## Memory: thread workers vs process workers",
      "",
      `The whole process tree (parent and every descendant) after each worker has served traffic and the sums have settled. RSS counts pages shared between processes (the runtime binary, for one) once per process; PSS splits them between the sharers, so it is the fairer total.${memoryRoundsNote(run.memory)}`,
      "",
      "| runtime | workers | RSS | PSS | processes | threads | RSS thread/process | PSS thread/process |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const m of run.memory) {
      const other = run.memory.find(
        (o) => o.runtime === m.runtime && o.workerClass === "process" && o.javascriptApp === m.javascriptApp,
      );
      const ratio = m.workerClass === "thread" ? threadProcessRatio(m, other) : undefined;
      const pssRatio = m.workerClass === "thread" ? threadProcessRatio(m, other, "pssKiB") : undefined;
      const rssRounds =
        m.rounds && m.rounds.length > 1
          ? ` (${m.rounds.map((r) => (r.rssKiB / 1024).toFixed(1)).join(", ")})`
          : "";
      push(
        `| ${RUNTIME_NAMES[m.runtime]}${m.javascriptApp ? " (JavaScript app)" : ""} | ${m.workers} ${m.workerClass}${m.ok ? "" : ` (FAILED: ${m.reason?.split("\n")[0]})`} | ${mib(m.memory?.rssKiB)}${rssRounds} | ${mib(m.memory?.pssKiB)} | ${m.memory?.processes ?? "n/a"} | ${m.memory?.threads ?? "n/a"} | ${ratio === undefined ? "" : fmtRatio(ratio)} | ${pssRatio === undefined ? "" : fmtRatio(pssRatio)} |`,
      );
    }
    if (run.memory.some((m) => m.javascriptApp)) {
      push(
        "",
        "The JavaScript-app rows serve the bench app compiled to JavaScript. On Node 20 every thread worker that imports a TypeScript app starts a module-hooks thread of its own for tsuv's loader (`module.register`: one hooks thread per worker thread, nodejs/node#50752; the change to share one, nodejs/node#52706, was reverted in nodejs/node#53183), a V8 isolate that stays for the worker's life; the difference between the two thread rows is what those cost. Node 22.15+ and 24 run the hooks in each worker's own thread (`module.registerHooks`), so no such thread is kept.",
      );
    }
    push("");
  }

  if (run.startup.length || run.binary) {
    push(
      "## Start-up: exec to first 200",
      "",
      "hyperfine runs `bench/startup.sh PORT CMD...`, which starts the server, polls GET / every 2 ms with bash builtins until it answers 200, and kills it; the time includes the probe's own ~2 ms. tsuv and the raw server take turns: five hyperfine rounds of two runs each (after a warm-up run), the order flipped every round. Medians of the ten runs.",
      "",
      "| runtime | tsuv | raw server | ratio |",
      "|---|---:|---:|---:|",
    );
    for (const st of run.startup) {
      push(startupRow(st.runtime, st.tsuv, st.raw));
      if (st.packageBin) push(startupRow(`${st.runtime}, the npm package's bin`, st.packageBin, st.raw));
    }
    if (run.binary) push(`| compiled binary | ${fmt(run.binary.medianMs, 1)} ms | | |`);
    const npx = run.npx;
    if (npx) {
      const raw = run.startup.find((st) => st.runtime === RUNTIME_NAMES.node20)?.raw;
      push(startupRow("`npx tsuv` (Node 20)", npx, raw));
    }
    push(
      "",
      ...(npx
        ? [
            "`npx tsuv` is the Node 20 row plus npm's own start: npx loads npm's command-line code before it finds the package's bin (`bin/tsuv.mjs`, which runs `dist/cli.mjs`). Fine at a terminal; where start-up counts (a container's command, a process manager, a `--reload` loop), run the bin itself: `node_modules/.bin/tsuv` in a project, `tsuv` after a global install, as docs/deployment.md says.",
            "",
          ]
        : []),
      "Where tsuv's extra start-up goes (measured 2026-12-01 with hyperfine and in-process timers; the details are in the commits that cut it): on Node 20, the TypeScript loader hooks run in their own thread (`module.register`), which start-up waits ~110 ms for (Node 22.15+ and 24 run them in-thread). On Deno 2.9.6, a single tsuv server loads no `node:*` module, timers included: the global `setTimeout` is Node's there and its first call costs 10-14 ms, so tsuv's own ticks run on web timers (src/runtime/web-timer.ts). What is left on Deno (measured 2026-12-04 with Date.now() marks from exec, five starts) is mostly loading tsuv's modules: the raw server's one file runs at 77-105 ms, tsuv's CLI at 114-153 ms. Before it runs anything, Deno reads every module that a static import or a literal `import()` reaches: a single server read 112 of tsuv's files and ran 64; since 2026-12-04 the other runtimes' adapters, the supervisors and a worker's entry are imported through split specifiers (src/runtime/index.ts), and it reads 75 (hyperfine: ~5 ms sooner, ~10 ms less CPU). Then cold code: the first parse of the options takes 4-6 ms (a second ~1 ms), the check for an app's own deno.json ~4 ms (a second ~0.7 ms); and a first young-generation GC of 6-12 ms falls in start-up (`--v8-flags=--trace-gc`). An esbuild bundle for Deno, split at each dynamic import (one file hoists every `node:*` import to its top, which starts Deno's Node layer: 171.8 ms), started ~17 ms sooner than src/cli.ts in a trial before that change (121.9 vs 139.4 ms, raw 87.4 ms); the npm package now gives Deno such a build (dist/deno/, docs/deployment.md): the row \"the npm package's bin\" times it (`deno run -A bin/tsuv.mjs`), the Deno row the checkout's `deno run -A src/cli.ts`. On Bun, it is loading tsuv's modules too (measured 2026-12-04 with performance.now() marks, process start = 0): Bun runs a file's first line at ~12 ms (`bun -e ''` exits in 5 ms), tsuv's CLI and its static imports are in by ~28 ms, the Bun adapter by ~35 ms, options and logger by ~40 ms; then the first load of node:fs (~5 ms in Bun 1.4.5, for the app path's exists and realpath), the app's import (~1.5 ms) and Bun.serve (~3-6 ms). Since 2026-12-05 the WebSocket layer (crossws and the native adapters) and the node-interface handler are imported only for apps that use them: a plain app starts ~2 ms sooner on Bun and ~4 ms on Deno (`bun scripts/bench/startup-ab.ts`, the old tree against the new in alternated starts, median of the per-pair differences: Bun -2.3, -2.1, -1.5 and -2.4 ms in four runs of 40 pairs; Deno -4.6 and -3.8 ms in two of 30; Node 24 -5.0 and -1.5 ms, B sooner in only 16 of the second run's 30 pairs, so within its noise). And since 2026-12-05 a plain single server on Bun loads no node:fs (the app's file and real path come from Bun's resolver, the SIGHUP check from an early asynchronous read of /proc/self/status): 4.4 ms sooner in two runs of 40 pairs (B sooner in 32 and 35), 80.4 ms to the first 200 against Bun.serve's 41.7 in the same tool's run. The compiled binary carries JavaScriptCore bytecode of all of it (`bun build --bytecode`), which took its exec to first 200 from 80.7 to 59.6 ms. Loading a module costs Bun 1.4.5 about 0.13 ms however small it is (60 empty TypeScript modules in 9.5 ms, after ~3.3 ms for a first dynamic import; measured 2026-12-06), and a single server loads ~60 of tsuv's: since 2026-12-06 the npm package gives Bun a build split at each dynamic import (dist/bun/, made by Bun's bundler, whose source maps Bun applies, so stack frames still name src/*.ts), about ten files a start. The row \"the npm package's bin\" times it (`bun bin/tsuv.mjs`); the Bun row is the checkout's `bun src/cli.ts`. What is left on Bun is mostly loading and first runs, not work tsuv could skip (measured 2026-12-06, Bun 1.4.5): the first import of any module costs ~3 ms, for Bun's file-loading thread pool starts then (a file importing one empty module runs its first line at 13.4-14.7 ms, one importing nothing at 10.5-11.9 ms; Bun.serve's one-file server never pays it, an app that imports a framework does); then loading costs about 6 us per small function whatever its size in bytes (dist/bun's main chunk, 124 KB, ~8 ms to import, ~8.5 ms minified to 97 KB; synthetic files marked `// @bun`: 1,500 small functions 9.7-10.3 ms, a 200 KB string 3.0 ms); then the first run of each function (resolving the options ~4 ms in a `--cpu-prof-interval=50` profile). In alternated pairs (`bun scripts/bench/startup-ab.ts`) the bin started 6.1 ms sooner with dist/bun/ than with the sources (40 pairs, 39 sooner), 20.5 ms with `--workers 2 --worker-class thread` (20 pairs, all sooner), 20.2 ms with `--workers 2` (process workers, 30 pairs, all sooner). JavaScriptCore bytecode (`bun build --bytecode`, which needs CommonJS outside a compiled binary) started a single server 7.2 ms sooner than this build, but only on the Bun that built it: any other ignores the .jsc, and the one CommonJS file then started 7.1 ms later than this build (20.8 ms with two thread workers). On Node 24 (measured 2026-12-03), the largest single item for tsuv and the raw server alike is loading undici, Node's fetch implementation (~45-65 ms here): the raw server loads it through its ESM `import` of node:http (the ESM facade reads the lazy `http.WebSocket`, nodejs/node#59686), tsuv because its Response extends undici's. A trial that kept undici unloaded started tsuv 32 ms sooner, ahead of the raw server, but cannot ship: Node 24's fetch globals are lazy data properties, and tsuv could not replace `Response` and still reach undici's class later. Compiling tsuv's bundle (~550 KB) took ~15 ms more; since 2026-12-04 dist/cli.mjs turns on Node's compile cache first (src/runtime/node-compile-cache.ts), and importing the bundle in a fresh Node 24 process takes 24 ms instead of 31.",
      "",
    );
  }

  if (run.replace.length) {
    push(
      "## Worker replacement",
      "",
      "`tsuv --workers 2 --worker-class process`, then `kill -9` of one worker: time to a new worker process, and to that process answering GET /pid on a fresh connection (the app reports which process served).",
      "",
      "| runtime | new process | serving again | attempts |",
      "|---|---:|---:|---:|",
    );
    for (const rp of run.replace) {
      push(
        rp.ok
          ? `| ${RUNTIME_NAMES[rp.runtime]} | ${fmt(median(rp.spawnedMs))} ms | ${fmt(median(rp.servingMs))} ms | ${rp.servingMs.map((v) => fmt(v)).join(", ")} |`
          : `| ${RUNTIME_NAMES[rp.runtime]} | failed: ${rp.reason?.split("\n")[0]} | | |`,
      );
    }
    push("");
  }

  if (run.websocket?.length && run.websocketSettings) {
    push(...renderWebSocketMarkdown(run.websocket, run.websocketSettings));
  }

  if (run.idle?.results.length) push(...renderIdleMarkdown(run.idle));

  const notes = [...run.notes];
  const busiest = Math.max(
    ...`${run.machine.loadAvg} ${run.loadAfter}`
      .split(" ")
      .map(Number)
      .filter((n) => !Number.isNaN(n)),
  );
  // The benchmark itself keeps about two runnable (wrk and the server under test): more than
  // one above the core count means other jobs were competing.
  if (busiest > run.machine.nproc + 1) {
    notes.unshift(
      `The machine was oversubscribed during this run: a load average of up to ${busiest.toFixed(1)} on ${run.machine.nproc} cores (other jobs, not only this benchmark). Absolute numbers are far below an idle machine's, and even alternated ratios swing by tens of percent between rounds (every round is in the Throughput table); the CPU-per-request ratios are the steadier view of what tsuv adds to each request.`,
    );
  }
  notes.push(
    "`tsuv lean` is tsuv with `--no-server-header --no-proxy-headers`: the gap between it and tsuv is what those two uvicorn defaults cost per request (the bench's client is 127.0.0.1, which the default --forwarded-allow-ips trusts, so every request's X-Forwarded-* headers are read). On Deno both are dear, each more than tsuv's own request path: instructions per request on the JS thread (`bun scripts/bench/callgrind.ts --warmup 10000`, Deno 2.9.6, bench/raw/deno-headers.ts): a Deno.serve hello world 11.2k; reading a request header as tsuv's proxy check does 19.9-25.2k (a lazy Headers object, then an op into Deno's HTTP layer per lookup); adding one response header 22.8k (a `new Response(string)` goes out by Deno.serve's static fast path until its headers are touched). A content-type given in the Response's init costs 14.4k, the same with a second header in the init 39.0k: Deno.serve hands a single response header over by a static fast path and two or more by a dearer one (see the instruction counts above), so tsuv's `server` header is dear for the apps that send at most one header of their own, and any app pays the same for a second header of its own. tsuv lean is 13.5k, tsuv with both defaults 35.3k. The default row also moves more with other jobs on the machine than any other single-worker row: 0.84x in one full run, 0.60x in the next (2026-12-05: tsuv 26-29 CPU-us per plaintext request in every round, Deno.serve 16-17) and 0.75x in a third (2026-12-05 20:33: tsuv 34.3k-61.5k req/s a round, Deno.serve 56.6k-63.1k, tsuv lean 57.5k-62.0k). In one A/B of 10 rounds (`bun scripts/bench/ab.ts --rounds 10 --duration 2`, bench/raw/deno-headers.ts with MODE=none and MODE=both) whose first half was quiet and second half busy, a plain Deno.serve went from 11.3-11.6 to 14.0-14.7 CPU-us per request, Deno.serve with tsuv's two header operations (MODE=both) from 13.1-13.4 to 14.8-19.9, and tsuv from 13.7-14.1 to 16.4-22.0: the header operations' cost is what grows, in Deno.serve as in tsuv.",
    "`tsuv access log` is tsuv as it starts by default, with its access log on (stdout is a file): the lines of one event-loop turn go out in one write (src/line-batch.ts), and the gap to `tsuv` is what the access log costs. uvicorn, like every other row, runs without one.",
    "Two workers against one on a 2-core machine: wrk needs most of a core to load even one worker, so two workers share what is left. The `node:cluster / tsuv` row (same group, alternated) shows that ceiling for the raw setup; the comparisons with node:cluster, reusePort and `deno serve --parallel` run under the same constraint and are the meaningful ones here. On Node, tsuv's workers accept from one shared socket, and each wrk run opens its 50 connections at once: whichever worker wakes first may take most of them. Since 2026-12-04 the supervisor moves the excess to the other worker within 1-3 s (docs/workers.md, \"Connection balance\"), so the start of a 2 s measurement can still be uneven; node:cluster's primary deals them out one by one.",
    "srvx (h3js/srvx, pinned 1.0.8) is a devDependency only for this comparison: it is the closest peer (a fetch-handler server over node:http), and the issue's targets name it.",
    "To see where the time goes, profile one server under load: `bun scripts/bench/profile.ts bun|node20|node24|node26 [plaintext|json] [--raw] [--startup]` runs it under `--cpu-prof`, loads it with wrk and prints the functions with the most self and inclusive time (Deno has no `--cpu-prof`: use `--inspect`).",
    "What a request allocates on Node, and where: `bun scripts/bench/alloc.ts [--workload json|plaintext] CMD...` (V8's sampling heap profiler preloaded into each server, collected objects kept, over one 2-s wrk run after a warm-up). Measured 2026-12-05, Node 20: plaintext, node:http 6.3 KB per request and tsuv 7.1 KB; json, node:http 12.9 KB and tsuv 15.5 KB. Of json's extra 2.6 KB, ~0.9 KB is the response body copied a second time: JSON.stringify returns a cons string, which the first native read flattens (node:http's for its chunk size, tsuv's for its Content-Length), and node:http glues a head and a string body into one string, flattened again as it is written. Writing the two apart (cork, flushHeaders, end) took that 0.9 KB away and no CPU (`bun scripts/bench/perf-pair.ts`: 46.30 against 46.48 us per json request), so it was left as it is; the rest is the fetch API's own objects (the Request stand-in, the promise of `request.json()` and the app's, the Response).",
  );
  push("## Notes", "", ...notes.map((n) => `- ${n}`), "");

  push(
    "## Machine and versions",
    "",
    `- CPU: ${run.machine.cpuModel}, ${run.machine.nproc} cores (nproc); memory ${run.machine.memoryGiB} GiB; ${run.machine.kernel}`,
    `- Load average before / after: ${run.machine.loadAvg} / ${run.loadAfter}`,
    ...Object.entries(run.versions).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "## Commands",
    "",
    "```sh",
    run.command,
    "```",
    "",
    `Load: \`wrk -t${s.threads} -c${s.connections} -d${s.durationS}s --latency [-s post-json.lua] http://127.0.0.1:$PORT/{,json}\`. Servers (every one gets \`PORT\` and \`HOST=127.0.0.1\` in its environment; tsuv runs with \`--no-access-log\`, as uvicorn does here):`,
    "",
    "```sh",
    ...[
      ...new Set(
        [
          ...run.results.map((r) => r.command),
          ...run.memory.map((m) => m.command),
          ...run.replace.map((r) => r.command),
          ...(run.idle?.results ?? []).map((r) => r.command),
          ...(run.websocket ?? []).flatMap((w) => webSocketSides(w).map((side) => side.command)),
          ...run.startup.flatMap((st) => [st.tsuv.command, st.raw.command]),
          run.binary?.command,
        ]
          .filter((c): c is string => Boolean(c))
          .map(readable),
      ),
    ],
    "```",
    "",
  );
  return lines.join("\n");
}

/** A command as a reader would type it: paths relative to the repository, the port as $PORT. */
function readable(command: string): string {
  return command
    .split(`${ROOT}/`)
    .join("")
    .replace(/(--port |startup\.sh )\d+/g, "$1$PORT")
    .replace(/\/\S*\/node_modules\/\.bin\//g, "node_modules/.bin/");
}

/** A short plain-text summary for the terminal. */
export function renderSummary(run: BenchRun): string {
  const ratios = computeRatios(run);
  const rows = ratios.map((r) => {
    const values = run.settings.workloads.map((w) => `${w} ${fmtRatio(r.ratios[w])}`).join("  ");
    const t = r.comparison.target;
    const v =
      t === undefined
        ? ""
        : ` [target ${t.toFixed(2)}x: ${verdict(
            run.settings.workloads.map((w) => r.ratios[w]),
            (x) => x >= t,
          )}]`;
    return `  ${ratioLabel(r)}: ${values}${v}`;
  });
  return ["Ratios:", ...rows].join("\n");
}
