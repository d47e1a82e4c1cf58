/**
 * A/B of start-up: exec to first 200 of two commands, alternated (A B, then B A, ...), and the median
 * of the per-pair differences. hyperfine runs each command's runs back to back, so a slow phase of
 * this shared machine lands on one side; here it lands on both sides of a pair, and a difference of
 * 2 ms in ~95 ms shows where hyperfine's means (σ 4-9 ms) could not tell.
 *
 *   bun scripts/bench/startup-ab.ts [--pairs N] CMD_A CMD_B
 *
 * Each CMD as in ab.ts: one shell-style string (split on spaces; `env NAME=value ...` for a
 * variable), `$PORT` replaced. It runs under bench/startup.sh, which gives it PORT and HOST, polls
 * GET / until it answers 200, and kills it; the time includes that script's start, the same for both.
 * Example, the old tree against the new:
 *   bun scripts/bench/startup-ab.ts --pairs 40 \
 *     'bun /tmp/base/src/cli.ts bench/apps/hello.ts --no-access-log --port $PORT' \
 *     'bun src/cli.ts bench/apps/hello.ts --no-access-log --port $PORT'
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { commandArgv, freePort } from "./proc.ts";
import { median } from "./throughput.ts";

const STARTUP = join(import.meta.dir, "..", "..", "bench", "startup.sh");

export interface StartupComparison {
  medianA: number;
  medianB: number;
  /** Median of B - A over the pairs: negative when B starts sooner. */
  medianDifference: number;
  /** Pairs in which B started sooner. */
  bSooner: number;
  pairs: number;
}

/** `a[i]` and `b[i]` are one pair's times in ms. */
export function compareStarts(a: number[], b: number[]): StartupComparison {
  const differences = a.map((ms, i) => (b[i] as number) - ms);
  return {
    medianA: median(a),
    medianB: median(b),
    medianDifference: median(differences),
    bSooner: differences.filter((d) => d < 0).length,
    pairs: differences.length,
  };
}

/** One start of `cmd` to its first 200, in ms; throws with startup.sh's reason if none came. */
async function timeStart(cmd: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const run = spawnSync("bash", [STARTUP, String(port), ...commandArgv(cmd, port)], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${cmd}: no 200 (${run.stderr.trim() || `exit ${run.status}`})`);
  return ms;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { pairs: { type: "string", default: "20" } },
  });
  const pairs = Number(values.pairs);
  const [cmdA, cmdB] = positionals;
  if (positionals.length !== 2 || !cmdA || !cmdB || !(pairs >= 1)) {
    console.error("usage: bun scripts/bench/startup-ab.ts [--pairs N] CMD_A CMD_B");
    return 2;
  }
  const a: number[] = [];
  const b: number[] = [];
  try {
    // One start of each first, not counted: the runtime's own caches (compile cache, page cache).
    await timeStart(cmdA);
    await timeStart(cmdB);
    for (let i = 0; i < pairs; i++) {
      if (i % 2 === 0) {
        a.push(await timeStart(cmdA));
        b.push(await timeStart(cmdB));
      } else {
        b.push(await timeStart(cmdB));
        a.push(await timeStart(cmdA));
      }
    }
  } catch (error) {
    console.error(`startup-ab: ${(error as Error).message}`);
    return 1;
  }
  const result = compareStarts(a, b);
  console.log(`A ${result.medianA.toFixed(1)} ms  ${cmdA}`);
  console.log(`B ${result.medianB.toFixed(1)} ms  ${cmdB}`);
  console.log(
    `B - A: ${result.medianDifference >= 0 ? "+" : ""}${result.medianDifference.toFixed(1)} ms (median of ${result.pairs} pairs; B sooner in ${result.bSooner})`,
  );
  return 0;
}

if (import.meta.main) process.exit(await main());
