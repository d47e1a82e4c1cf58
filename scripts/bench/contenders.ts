/**
 * Who runs in the benchmark: each contender is a command that serves bench/apps/hello.ts's routes on
 * $PORT; groups are measured together (alternating, same run); comparisons are the ratios reported.
 */
import { join } from "node:path";
import { bun, deno, node20, node24, node26, ROOT } from "../tools.mjs";
import type { Launch } from "./proc.ts";

/** The Node lines measured: the engine floor (20, the system Node), and the LTS lines 24 and 26. */
export const NODE_KEYS = ["node20", "node24", "node26"] as const;
export type NodeKey = (typeof NODE_KEYS)[number];
export type RuntimeKey = NodeKey | "bun" | "deno";
export const RUNTIME_KEYS: RuntimeKey[] = ["bun", "deno", ...NODE_KEYS];
export const RUNTIME_NAMES: Record<RuntimeKey, string> = {
  node20: "Node 20",
  node24: "Node 24",
  node26: "Node 26",
  bun: "Bun",
  deno: "Deno",
};

export const BENCH_APP = "bench/apps/hello.ts";

export interface Contender {
  /** Unique, stable id: used by --only-contender and as the key in results. */
  id: string;
  label: string;
  /** For the chart: "tsuv 2w thread", "node:cluster 2w" (the runtime is said once per row). */
  short: string;
  /** "Bun", "Node 20", ... or "Python". */
  runtime: string;
  tsuv: boolean;
  workers: number;
  /** Left out of the paced latency run (a diagnostic variant, not a contender users compare). */
  noLatency?: boolean;
  launch(port: number): Launch;
}

export interface Group {
  id: string;
  title: string;
  contenders: Contender[];
  /** Also measure p50/p99 latency at a paced rate (single-worker groups). */
  latency: boolean;
}

export interface Comparison {
  group: string;
  subject: string;
  baseline: string;
  /** The issue-7 target for subject/baseline, if there is one. */
  target?: number;
  /** For ratios across groups (not alternated in the same group): shown as such. */
  crossGroup?: boolean;
  /**
   * A control: the group's raw baseline over a second copy of itself, measured in the same rounds.
   * Both run the same code, so how far it strays from 1.00x is how far this run's noise moves a
   * ratio in that group.
   */
  control?: boolean;
}

const rel = (path: string) => join(ROOT, path);

function runtimeBin(runtime: RuntimeKey): string {
  switch (runtime) {
    case "node20":
      return node20();
    case "node24":
      return node24();
    case "node26":
      return node26();
    case "bun":
      return bun();
    case "deno":
      return deno();
  }
}

/** The documented way to start tsuv on each runtime (README), with the access log off as uvicorn's bench. */
export function tsuvCommand(runtime: RuntimeKey): string[] {
  switch (runtime) {
    case "node20":
    case "node24":
    case "node26":
      return [runtimeBin(runtime), rel("dist/cli.mjs")];
    case "bun":
      return [bun(), rel("src/cli.ts")];
    case "deno":
      return [deno(), "run", "-A", `--config=${rel("deno.json")}`, rel("src/cli.ts")];
  }
}

/**
 * What the npm package runs on Bun and Deno (`bunx --bun tsuv`, `deno run -A npm:tsuv`): its bin,
 * bin/tsuv.mjs, which gives Bun dist/bun/ and Deno dist/deno/ (scripts/build-node.mjs) where a
 * checkout runs src/ (tsuvCommand). Node runs dist/ either way.
 */
export function packageBinCommand(runtime: "bun" | "deno"): string[] {
  return runtime === "bun" ? [bun(), rel("bin/tsuv.mjs")] : [deno(), "run", "-A", rel("bin/tsuv.mjs")];
}

export function tsuvArgs(port: number, workers = 1, workerClass?: "process" | "thread"): string[] {
  const args = [BENCH_APP, "--host", "127.0.0.1", "--port", String(port), "--no-access-log"];
  if (workers > 1 || workerClass) args.push("--workers", String(workers));
  if (workerClass) args.push("--worker-class", workerClass);
  return args;
}

export function tsuv(runtime: RuntimeKey, workers = 1, workerClass?: "process" | "thread"): Contender {
  const suffix = workerClass ? ` --workers ${workers} (${workerClass})` : "";
  return {
    id: `tsuv-${runtime}${workerClass ? `-w${workers}-${workerClass}` : ""}`,
    label: `tsuv on ${RUNTIME_NAMES[runtime]}${suffix}`,
    short: workerClass ? `tsuv ${workers}w ${workerClass}` : "tsuv",
    runtime: RUNTIME_NAMES[runtime],
    tsuv: true,
    workers,
    launch: (port) => ({ cmd: [...tsuvCommand(runtime), ...tsuvArgs(port, workers, workerClass)] }),
  };
}

/**
 * tsuv without the two per-request defaults it inherits from uvicorn (a `server` header on every
 * response; reading X-Forwarded-* from a trusted peer, and the bench's client is 127.0.0.1, which
 * the default --forwarded-allow-ips trusts). Run beside the default so the report shows what those
 * features cost apart from tsuv's own request path.
 */
export const LEAN_FLAGS = ["--no-server-header", "--no-proxy-headers"];

export function tsuvLean(runtime: RuntimeKey): Contender {
  return {
    id: `tsuv-lean-${runtime}`,
    label: `tsuv on ${RUNTIME_NAMES[runtime]} ${LEAN_FLAGS.join(" ")}`,
    short: "tsuv lean",
    runtime: RUNTIME_NAMES[runtime],
    tsuv: true,
    workers: 1,
    noLatency: true,
    launch: (port) => ({ cmd: [...tsuvCommand(runtime), ...tsuvArgs(port), ...LEAN_FLAGS] }),
  };
}

/**
 * tsuv with its access log on, as it starts by default (and uvicorn too): one line per request on
 * stdout, here a file (a pipe read by this benchmark's own process measured that process on a
 * 2-core machine). The gap to `tsuv` is what the access log costs.
 */
export function tsuvAccessLog(runtime: RuntimeKey): Contender {
  return {
    id: `tsuv-log-${runtime}`,
    label: `tsuv on ${RUNTIME_NAMES[runtime]} with its access log (default)`,
    short: "tsuv access log",
    runtime: RUNTIME_NAMES[runtime],
    tsuv: true,
    workers: 1,
    noLatency: true,
    launch: (port) => ({
      cmd: [...tsuvCommand(runtime), ...tsuvArgs(port).filter((arg) => arg !== "--no-access-log")],
      stdoutToFile: true,
    }),
  };
}

/** The raw runtime servers: what tsuv must match. */
export const raw = {
  bunServe: (): Contender => ({
    id: "bun-serve",
    label: "Bun.serve",
    short: "Bun.serve",
    runtime: "Bun",
    tsuv: false,
    workers: 1,
    launch: () => ({ cmd: [bun(), rel("bench/raw/bun-serve.ts")] }),
  }),
  bunReusePort: (workers = 2): Contender => ({
    id: `bun-reuseport-${workers}`,
    label: `Bun.serve reusePort, ${workers} processes`,
    short: `Bun.serve reusePort ${workers}w`,
    runtime: "Bun",
    tsuv: false,
    workers,
    launch: () => ({ cmd: [bun(), rel("bench/raw/bun-reuseport.ts")], env: { WORKERS: String(workers) } }),
  }),
  denoServe: (): Contender => ({
    id: "deno-serve",
    label: "Deno.serve",
    short: "Deno.serve",
    runtime: "Deno",
    tsuv: false,
    workers: 1,
    launch: () => ({ cmd: [deno(), "run", "-A", rel("bench/raw/deno-serve.ts")] }),
  }),
  denoParallel: (workers = 2): Contender => ({
    id: `deno-serve-parallel-${workers}`,
    label: `deno serve --parallel (${workers} threads)`,
    short: `deno serve --parallel ${workers}w`,
    runtime: "Deno",
    tsuv: false,
    workers,
    // `deno serve` loads the same export-default-{fetch} module tsuv does; DENO_JOBS sets the thread count.
    launch: (port) => ({
      cmd: [
        deno(),
        "serve",
        "-A",
        "--parallel",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        rel(BENCH_APP),
      ],
      env: { DENO_JOBS: String(workers) },
    }),
  }),
  nodeHttp: (runtime: NodeKey): Contender => ({
    id: `node-http-${runtime}`,
    label: `node:http res.end() (${RUNTIME_NAMES[runtime]})`,
    short: "node:http",
    runtime: RUNTIME_NAMES[runtime],
    tsuv: false,
    workers: 1,
    launch: () => ({ cmd: [runtimeBin(runtime), rel("bench/raw/node-http.mjs")] }),
  }),
  nodeCluster: (runtime: NodeKey, workers = 2): Contender => ({
    id: `node-cluster-${runtime}-${workers}`,
    label: `node:cluster, ${workers} workers (${RUNTIME_NAMES[runtime]})`,
    short: `node:cluster ${workers}w`,
    runtime: RUNTIME_NAMES[runtime],
    tsuv: false,
    workers,
    launch: () => ({
      cmd: [runtimeBin(runtime), rel("bench/raw/node-cluster.mjs")],
      env: { WORKERS: String(workers) },
    }),
  }),
  srvx: (runtime: NodeKey): Contender => ({
    id: `srvx-${runtime}`,
    label: `srvx 1.0 (${RUNTIME_NAMES[runtime]})`,
    short: "srvx",
    runtime: RUNTIME_NAMES[runtime],
    tsuv: false,
    workers: 1,
    launch: () => ({ cmd: [runtimeBin(runtime), rel("bench/raw/srvx-node.mjs")] }),
  }),
  uvicorn: (python: string): Contender => ({
    id: "uvicorn",
    label: "uvicorn (python3-uvicorn), 1 process",
    short: "uvicorn",
    runtime: "Python",
    tsuv: false,
    workers: 1,
    launch: (port) => ({
      cmd: [
        python,
        "-m",
        "uvicorn",
        "uvicorn_app:app",
        "--app-dir",
        rel("bench/raw"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--no-access-log",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
      ],
    }),
  }),
};

/**
 * The raw baseline each targeted group runs twice (see Comparison.control): the one its targets
 * are measured against (tsuv's single worker, the other baseline of the 2-worker Node groups, is
 * tsuv's own).
 */
const CONTROLLED: Record<string, string> = {
  "bun-1": "bun-serve",
  "deno-1": "deno-serve",
  "node20-1": "node-http-node20",
  "node24-1": "node-http-node24",
  "node26-1": "node-http-node26",
  "node20-2": "node-cluster-node20-2",
  "node24-2": "node-cluster-node24-2",
  "node26-2": "node-cluster-node26-2",
  "bun-2": "bun-reuseport-2",
  "deno-2": "deno-serve-parallel-2",
};
const COPY = "-copy";

/** The same server as `contender`, started a second time: the control's subject. */
function secondCopy(contender: Contender): Contender {
  return {
    ...contender,
    id: `${contender.id}${COPY}`,
    label: `${contender.label}, a second copy`,
    short: `${contender.short} (2nd copy)`,
    noLatency: true,
  };
}

/**
 * Every group, in run order. `python` is the interpreter that imports uvicorn, if any. `controls`
 * adds each targeted group's second copy of its baseline (the quick smoke leaves them out: the same
 * command as the baseline, they prove nothing more there).
 */
export function allGroups(python: string | undefined, controls = true): Group[] {
  const groups: Group[] = [
    {
      id: "bun-1",
      title: "Bun, one worker",
      latency: true,
      contenders: [tsuv("bun"), raw.bunServe(), tsuvLean("bun"), tsuvAccessLog("bun")],
    },
    {
      id: "deno-1",
      title: "Deno, one worker",
      latency: true,
      contenders: [tsuv("deno"), raw.denoServe(), tsuvLean("deno"), tsuvAccessLog("deno")],
    },
  ];
  for (const runtime of NODE_KEYS) {
    groups.push({
      id: `${runtime}-1`,
      title: `${RUNTIME_NAMES[runtime]}, one worker`,
      latency: true,
      contenders: [
        tsuv(runtime),
        raw.nodeHttp(runtime),
        raw.srvx(runtime),
        tsuvLean(runtime),
        tsuvAccessLog(runtime),
      ],
    });
  }
  for (const runtime of NODE_KEYS) {
    groups.push({
      id: `${runtime}-2`,
      title: `${RUNTIME_NAMES[runtime]}, two workers`,
      latency: false,
      // tsuv's single worker runs here too, so "2 workers >= 1.7x one" is an alternated ratio.
      contenders: [
        tsuv(runtime, 2, "process"),
        tsuv(runtime, 2, "thread"),
        raw.nodeCluster(runtime),
        tsuv(runtime),
      ],
    });
  }
  groups.push(
    {
      id: "bun-2",
      title: "Bun, two workers",
      latency: false,
      contenders: [tsuv("bun", 2, "process"), tsuv("bun", 2, "thread"), raw.bunReusePort()],
    },
    {
      id: "deno-2",
      title: "Deno, two workers",
      latency: false,
      contenders: [tsuv("deno", 2, "process"), tsuv("deno", 2, "thread"), raw.denoParallel()],
    },
  );
  if (controls) {
    for (const group of groups) {
      // Right after its baseline, as tsuv is right before it: the rounds alternate the order (A B C,
      // then C B A), so both pairs are measured next to each other, and the control sees noise
      // across the same few seconds as the target's ratio.
      const at = group.contenders.findIndex((c) => c.id === CONTROLLED[group.id]);
      const baseline = group.contenders[at];
      if (baseline) group.contenders.splice(at + 1, 0, secondCopy(baseline));
    }
  }
  if (python) {
    groups.push({
      id: "uvicorn",
      title: "uvicorn (reference)",
      latency: false,
      contenders: [raw.uvicorn(python)],
    });
  }
  return groups;
}

/** The ratios the report shows, with issue 7's targets. */
export const COMPARISONS: Comparison[] = [
  { group: "bun-1", subject: "tsuv-bun", baseline: "bun-serve", target: 0.97 },
  { group: "bun-1", subject: "tsuv-lean-bun", baseline: "bun-serve" },
  { group: "bun-1", subject: "tsuv-log-bun", baseline: "bun-serve" },
  { group: "deno-1", subject: "tsuv-deno", baseline: "deno-serve", target: 0.97 },
  { group: "deno-1", subject: "tsuv-lean-deno", baseline: "deno-serve" },
  { group: "deno-1", subject: "tsuv-log-deno", baseline: "deno-serve" },
  ...NODE_KEYS.flatMap((r): Comparison[] => [
    { group: `${r}-1`, subject: `tsuv-${r}`, baseline: `node-http-${r}`, target: 0.9 },
    { group: `${r}-1`, subject: `tsuv-${r}`, baseline: `srvx-${r}`, target: 1.1 },
    { group: `${r}-1`, subject: `srvx-${r}`, baseline: `node-http-${r}` },
    { group: `${r}-1`, subject: `tsuv-lean-${r}`, baseline: `node-http-${r}` },
    { group: `${r}-1`, subject: `tsuv-log-${r}`, baseline: `node-http-${r}` },
    { group: `${r}-2`, subject: `tsuv-${r}-w2-process`, baseline: `node-cluster-${r}-2`, target: 1.0 },
    { group: `${r}-2`, subject: `tsuv-${r}-w2-thread`, baseline: `node-cluster-${r}-2`, target: 1.0 },
    { group: `${r}-2`, subject: `tsuv-${r}-w2-process`, baseline: `tsuv-${r}`, target: 1.7 },
    { group: `${r}-2`, subject: `tsuv-${r}-w2-thread`, baseline: `tsuv-${r}`, target: 1.7 },
    // The ceiling on this machine: what the raw 2-worker setup gets over tsuv's single worker.
    { group: `${r}-2`, subject: `node-cluster-${r}-2`, baseline: `tsuv-${r}` },
  ]),
  { group: "bun-2", subject: "tsuv-bun-w2-process", baseline: "bun-reuseport-2", target: 1.0 },
  { group: "bun-2", subject: "tsuv-bun-w2-thread", baseline: "bun-reuseport-2", target: 1.0 },
  { group: "deno-2", subject: "tsuv-deno-w2-process", baseline: "deno-serve-parallel-2", target: 1.0 },
  { group: "deno-2", subject: "tsuv-deno-w2-thread", baseline: "deno-serve-parallel-2", target: 1.0 },
  { group: "uvicorn", subject: "tsuv-node20", baseline: "uvicorn", crossGroup: true },
  { group: "uvicorn", subject: "tsuv-bun", baseline: "uvicorn", crossGroup: true },
  ...Object.entries(CONTROLLED).map(
    ([group, baseline]): Comparison => ({ group, subject: `${baseline}${COPY}`, baseline, control: true }),
  ),
];

/** The raw single-process server each runtime is compared with for start-up time. */
export function rawServerFor(runtime: RuntimeKey): Contender {
  switch (runtime) {
    case "node20":
    case "node24":
    case "node26":
      return raw.nodeHttp(runtime);
    case "bun":
      return raw.bunServe();
    case "deno":
      return raw.denoServe();
  }
}

/** The raw 2-worker setup each runtime's tsuv --workers 2 is compared with. */
export function rawWorkersFor(runtime: RuntimeKey, workers = 2): Contender {
  switch (runtime) {
    case "node20":
    case "node24":
    case "node26":
      return raw.nodeCluster(runtime, workers);
    case "bun":
      return raw.bunReusePort(workers);
    case "deno":
      return raw.denoParallel(workers);
  }
}
