/**
 * The benchmark's idle section (scripts/bench/idle.ts): its /proc arithmetic on fixed input, its
 * sampling of real processes (one that spins shows CPU and wake-ups, one that sleeps shows none),
 * its report table, and one real window over Bun's contenders, so the section cannot rot.
 */
import { afterEach, expect, test } from "bun:test";
import {
  idleContenders,
  measureIdle,
  renderIdleMarkdown,
  schedDelta,
  type TreeSched,
  treeSched,
} from "../scripts/bench/idle.ts";
import { launch, type Running, sleep } from "../scripts/bench/proc.ts";
import { bun } from "../scripts/tools.mjs";

const started: Running[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

test("a window counts the threads alive at its end, from the first sample or from their birth", () => {
  const start: TreeSched = new Map([
    ["10/10", { cpuNs: 1_000_000, wakeups: 5 }],
    ["10/11", { cpuNs: 9_000_000, wakeups: 50 }], // ends during the window: its counters went with it
  ]);
  const end: TreeSched = new Map([
    ["10/10", { cpuNs: 4_000_000, wakeups: 8 }],
    ["12/12", { cpuNs: 2_000_000, wakeups: 1 }], // born during the window: all of it is the window's
  ]);
  expect(schedDelta(start, end)).toEqual({ cpuNs: 5_000_000, wakeups: 4 });
});

test("a process that works shows CPU and wake-ups; one that sleeps shows neither", async () => {
  // Every 10 ms: ~2 ms of work, then a sleep, so it blocks and is woken ~100 times a second.
  const busy = launch(
    {
      cmd: [
        bun(),
        "-e",
        "setInterval(() => { const end = performance.now() + 2; while (performance.now() < end); }, 10)",
      ],
    },
    0,
  );
  const quiet = launch({ cmd: ["sleep", "30"] }, 0);
  started.push(busy, quiet);
  await sleep(300);
  const before = [treeSched(busy.pid), treeSched(quiet.pid)];
  await sleep(1000);
  const [busyDelta, quietDelta] = [
    schedDelta(before[0] as TreeSched, treeSched(busy.pid)),
    schedDelta(before[1] as TreeSched, treeSched(quiet.pid)),
  ];
  expect(busyDelta.cpuNs).toBeGreaterThan(50_000_000);
  expect(busyDelta.wakeups).toBeGreaterThan(20);
  expect(quietDelta).toEqual({ cpuNs: 0, wakeups: 0 });
  expect(treeSched(quiet.pid).size).toBe(1);
});

test("the report's table: one row per server, a failure said in its row", () => {
  const lines = renderIdleMarkdown({
    windowS: 30,
    settleS: 20,
    results: [
      {
        runtime: "bun",
        id: "bun-serve",
        label: "Bun.serve",
        tsuv: false,
        workers: 1,
        command: "bun bench/raw/bun-serve.ts",
        ok: true,
        cpuMsPerMinute: 6.84,
        wakeupsPerSecond: 0.93,
        threads: 2,
      },
      {
        runtime: "node24",
        id: "tsuv-node24-w2-process",
        label: "tsuv on Node 24 --workers 2 (process)",
        tsuv: true,
        workers: 2,
        command: "node dist/cli.mjs",
        ok: false,
        reason: "not serving after 20000 ms",
      },
    ],
  }).join("\n");
  expect(lines).toContain("rested 20 s");
  expect(lines).toContain("idled together for 30 s");
  expect(lines).toContain("| Bun | Bun.serve | 1 | 6.8 | 0.9 | 2 |");
  expect(lines).toContain(
    "| Node 24 | tsuv on Node 24 --workers 2 (process) | 2 | failed: not serving after 20000 ms | | |",
  );
});

test("one real idle window over Bun's servers: every one serves, and each is measured", async () => {
  const run = await measureIdle(["bun"], { windowS: 1, settleS: 0.5, log: () => {} });
  expect(run.results.map((r) => r.id)).toEqual(idleContenders("bun").map((c) => c.id));
  for (const result of run.results) {
    expect(result.reason).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.cpuMsPerMinute).toBeGreaterThanOrEqual(0);
    expect(result.wakeupsPerSecond).toBeGreaterThanOrEqual(0);
  }
  const threads = (id: string) => run.results.find((r) => r.id === id)?.threads ?? 0;
  // Two process workers and their supervisor are three processes' threads; Bun.serve is one's.
  expect(threads("tsuv-bun-w2-process")).toBeGreaterThan(threads("bun-serve"));
}, 60_000);
