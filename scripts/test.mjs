// `npm test`: Bun's test runner over test/, its files spread over one more worker process than this
// machine has cores. Most of a test's time is spent waiting for servers to start, answer and stop,
// so one process per core leaves the cores idle much of the time: on 2 cores the suite kept them
// 112% busy (of 200%) with 2 processes and took 486 s; 3 processes 145-150% busy, 379-396 s
// (2026-12-05, `/usr/bin/time -v`, three runs, 0 failures in each). With 4 processes (350 s) one
// timing-bound test failed, so the count stays one above the cores.
// Arguments after `npm test --` reach `bun test` (file filters, -t, --update-timings).
import { availableParallelism } from "node:os";
import { runBun } from "./tools.mjs";

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
process.exit(runBun(args, "npm test"));
