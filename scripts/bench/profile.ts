/**
 * Where does a request's time go? Start one server under the runtime's CPU profiler, load it with
 * wrk, stop it gracefully (SIGINT, so the profile is written), and print the functions with the
 * most self time and the most inclusive time.
 *
 *   bun scripts/bench/profile.ts RUNTIME [plaintext|json] [--raw] [--duration S] [--top N]
 *   bun scripts/bench/profile.ts RUNTIME --startup     (exec to first 200 only: module loading, config)
 *
 * RUNTIME is bun, deno, node20, node24 or node26; --raw profiles the runtime's raw server instead of tsuv.
 * Also usable on any saved profile: bun scripts/bench/profile.ts --summary FILE.cpuprofile
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../tools.mjs";
import { RUNTIME_KEYS, type RuntimeKey, rawServerFor, tsuvArgs, tsuvCommand } from "./contenders.ts";
import { runWrk, type Workload } from "./load.ts";
import { freePort, launch, sleep, waitReady } from "./proc.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? relative(ROOT, url.replace(/^file:\/\//, "")) : "";
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
}

/** Self and inclusive sample counts per function (recursion counted once per stack). */
export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  if (profile.samples?.length) for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (!node) continue;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + count);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (!n) break;
      const key = frameName(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + count);
    }
  }
  const table = (title: string, map: Map<string, number>) => [
    title,
    ...[...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, count]) => `  ${((count / total) * 100).toFixed(1).padStart(5)}%  ${name}`),
  ];
  return [`${total} samples`, ...table("Self time:", self), ...table("Inclusive time:", inclusive)].join(
    "\n",
  );
}

function profilerFlags(runtime: RuntimeKey, dir: string): string[] {
  // Node and Bun share the flag names. Deno 2.9 has no --cpu-prof: profile it through --inspect
  // and Chrome DevTools instead.
  if (runtime === "deno")
    throw new Error("deno has no --cpu-prof flag; profile Deno with --inspect and Chrome DevTools");
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      raw: { type: "boolean" },
      startup: { type: "boolean" },
      duration: { type: "string" },
      top: { type: "string" },
      summary: { type: "string" },
    },
  });
  const top = Number(values.top ?? 25);
  if (values.summary) {
    console.log(summarize(JSON.parse(readFileSync(values.summary, "utf8")), top));
    return 0;
  }
  const runtime = positionals[0] as RuntimeKey;
  const workload = (positionals[1] ?? "plaintext") as Workload;
  if (!RUNTIME_KEYS.includes(runtime)) {
    console.error(`usage: bun scripts/bench/profile.ts ${RUNTIME_KEYS.join("|")} [plaintext|json] [--raw]`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), "tsuv-profile-"));
  const port = await freePort();
  const base = values.raw
    ? rawServerFor(runtime).launch(port).cmd
    : [...tsuvCommand(runtime), ...tsuvArgs(port)];
  const [exe, ...rest] = base;
  const cmd = [exe as string, ...profilerFlags(runtime, dir), ...rest];
  console.log(`$ ${cmd.join(" ")}`);
  const server = launch({ cmd }, port);
  const readyMs = await waitReady(server);
  if (values.startup) {
    console.log(`first 200 after ${Math.round(readyMs)} ms under the profiler`);
  } else {
    const m = await runWrk(port, workload, {
      connections: 50,
      threads: 1,
      durationS: Number(values.duration ?? 5),
    });
    console.log(`${Math.round(m.rps)} req/s under the profiler (${workload})`);
  }
  // A graceful stop writes the profile; the leader only, the group kill comes after.
  process.kill(server.pid, "SIGINT");
  for (let i = 0; i < 100 && !server.exited(); i++) await sleep(100);
  await server.stop();
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (!files.length) {
    console.error(`no profile written in ${dir}:\n${server.output()}`);
    return 1;
  }
  for (const file of files) {
    console.log(`\n${join(dir, file)}`);
    console.log(summarize(JSON.parse(readFileSync(join(dir, file), "utf8")), top));
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
