/**
 * The benchmark harness must not rot: its parsing and report code on fixed input, and
 * `npm run bench -- --quick` (every contender starts, answers GET / and the JSON echo correctly, and
 * takes a 1-second load run). The full benchmark is never part of the tests, and tests never apt-get:
 * without wrk the smoke uses the harness's built-in fetch loop, and says so.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { COMPARISONS } from "../scripts/bench/contenders.ts";
import { JSON_BODY, parseDuration, parseWrk, wrkArgs } from "../scripts/bench/load.ts";
import { mergeRounds, threadProcessRatio } from "../scripts/bench/memory.ts";
import { which } from "../scripts/bench/prereq.ts";
import { launch } from "../scripts/bench/proc.ts";
import {
  type BenchRun,
  computeRatios,
  DEFAULT_REPORT,
  fmtAgainst,
  renderMarkdown,
  renderSvg,
  resultsPathFor,
} from "../scripts/bench/report.ts";
import type { ContenderResult } from "../scripts/bench/throughput.ts";
import { bun, ROOT } from "../scripts/tools.mjs";

const WRK_OUTPUT = `Running 3s test @ http://127.0.0.1:40000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   845.12us  210.00us   9.10ms   90.00%
    Req/Sec    59.10k     2.00k   61.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    0.90ms
     90%    1.10ms
     99%    2.05ms
  177300 requests in 3.00s, 21.81MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  59100.12
Transfer/sec:      7.27MB
`;

describe("bench harness units", () => {
  test("the JSON echo body is exactly 1 KiB of valid JSON", () => {
    expect(new TextEncoder().encode(JSON_BODY).length).toBe(1024);
    expect(() => JSON.parse(JSON_BODY)).not.toThrow();
  });

  test("wrk's report is parsed: req/s, requests, errors, p50/p99", () => {
    const m = parseWrk(WRK_OUTPUT);
    expect(m.rps).toBeCloseTo(59100.12);
    expect(m.requests).toBe(177300);
    expect(m.errors).toBe(7);
    expect(m.p50Ms).toBeCloseTo(0.812);
    expect(m.p99Ms).toBeCloseTo(2.05);
    expect(parseDuration("1.02s")).toBeCloseTo(1020);
  });

  test("the json workload POSTs through a Lua script; pacing uses delay()", async () => {
    const args = wrkArgs(40000, "json", { connections: 10, threads: 1, durationS: 2, delayMs: 2 });
    expect(args.slice(0, 4)).toEqual(["-t1", "-c10", "-d2s", "--latency"]);
    expect(args.at(-1)).toBe("http://127.0.0.1:40000/json");
    const lua = await Bun.file(args[args.indexOf("-s") + 1] as string).text();
    expect(lua).toContain('wrk.method = "POST"');
    expect(lua).toContain(JSON_BODY);
    expect(lua).toContain("function delay() return 2 end");
    expect(wrkArgs(40000, "plaintext", { connections: 50, threads: 1, durationS: 3 })).not.toContain("-s");
  });

  test("a pinned server runs on the CPUs it was given (taskset), and reports its own pid", async () => {
    const server = launch({ cmd: ["sleep", "30"], cpus: "0" }, 0);
    try {
      await Bun.sleep(100);
      const status = await Bun.file(`/proc/${server.pid}/status`).text();
      expect(status.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1]).toBe("0");
      expect(status.match(/^Name:\s*(\S+)/m)?.[1]).toBe("sleep");
    } finally {
      await server.stop();
    }
  });

  test("the close workload asks for GET / on a new connection per request", async () => {
    const args = wrkArgs(40000, "close", { connections: 50, threads: 1, durationS: 3 });
    expect(args.at(-1)).toBe("http://127.0.0.1:40000/");
    const lua = await Bun.file(args[args.indexOf("-s") + 1] as string).text();
    expect(lua).toBe('wrk.headers["Connection"] = "close"\n');
  });

  test("a partial run's raw results go beside its own report, not over the full run's", () => {
    const fullRun = join(ROOT, ".bench", "results.json");
    expect(resultsPathFor(undefined, undefined)).toBe(fullRun);
    expect(resultsPathFor(DEFAULT_REPORT, undefined)).toBe(fullRun);
    expect(resultsPathFor("/tmp/idle-only.md", undefined)).toBe("/tmp/idle-only.json");
    expect(resultsPathFor("/tmp/report", undefined)).toBe("/tmp/report.json");
    expect(resultsPathFor("/tmp/idle-only.md", "/tmp/raw.json")).toBe("/tmp/raw.json");
  });

  test("ratios pair rounds within a group; the report and SVG show them with targets", () => {
    const result = (id: string, group: string, rps: number[]): ContenderResult => ({
      id,
      label: id,
      group,
      tsuv: id.startsWith("tsuv"),
      ok: true,
      runs: {
        plaintext: rps.map((r) => ({ rps: r, requests: r * 3, errors: 0 })),
        json: rps.map((r) => ({ rps: r / 2, requests: r, errors: 0 })),
        close: [],
      },
      latency: [],
    });
    const run: BenchRun = {
      command: "npm run bench",
      startedAt: "2026-01-01T00:00:00.000Z",
      elapsedS: 60,
      machine: { cpuModel: "Test CPU", nproc: 2, memoryGiB: 24, kernel: "Linux", loadAvg: "0 0 0" },
      loadAfter: "0 0 0",
      versions: { Bun: "1.4.5" },
      settings: {
        client: "wrk",
        durationS: 3,
        warmupS: 1,
        rounds: 3,
        connections: 50,
        threads: 1,
        workloads: ["plaintext", "json"],
      },
      // Round 2 is slow for both (a noisy neighbour): the paired ratio ignores it.
      results: [
        result("tsuv-bun", "bun-1", [60_000, 30_000, 59_000]),
        result("bun-serve", "bun-1", [61_000, 31_000, 60_000]),
        // The control, the baseline's second copy: 0.934x, 0.935x and 1.00x of it, median 0.935x.
        result("bun-serve-copy", "bun-1", [57_000, 29_000, 60_000]),
      ],
      comparisons: COMPARISONS,
      memory: [],
      startup: [],
      replace: [],
      notes: [],
    };
    const [ratio] = computeRatios(run);
    expect(ratio?.comparison.baseline).toBe("bun-serve");
    expect(ratio?.ratios.plaintext).toBeCloseTo(59_000 / 60_000);
    const markdown = renderMarkdown(run, "benchmarks.svg");
    expect(markdown).toContain("![ratios](benchmarks.svg)");
    expect(markdown).toContain(
      "| tsuv-bun / bun-serve >= 0.97x | plaintext 0.98x, json 0.98x | plaintext 0.94x, json 0.94x | **met** |",
    );
    expect(markdown).toContain("| bun-serve-copy / bun-serve | 0.94x | 0.94x |");
    // A miss by less than the control strayed from 1.00x (0.92x: 0.05 short, the control 0.064 off)
    // is qualified; one by more (0.82x) is not.
    const withSubject = (rps: number[]) =>
      renderMarkdown(
        { ...run, results: [result("tsuv-bun", "bun-1", rps), ...run.results.slice(1)] },
        "benchmarks.svg",
      );
    expect(withSubject([56_000, 28_000, 55_000])).toContain(
      "| plaintext 0.92x, json 0.92x | plaintext 0.94x, json 0.94x | **missed** (within the control's spread) |",
    );
    // Just under the target (0.969x): both tables print the digit that shows the miss.
    const justUnder = withSubject([59_109, 30_039, 58_140]);
    expect(justUnder).toContain("| tsuv-bun / bun-serve >= 0.97x | plaintext 0.969x, json 0.969x |");
    expect(justUnder).toContain("| tsuv-bun / bun-serve | 0.969x | 0.969x |");
    expect(withSubject([50_000, 25_000, 49_000])).toContain(
      "| plaintext 0.82x, json 0.82x | plaintext 0.94x, json 0.94x | **missed** |",
    );
    // Without a control in the results (the quick smoke), no control row and an empty cell.
    const noControl = renderMarkdown({ ...run, results: run.results.slice(0, 2) }, "benchmarks.svg");
    expect(noControl).toContain(
      "| tsuv-bun / bun-serve >= 0.97x | plaintext 0.98x, json 0.98x |  | **met** |",
    );
    expect(noControl).not.toContain("bun-serve-copy");
    const svg = renderSvg(run);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("0.98x");

    // Memory: the target row is the TypeScript app's; the JavaScript-app rows only explain it.
    const mem = (workerClass: "thread" | "process", mib: number, javascriptApp?: boolean) => ({
      runtime: "node20" as const,
      workerClass,
      workers: 4,
      command: "tsuv",
      ok: true,
      memory: { processes: 1, threads: 1, rssKiB: mib * 1024, pssKiB: mib * 1024 },
      ...(javascriptApp ? { javascriptApp } : {}),
    });
    const withMemory = renderMarkdown(
      {
        ...run,
        memory: [mem("thread", 60), mem("process", 100), mem("thread", 40, true), mem("process", 100, true)],
      },
      "benchmarks.svg",
    );
    expect(withMemory).toContain(
      "| Node 20: RSS of 4 thread workers <= 0.5x 4 process workers | 0.60x | | **missed** |",
    );
    expect(withMemory.match(/RSS of 4 thread workers/g)).toHaveLength(1);
    expect(withMemory).toContain(
      "| Node 20 (JavaScript app) | 4 thread | 40.0 MiB | 40.0 MiB | 1 | 1 | 0.40x | 0.40x |",
    );
    expect(withMemory).toContain("nodejs/node#50752");
    expect(withMemory).not.toContain("the median round's");

    // Memory in rounds: the median round's tree, each round's RSS, the median per-round ratio
    // (0.40, 0.55, 0.45 -> 0.45x; the ratio of the median trees would be 50/100 = 0.50x).
    const tree = (mib: number) => ({ processes: 1, threads: 1, rssKiB: mib * 1024, pssKiB: mib * 1024 });
    const thread = mergeRounds([40, 55, 50].map((mib) => ({ ...mem("thread", 0), memory: tree(mib) })));
    const proc = mergeRounds([100, 100, 111.2].map((mib) => ({ ...mem("process", 0), memory: tree(mib) })));
    expect(thread.memory?.rssKiB).toBe(50 * 1024);
    expect(threadProcessRatio(thread, proc)).toBeCloseTo(0.45, 2);
    const withRounds = renderMarkdown({ ...run, memory: [thread, proc] }, "benchmarks.svg");
    expect(withRounds).toContain(
      "| Node 20: RSS of 4 thread workers <= 0.5x 4 process workers | 0.45x | | **met** |",
    );
    expect(withRounds).toContain(
      "| Node 20 | 4 thread | 50.0 MiB (40.0, 55.0, 50.0) | 50.0 MiB | 1 | 1 | 0.45x | 0.45x |",
    );
    expect(withRounds).toContain("Each setup ran 3 times");
    // A ratio that two decimals would print as the target itself gets the decimals that tell it
    // apart: 0.5007 missed "<= 0.5x" and must not read "0.50x".
    const nearLine = mergeRounds([50.07].map((mib) => ({ ...mem("thread", 0), memory: tree(mib) })));
    const nearProc = mergeRounds([100].map((mib) => ({ ...mem("process", 0), memory: tree(mib) })));
    expect(renderMarkdown({ ...run, memory: [nearLine, nearProc] }, "benchmarks.svg")).toContain(
      "| Node 20: RSS of 4 thread workers <= 0.5x 4 process workers | 0.501x | | **missed** |",
    );
    expect(
      [0.5, 0.49, 0.5004, 0.96649, 1.2049].map((n, i) =>
        fmtAgainst(n, [0.5, 0.5, 0.5, 0.97, 1.2][i] as number),
      ),
    ).toEqual(["0.50x", "0.49x", "0.5004x", "0.966x", "1.205x"]);
    // A round that failed makes the setup's row that failure, not a median of the rest.
    const failed = mergeRounds([mem("thread", 40), { ...mem("thread", 0), ok: false, reason: "exited" }]);
    expect(failed.ok).toBe(false);

    // Start-up: `npx tsuv` is compared with the Node 20 raw server of the same run, and explained.
    const startup = (id: string, medianMs: number) => ({ id, label: id, command: id, ok: true, medianMs });
    const withStartup = renderMarkdown(
      {
        ...run,
        startup: [{ runtime: "Node 20", tsuv: startup("tsuv", 300), raw: startup("node:http", 150) }],
        npx: startup("npx", 1200),
      },
      "benchmarks.svg",
    );
    expect(withStartup).toContain("| Node 20 | 300.0 ms | 150.0 ms (node:http) | 2.00x |");
    expect(withStartup).toContain("| `npx tsuv` (Node 20) | 1,200.0 ms | 150.0 ms (node:http) | 8.00x |");
    expect(withStartup).toContain("run the bin itself: `node_modules/.bin/tsuv`");
    // A run saved before the row existed has none.
    expect(renderMarkdown(run, "benchmarks.svg")).not.toContain("npx tsuv");

    // Latency: the median p99, and each round's beside it.
    const paced = (p99Ms: number) => ({ rps: 4000, requests: 8000, errors: 0, p50Ms: 0.1, p99Ms });
    const withLatency = renderMarkdown(
      {
        ...run,
        settings: { ...run.settings, latency: { connections: 10, delayMs: 2, durationS: 2, rounds: 3 } },
        results: [{ ...(run.results[0] as ContenderResult), latency: [paced(0.9), paced(3.2), paced(1.1)] }],
      },
      "benchmarks.svg",
    );
    expect(withLatency).toContain("| tsuv-bun | 4,000 | 0.100 ms | 1.100 ms (0.90, 3.20, 1.10) |");
  });
});

let bench: Subprocess | undefined;
afterAll(async () => {
  // SIGTERM lets the harness kill the servers it started (their own process groups), then exit.
  if (bench && bench.exitCode === null) {
    bench.kill("SIGTERM");
    const timer = setTimeout(() => bench?.kill("SIGKILL"), 5000);
    await bench.exited;
    clearTimeout(timer);
  }
});

test("npm run bench -- --quick: every contender starts, answers and takes load", async () => {
  const args = ["scripts/bench.ts", "--quick", "--no-install"];
  if (!which("wrk")) {
    console.log(
      "wrk is not installed: the bench smoke uses the built-in fetch loop (--client fetch) instead",
    );
    args.push("--client", "fetch");
  }
  bench = spawn([bun(), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(bench.stdout as ReadableStream).text(),
    new Response(bench.stderr as ReadableStream).text(),
    bench.exited,
  ]);
  const output = `${stdout}\n${stderr}`;
  if (code !== 0) console.log(output);
  const summary = output.match(/Smoke: (\d+) of (\d+) contenders/);
  expect(summary).not.toBeNull();
  // Every group's contenders: at least tsuv and the raw server on each runtime, nothing skipped.
  expect(Number(summary?.[2])).toBeGreaterThanOrEqual(24);
  expect(summary?.[1]).toBe(summary?.[2]);
  expect(code).toBe(0);
}, 90_000);
