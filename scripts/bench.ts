/**
 * `npm run bench`: tsuv against each runtime's own server, its peers and uvicorn, on loopback.
 * Writes docs/benchmarks.md and docs/benchmarks.svg (full mode), or just proves every contender
 * starts and answers (`--quick`, what the test suite runs). `--help` lists the options.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import {
  allGroups,
  BENCH_APP,
  COMPARISONS,
  type Group,
  packageBinCommand,
  RUNTIME_KEYS,
  RUNTIME_NAMES,
  type RuntimeKey,
  rawServerFor,
  tsuvArgs,
  tsuvCommand,
} from "./bench/contenders.ts";
import { measureIdle } from "./bench/idle.ts";
import { ALL_WORKLOADS, type Client, type LoadOptions, WORKLOADS, type Workload } from "./bench/load.ts";
import { currentLoad, machine, versions } from "./bench/machine.ts";
import { type MemoryResult, measureMemory, mergeRounds } from "./bench/memory.ts";
import { ensureCommand, findUvicorn, which } from "./bench/prereq.ts";
import { stopAll } from "./bench/proc.ts";
import { measureReplace } from "./bench/replace.ts";
import {
  type BenchRun,
  DEFAULT_REPORT,
  renderMarkdown,
  renderSummary,
  renderSvg,
  resultsPathFor,
} from "./bench/report.ts";
import { measureStartup, type StartupEntry } from "./bench/startup.ts";
import { runGroup } from "./bench/throughput.ts";
import { measureWebSocket, webSocketSides } from "./bench/websocket.ts";
import { node20, ROOT } from "./tools.mjs";

const SECTIONS = ["throughput", "latency", "memory", "startup", "replace", "websocket", "idle"] as const;
type Section = (typeof SECTIONS)[number];
/** The paced latency run and the WebSocket echo: fewer, longer rounds (a p99 needs samples). */
const LATENCY_ROUNDS = 3;
const LATENCY_SECONDS = 2;
/**
 * Five, not three: with three, one slow phase of this shared machine over two rounds decided the
 * median (2026-12-05: Node 20's tsuv/raw per-round ratios 0.56, 0.62, 1.12 gave 0.62, where fresh
 * pairs of starts gave 0.85-0.94). Not pinned to CPUs as the throughput groups are: the client
 * (one Bun process) alone on one core becomes the bottleneck (node:http + ws pinned apart 65-66k
 * round trips/s, left free 68-122k), which would pull every ratio toward 1.
 */
const WS_ROUNDS = 5;
const WS_SECONDS = 2;

const HELP = `Usage: npm run bench -- [options]

  --quick                 1-second smoke of every contender: starts, answers both workloads, one
                          short load run; no rounds, no hyperfine; writes nothing unless --out
  --client wrk|fetch      load generator (default wrk; fetch: a built-in fetch loop, smoke only)
  --duration S            seconds per throughput measurement (default 1)
  --warmup S              warm-up seconds per contender and workload (default 1; --quick: 0)
  --rounds N              alternated throughput rounds, the median is reported (default 9;
                          --quick: 1)
  --multi-duration S      seconds per measurement in the groups of 2+ workers (default 2)
  --multi-rounds N        rounds in the groups of 2+ workers (default 5)
  --connections N         wrk connections (default 50)
  --threads N             wrk threads (default 1)
  --only LIST             groups to run, comma-separated: bun, deno, node20, node24, node26
                          (every group of that runtime) or a group id: bun-1 bun-2 deno-1
                          deno-2 node20-1 node20-2 node24-1 node24-2 node26-1 node26-2 uvicorn
  --workload LIST         plaintext,json,close (default plaintext,json; close: plaintext with a
                          new connection per request)
  --skip LIST             sections to skip: ${SECTIONS.join(", ")}
  --latency-connections N paced latency run: connections (default 10)
  --latency-delay MS      paced latency run: pause before each request per connection (default 2)
  --memory-workers N      workers for the thread vs process memory run (default 4)
  --memory-rounds N       alternated memory rounds, the median is reported (default 3)
  --ws-connections N      WebSocket echo: sockets (default 50; message 32 bytes)
  --idle-seconds S        idle run: the window measured (default 30)
  --binary PATH           a compiled tsuv binary to time (default: dist/tsuv, built first)
  --with-uvicorn          install python3-uvicorn (apt-get, root only) when missing
  --no-install            never apt-get; say what is missing instead
  --no-pin                leave single-worker servers and wrk to the scheduler (default: server
                          on CPU 0, wrk on CPU 1, with taskset, where there are 2+ CPUs)
  --out PATH              markdown report (default docs/benchmarks.md; the SVG goes beside it)
  --json PATH             raw results (default: beside --out's report, as .json; without
                          --out, .bench/results.json)
  --report-from PATH      only rebuild the report from a saved results JSON
  -h, --help
`;

function list(value: string | undefined): string[] {
  return value
    ? value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

function writeReport(run: BenchRun, out: string): void {
  const svgPath = `${out.replace(/\.md$/, "")}.svg`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(svgPath, renderSvg(run));
  writeFileSync(out, renderMarkdown(run, relative(dirname(out), svgPath)));
  console.log(`\nWrote ${relative(ROOT, out)} and ${relative(ROOT, svgPath)}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean" },
      client: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      only: { type: "string" },
      workload: { type: "string" },
      skip: { type: "string" },
      "latency-connections": { type: "string" },
      "latency-delay": { type: "string" },
      "memory-workers": { type: "string" },
      "memory-rounds": { type: "string" },
      "ws-connections": { type: "string" },
      "idle-seconds": { type: "string" },
      binary: { type: "string" },
      "with-uvicorn": { type: "boolean" },
      "no-install": { type: "boolean" },
      "no-pin": { type: "boolean" },
      "multi-duration": { type: "string" },
      "multi-rounds": { type: "string" },
      out: { type: "string" },
      json: { type: "string" },
      "report-from": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const quick = Boolean(values.quick);
  const out = values.out ? resolve(values.out) : quick ? undefined : DEFAULT_REPORT;
  if (values["report-from"]) {
    const run = JSON.parse(readFileSync(resolve(values["report-from"]), "utf8")) as BenchRun;
    writeReport(run, out ?? DEFAULT_REPORT);
    return 0;
  }

  const client = (values.client ?? "wrk") as Client;
  if (client !== "wrk" && client !== "fetch") {
    console.error(`--client must be wrk or fetch, got ${JSON.stringify(values.client)}`);
    return 2;
  }
  if (client === "fetch" && !quick) {
    console.error(
      "--client fetch only proves that servers answer (the fetch loop, not the server, is the bottleneck): use it with --quick",
    );
    return 2;
  }
  const workloads = (list(values.workload).length ? list(values.workload) : WORKLOADS) as Workload[];
  for (const w of workloads) {
    if (!ALL_WORKLOADS.includes(w)) {
      console.error(`unknown workload ${w} (${ALL_WORKLOADS.join(", ")})`);
      return 2;
    }
  }
  const skip = new Set(list(values.skip));
  for (const s of skip) {
    if (!SECTIONS.includes(s as Section)) {
      console.error(`unknown section ${s} (${SECTIONS.join(", ")})`);
      return 2;
    }
  }
  // Quick mode is the smoke: throughput only, once each.
  const sections = new Set<Section>(quick ? ["throughput"] : SECTIONS.filter((s) => !skip.has(s)));
  const allowInstall = !values["no-install"];
  const load: LoadOptions = {
    connections: number(values.connections, 50, "connections"),
    threads: number(values.threads, 1, "threads"),
    durationS: number(values.duration, 1, "duration"),
  };
  // Many short rounds rather than a few long ones: this machine's noise comes in bursts of a few
  // seconds, and a burst spoils fewer of nine 1-second rounds than of three 2-second ones, so the
  // median of the per-round ratios keeps clear of it (an A/A run of node:http against itself, 9
  // rounds of 1 s: one burst spoilt 5 rounds, and the median was still 1.02x).
  const rounds = quick ? 1 : number(values.rounds, 9, "rounds");
  // ThroughputOptions.multiWorker: the groups of 2+ workers get longer rounds.
  const multiWorker = quick
    ? undefined
    : {
        durationS: number(values["multi-duration"], 2, "multi-duration"),
        rounds: number(values["multi-rounds"], 5, "multi-rounds"),
      };
  const warmupS = values.warmup !== undefined ? Number(values.warmup) : quick ? 0 : 1;
  const latencyConnections = number(values["latency-connections"], 10, "latency-connections");
  const latencyDelay = number(values["latency-delay"], 2, "latency-delay");
  const latency: (LoadOptions & { rounds: number }) | undefined = sections.has("latency")
    ? {
        connections: latencyConnections,
        threads: 1,
        durationS: LATENCY_SECONDS,
        delayMs: latencyDelay,
        rounds: LATENCY_ROUNDS,
      }
    : undefined;

  const startedAt = new Date();
  const notes: string[] = [];
  const log = (line: string) => console.log(line);

  // --- prerequisites
  if (client === "wrk" && !ensureCommand("wrk", "wrk", allowInstall && !quick, "the load generator")) {
    console.error(
      quick
        ? "wrk is missing: install it (apt-get install -y wrk) or run the smoke with --client fetch"
        : "wrk is required for the measurement.",
    );
    return 1;
  }
  const uvicorn = findUvicorn(Boolean(values["with-uvicorn"]) && allowInstall);
  if (!uvicorn) {
    const note =
      "uvicorn is not installed, so the uvicorn reference was not run (`npm run bench -- --with-uvicorn` installs python3-uvicorn).";
    notes.push(note);
    log(note);
  }
  let hyperfine: string | undefined;
  if (sections.has("startup")) {
    hyperfine = ensureCommand("hyperfine", "hyperfine", allowInstall, "start-up timing");
    if (!hyperfine) {
      sections.delete("startup");
      notes.push("hyperfine is not installed, so start-up times were not measured.");
    }
  }

  const only = list(values.only);
  const groups = allGroups(uvicorn?.python, !quick).filter(
    (g: Group) => !only.length || only.some((o) => g.id === o || g.id.startsWith(`${o}-`)),
  );
  if (only.length && !groups.length) {
    console.error(`--only ${values.only} matches no group`);
    return 2;
  }
  const runtimes = RUNTIME_KEYS.filter((rt) => groups.some((g) => g.id.startsWith(`${rt}-`)));

  // tsuv on Node runs from the esbuild bundle: rebuild it so the numbers are for the current source.
  if (runtimes.some((rt) => rt.startsWith("node"))) {
    log("$ node scripts/build-node.mjs");
    const build = spawnSync(node20(), [join(ROOT, "scripts", "build-node.mjs")], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (build.status !== 0)
      notes.push(`scripts/build-node.mjs failed (exit ${build.status}); tsuv on Node used the old dist/.`);
  }

  const m = machine();
  // ThroughputOptions.pin: a single-worker server on CPU 0, wrk on CPU 1 (not in the quick smoke,
  // which loads three groups at once).
  const pin =
    !quick &&
    !values["no-pin"] &&
    m.nproc >= 2 &&
    client === "wrk" &&
    which("taskset") &&
    // Both CPUs may be outside this process's cpuset (a container): then taskset fails.
    spawnSync("taskset", ["-c", "0", "true"]).status === 0 &&
    spawnSync("taskset", ["-c", "1", "true"]).status === 0
      ? { server: "0", client: "1" }
      : undefined;
  if (!quick && !values["no-pin"] && !pin)
    notes.push("Single-worker servers and wrk were not pinned to CPUs (taskset missing, or one CPU).");
  log(`Machine: ${m.cpuModel}, ${m.nproc} cores, ${m.memoryGiB} GiB, load ${m.loadAvg}`);
  log(
    `Client: ${client}${client === "fetch" ? " (built-in fetch loop: proves servers answer; its numbers measure the client, not the server)" : ` -t${load.threads} -c${load.connections} -d${load.durationS}s`}, ${rounds} round(s), warm-up ${warmupS} s`,
  );

  const run: BenchRun = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    startedAt: startedAt.toISOString(),
    elapsedS: 0,
    machine: m,
    loadAfter: "",
    // Versions only matter in a report (and cost a few spawns): quick mode without --out skips them.
    versions: out
      ? versions({ uvicorn: uvicorn ? `${uvicorn.version} (${uvicorn.python})` : undefined })
      : {},
    settings: {
      client,
      durationS: load.durationS,
      warmupS,
      rounds,
      connections: load.connections,
      threads: load.threads,
      workloads,
      pin,
      multiWorker,
      latency: latency
        ? {
            connections: latencyConnections,
            delayMs: latencyDelay,
            durationS: latency.durationS,
            rounds: latency.rounds,
          }
        : undefined,
    },
    results: [],
    comparisons: COMPARISONS,
    memory: [],
    startup: [],
    replace: [],
    notes,
  };

  // --- throughput (and paced latency) per group
  if (sections.has("throughput")) {
    const at = () => `${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)} s`;
    if (quick) {
      // The smoke measures nothing, so three groups at a time: it proves answers in a third of the time.
      const results = new Map<Group, Awaited<ReturnType<typeof runGroup>>>();
      const queue = [...groups];
      const worker = async () => {
        for (let group = queue.shift(); group; group = queue.shift()) {
          const tag = `[${group.id}]`;
          log(`== ${group.title} ${tag} at ${at()}`);
          const glog = (line: string) => log(`${tag} ${line.trimStart()}`);
          const options = { client, workloads, rounds, load, warmupS, concurrent: true, log: glog };
          results.set(group, await runGroup(group, options));
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      for (const group of groups) run.results.push(...(results.get(group) ?? []));
    } else {
      for (const group of groups) {
        log(`\n== ${group.title} (${group.id}) at ${at()}`);
        run.results.push(
          ...(await runGroup(group, {
            client,
            workloads,
            rounds,
            load,
            warmupS,
            latency,
            pin,
            multiWorker,
            log,
          })),
        );
      }
    }
  }

  // --- memory: N thread workers vs N process workers, in alternated rounds (the median is reported)
  if (sections.has("memory")) {
    const workers = number(values["memory-workers"], 4, "memory-workers");
    const memoryRounds = number(values["memory-rounds"], 3, "memory-rounds");
    log(`\n== Memory: ${workers} thread workers vs ${workers} process workers, ${memoryRounds} round(s)`);
    // Node 20 runs TypeScript loader hooks in a thread per worker thread (nodejs/node#50752):
    // the same app as JavaScript shows what the thread class costs without them.
    let jsDir: string | undefined;
    let jsApp: string | undefined;
    if (runtimes.includes("node20")) {
      jsDir = mkdtempSync(join(tmpdir(), "tsuv-bench-js-"));
      jsApp = join(jsDir, "hello.mjs");
      await esbuild.build({
        entryPoints: [join(ROOT, BENCH_APP)],
        outfile: jsApp,
        format: "esm",
        logLevel: "warning",
      });
    }
    const setups: { runtime: RuntimeKey; app?: string }[] = runtimes.map((runtime) => ({ runtime }));
    if (jsApp) setups.push({ runtime: "node20", app: jsApp });
    const rounds = new Map<string, MemoryResult[]>();
    for (let round = 0; round < memoryRounds; round++) {
      // Thread first in even rounds, process first in odd ones: a drift in the machine's memory
      // (page cache, another job) falls on both classes alike.
      const classes = round % 2 === 0 ? (["thread", "process"] as const) : (["process", "thread"] as const);
      for (const { runtime, app } of setups) {
        for (const cls of classes) {
          const key = `${runtime} ${cls} ${app ?? ""}`;
          const result = await measureMemory(runtime, cls, workers, client, log, app);
          rounds.set(key, [...(rounds.get(key) ?? []), result]);
        }
      }
    }
    for (const results of rounds.values()) run.memory.push(mergeRounds(results));
    if (jsDir) rmSync(jsDir, { recursive: true, force: true });
  }

  // --- start-up: exec to first 200, tsuv vs the raw server, one hyperfine per runtime
  if (sections.has("startup") && hyperfine) {
    log("\n== Start-up: exec to first 200 (hyperfine)");
    for (const rt of runtimes) {
      const rawServer = rawServerFor(rt);
      const entries: StartupEntry[] = [
        {
          id: `tsuv-${rt}`,
          label: `tsuv on ${RUNTIME_NAMES[rt]}`,
          cmd: (port) => [...tsuvCommand(rt), ...tsuvArgs(port)],
        },
        { id: rawServer.id, label: rawServer.label, cmd: (port) => rawServer.launch(port).cmd },
      ];
      // Bun and Deno run something else from the npm package than from a checkout: timed beside.
      if (rt === "bun" || rt === "deno")
        entries.push({
          id: `tsuv-package-${rt}`,
          label: `the package's bin on ${RUNTIME_NAMES[rt]}`,
          cmd: (port) => [...packageBinCommand(rt), ...tsuvArgs(port)],
        });
      const [tsuvResult, rawResult, packageResult] = await measureStartup(entries, hyperfine, 10, log);
      if (tsuvResult && rawResult)
        run.startup.push({
          runtime: RUNTIME_NAMES[rt],
          tsuv: tsuvResult,
          raw: rawResult,
          packageBin: packageResult,
        });
    }
    const binary = values.binary ? resolve(values.binary) : join(ROOT, "dist", "tsuv");
    // As with the Node bundle: build dist/tsuv from the current source (about 1 s), so a fresh
    // clone measures it too and an old build is never timed in its place.
    if (!values.binary) {
      log("$ node scripts/build-binary.mjs");
      const build = spawnSync(node20(), [join(ROOT, "scripts", "build-binary.mjs")], {
        cwd: ROOT,
        stdio: "inherit",
      });
      if (build.status !== 0) {
        notes.push(`scripts/build-binary.mjs failed (exit ${build.status}): no binary start-up.`);
        rmSync(binary, { force: true });
      }
    }
    if (existsSync(binary)) {
      const [result] = await measureStartup(
        [{ id: "tsuv-binary", label: "tsuv compiled binary", cmd: (port) => [binary, ...tsuvArgs(port)] }],
        hyperfine,
        10,
        log,
      );
      run.binary = result;
    } else {
      notes.push(
        `No compiled binary at ${relative(ROOT, binary)}, so its start-up was not measured (--binary PATH).`,
      );
    }
    // `npx tsuv`, the npm package's command as README and issue 7 give it: npm loads its own CLI
    // before it finds the bin. In a checkout npx runs this package's bin; `--no` keeps it from ever
    // asking the registry. The system Node's directory first on PATH, so npx (`env node`) and the
    // bin run on Node 20 even where a runner put a `node` shim ahead of it.
    if (runtimes.includes("node20")) {
      const path = `${dirname(node20())}:${process.env.PATH ?? ""}`;
      const [npx] = await measureStartup(
        [
          {
            id: "tsuv-npx",
            label: "npx tsuv (Node 20)",
            cmd: (port) => ["env", `PATH=${path}`, "npx", "--no", "--", "tsuv", ...tsuvArgs(port)],
          },
        ],
        hyperfine,
        10,
        log,
      );
      run.npx = npx;
    }
  }

  // --- WebSocket echo round trips, tsuv vs the runtime's own WebSocket server
  if (sections.has("websocket")) {
    const ws = {
      connections: number(values["ws-connections"], 50, "ws-connections"),
      durationS: WS_SECONDS,
      warmupS,
      rounds: WS_ROUNDS,
      messageBytes: 32,
    };
    run.websocketSettings = ws;
    run.websocket = [];
    log("\n== WebSocket echo round trips");
    for (const rt of runtimes) {
      run.websocket.push(await measureWebSocket(rt, { ...ws, log }));
      if (rt === "bun") run.websocket.push(await measureWebSocket(rt, { ...ws, log }, true));
    }
  }

  // --- idle: CPU and wake-ups of every setup while it serves nothing, all in one window
  if (sections.has("idle")) {
    const windowS = number(values["idle-seconds"], 30, "idle-seconds");
    log(`\n== Idle: CPU and wake-ups over ${windowS} s`);
    run.idle = await measureIdle(runtimes, { windowS, settleS: 20, log });
  }

  // --- worker replacement after kill -9
  if (sections.has("replace")) {
    log("\n== Worker replacement after kill -9");
    for (const rt of runtimes) run.replace.push(await measureReplace(rt, 3, log));
  }

  run.elapsedS = (Date.now() - startedAt.getTime()) / 1000;
  run.loadAfter = currentLoad();

  // Quick-mode numbers mean nothing (no warm-up, contenders loaded at once): no ratios for them.
  if (run.results.length && !quick) log(`\n${renderSummary(run)}`);
  const failed = [
    ...run.results.filter((r) => !r.ok).map((r) => `${r.label}: ${r.reason?.split("\n")[0]}`),
    ...run.memory
      .filter((r) => !r.ok)
      .map((r) => `memory ${r.runtime} ${r.workerClass}: ${r.reason?.split("\n")[0]}`),
    ...run.startup
      .flatMap((s) => [s.tsuv, s.raw])
      .filter((r) => !r.ok)
      .map((r) => `start-up ${r.label}: ${r.reason?.split("\n")[0]}`),
    ...run.replace.filter((r) => !r.ok).map((r) => `replacement ${r.runtime}: ${r.reason?.split("\n")[0]}`),
    ...(run.idle?.results ?? []).filter((r) => !r.ok).map((r) => `idle ${r.label}: ${r.reason}`),
    ...(run.websocket ?? [])
      .flatMap(webSocketSides)
      .filter((side) => !side.ok)
      .map((side) => `websocket ${side.label}: ${side.reason?.split("\n")[0]}`),
  ];

  if (!quick) {
    const jsonPath = resultsPathFor(values.out, values.json);
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
    log(`Raw results: ${relative(ROOT, jsonPath)}`);
  }
  if (out) writeReport(run, out);

  const ok = run.results.filter((r) => r.ok).length;
  const served = sections.has("throughput")
    ? `${ok} of ${run.results.length} contenders served both checks and every load run${client === "fetch" ? " (client: built-in fetch loop, not wrk)" : ""}`
    : "throughput skipped";
  log(`\n${quick ? "Smoke" : "Benchmark"}: ${served}; ${Math.round(run.elapsedS)} s.`);
  if (failed.length) {
    log(`FAILED (${failed.length}):\n${failed.map((f) => `  - ${f}`).join("\n")}`);
    return 1;
  }
  return 0;
}

let exiting = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (exiting) return;
    exiting = true;
    stopAll().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (error) => {
    console.error(error);
    await stopAll();
    process.exit(1);
  });
