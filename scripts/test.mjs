// `npm test`: Bun's test runner over test/, its files spread over one more worker process than this
// machine has cores. Most of a test's time is spent waiting for servers to start, answer and stop,
// so one process per core leaves the cores idle much of the time: on 2 cores the suite kept them
// 112% busy (of 200%) with 2 processes and took 486 s; 3 processes 145-150% busy, 379-396 s
// (2026-12-05, `/usr/bin/time -v`, three runs, 0 failures in each). With 4 processes (350 s) one
// timing-bound test failed, so the count stays one above the cores.
// Arguments after `npm test --` reach `bun test` (file filters, -t, --update-timings).
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { bun, ROOT } from "./tools.mjs";

const args = [
  "test",
  // The per-test default: tests start real servers on three runtimes (bunfig.toml says why here).
  "--timeout",
  "20000",
  `--parallel=${availableParallelism() + 1}`,
  // Each file's duration from an earlier run: every worker starts with the slowest file left.
  "--timings=test/timings.json",
  ...process.argv.slice(2),
];
const run = spawnSync(bun(), args, { cwd: ROOT, stdio: "inherit" });
if (run.error) {
  console.error(`npm test: could not run ${bun()}: ${run.error.message}`);
  process.exit(1);
}
// Stopped by a signal (Ctrl-C reaches the whole process group): end the same way.
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? 1);
