/**
 * Exec to first 200: hyperfine times bench/startup.sh, which starts a server, polls GET / until it
 * answers 200 and kills it. tsuv on each runtime runs next to that runtime's raw server, in one
 * hyperfine invocation per runtime.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../tools.mjs";
import { freePort } from "./proc.ts";

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
  results: { command: string; median: number; mean: number; stddev: number; min: number; max: number }[];
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
  const dir = mkdtempSync(join(tmpdir(), "tsuv-bench-"));
  const out = join(dir, "hyperfine.json");
  const args = ["-N", "--warmup", "2", "--runs", String(runs), "--export-json", out, ...commands];
  log(`  $ hyperfine ${args.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}`);
  const run = spawnSync(hyperfine, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (run.status !== 0) {
    const reason = `hyperfine failed (${run.status}): ${`${run.stdout}\n${run.stderr}`.trim().split("\n").slice(-6).join("\n")}`;
    log(`  FAILED ${reason}`);
    rmSync(dir, { recursive: true, force: true });
    return entries.map((e, i) => ({
      id: e.id,
      label: e.label,
      command: commands[i] as string,
      ok: false,
      reason,
    }));
  }
  const json = JSON.parse(readFileSync(out, "utf8")) as HyperfineJson;
  rmSync(dir, { recursive: true, force: true });
  return entries.map((entry, i) => {
    const r = json.results[i];
    if (!r)
      return {
        id: entry.id,
        label: entry.label,
        command: commands[i] as string,
        ok: false,
        reason: "no result",
      };
    const result: StartupResult = {
      id: entry.id,
      label: entry.label,
      command: commands[i] as string,
      ok: true,
      medianMs: r.median * 1000,
      meanMs: r.mean * 1000,
      stddevMs: r.stddev * 1000,
      minMs: r.min * 1000,
      maxMs: r.max * 1000,
    };
    log(
      `  ${entry.label.padEnd(40)} median ${result.medianMs?.toFixed(1)} ms (± ${result.stddevMs?.toFixed(1)})`,
    );
    return result;
  });
}
