/**
 * Exec to first 200: hyperfine times bench/startup.sh, which starts a server, polls GET / until it
 * answers 200 and kills it. tsuv on each runtime runs next to that runtime's raw server.
 *
 * In alternating rounds, as the throughput sections do: one hyperfine per round, a few runs of each
 * command, the order flipped every round (A B, B A, ...), and each command's median taken over the
 * runs of all rounds. One hyperfine of all of A's runs then all of B's would let a neighbour that
 * loads the machine for a few seconds fall on one side only: on this shared 2-core machine that
 * moved a start-up ratio by 0.2x between two full runs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../tools.mjs";
import { freePort } from "./proc.ts";
import { median } from "./throughput.ts";

/** Runs of each command per round (after one warm-up run of each). */
const RUNS_PER_ROUND = 2;

export interface StartupEntry {
  id: string;
  label: string;
  /** The server command, given the port it must listen on. */
  cmd(port: number): string[];
}

export interface StartupResult {
  id: string;
  label: string;
  command: string;
  ok: boolean;
  reason?: string;
  medianMs?: number;
  meanMs?: number;
  stddevMs?: number;
  minMs?: number;
  maxMs?: number;
}

interface HyperfineJson {
  results: { command: string; times: number[] }[];
}

export async function measureStartup(
  entries: StartupEntry[],
  hyperfine: string,
  runs: number,
  log: (line: string) => void,
): Promise<StartupResult[]> {
  const commands: string[] = [];
  for (const entry of entries) {
    const port = await freePort();
    // -N (no shell) splits on whitespace: none of our paths have spaces.
    commands.push(["bash", join(ROOT, "bench", "startup.sh"), String(port), ...entry.cmd(port)].join(" "));
  }
  const failed = (reason: string): StartupResult[] =>
    entries.map((e, i) => ({ id: e.id, label: e.label, command: commands[i] as string, ok: false, reason }));
  const rounds = Math.max(1, Math.ceil(runs / RUNS_PER_ROUND));
  const times: number[][] = entries.map(() => []);
  const dir = mkdtempSync(join(tmpdir(), "tsuv-bench-"));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = entries.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      const out = join(dir, `round-${round}.json`);
      const args = [
        "-N",
        "--warmup",
        "1",
        "--runs",
        String(RUNS_PER_ROUND),
        "--export-json",
        out,
        ...order.map((i) => commands[i] as string),
      ];
      if (round === 0)
        log(
          `  $ hyperfine ${args.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}  (x${rounds}, order flipped each round)`,
        );
      const run = spawnSync(hyperfine, args, {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      if (run.status !== 0) {
        const reason = `hyperfine failed (${run.status}): ${`${run.stdout}\n${run.stderr}`.trim().split("\n").slice(-6).join("\n")}`;
        log(`  FAILED ${reason}`);
        return failed(reason);
      }
      const json = JSON.parse(readFileSync(out, "utf8")) as HyperfineJson;
      order.forEach((entryIndex, position) => {
        (times[entryIndex] as number[]).push(...(json.results[position]?.times ?? []));
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return entries.map((entry, i) => {
    const ms = (times[i] as number[]).map((t) => t * 1000);
    if (ms.length === 0)
      return {
        id: entry.id,
        label: entry.label,
        command: commands[i] as string,
        ok: false,
        reason: "no result",
      };
    const mean = ms.reduce((sum, t) => sum + t, 0) / ms.length;
    const result: StartupResult = {
      id: entry.id,
      label: entry.label,
      command: commands[i] as string,
      ok: true,
      medianMs: median(ms),
      meanMs: mean,
      stddevMs: Math.sqrt(ms.reduce((sum, t) => sum + (t - mean) ** 2, 0) / Math.max(1, ms.length - 1)),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
    };
    log(
      `  ${entry.label.padEnd(40)} median ${result.medianMs?.toFixed(1)} ms (± ${result.stddevMs?.toFixed(1)}, ${ms.length} runs)`,
    );
    return result;
  });
}
