/**
 * scripts/bench/startup-ab.ts: the pairing arithmetic, and the tool run for real on two quick
 * servers (Bun.serve, twice) and on a command that never answers.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { compareStarts } from "../scripts/bench/startup-ab.ts";
import { bun, ROOT } from "../scripts/tools.mjs";

const TOOL = join(ROOT, "scripts/bench/startup-ab.ts");

test("the difference is the median of the pairs' differences, not of the medians", () => {
  // B was 2 ms sooner in every pair but one that fell in a slow phase of the machine (+10).
  const result = compareStarts([90, 100, 110, 150], [88, 98, 108, 160]);
  expect(result).toEqual({ medianA: 105, medianB: 103, medianDifference: -2, bSooner: 3, pairs: 4 });
});

test("times two commands started in turn and prints the medians and the difference", () => {
  const serve = `bun ${join(ROOT, "bench/raw/bun-serve.ts")}`;
  const run = spawnSync(bun(), [TOOL, "--pairs", "2", serve, serve], { cwd: ROOT, encoding: "utf8" });
  expect(run.status).toBe(0);
  const lines = run.stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^A \d+\.\d ms {2}bun .*bun-serve\.ts$/);
  expect(lines[1]).toMatch(/^B \d+\.\d ms {2}bun .*bun-serve\.ts$/);
  expect(lines[2]).toMatch(/^B - A: [+-]\d+\.\d ms \(median of 2 pairs; B sooner in [012]\)$/);
}, 20_000);

test("a command that exits without answering fails the run with startup.sh's reason", () => {
  const run = spawnSync(bun(), [TOOL, "--pairs", "1", "bun -e process.exit(3)", "bun -e 1"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(
    "startup-ab: bun -e process.exit(3): no 200 (startup.sh: server exited before answering 200",
  );
}, 20_000);
