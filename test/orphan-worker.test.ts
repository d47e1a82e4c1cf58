/**
 * A process worker whose supervisor is gone before the worker has wired its orphan check (a
 * supervisor killed while it starts a replacement) stops by itself. It stayed up for good, serving
 * on the inherited socket: 'disconnect' had been emitted before its listener, and the parent pid it
 * compared with was already init's. Found as a worker left running after a test run.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { node20, node24, ROOT } from "../scripts/tools.mjs";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const [label, node] of [
  ["node20", node20()],
  ["node24", node24()],
] as const) {
  test(`${label}: a process worker whose supervisor died while it started exits by itself`, async () => {
    const parent = spawnSync(
      node,
      [
        join(ROOT, "test", "fixtures", "orphan", "spawn-and-exit.cjs"),
        join(ROOT, "dist", "cli.mjs"),
        `${join(ROOT, "examples", "hello.ts")}:app`,
      ],
      { encoding: "utf8" },
    );
    const pid = Number(parent.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    try {
      const deadline = Date.now() + 8000;
      while (alive(pid) && Date.now() < deadline) await Bun.sleep(50);
      expect(alive(pid)).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
}
