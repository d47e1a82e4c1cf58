/**
 * A process worker whose supervisor is gone before the worker has wired its orphan check (a
 * supervisor killed while it starts a replacement) stops by itself. It stayed up for good, serving
 * on the inherited socket: 'disconnect' had been emitted before its listener, and the parent pid it
 * compared with was already init's. Found as a worker left running after a test run. Without the
 * fix, Node 20's worker stayed up every time and Deno's in one run of six (Node 24's and Bun's
 * exited: they read the channel's end later).
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { node20, ROOT } from "../scripts/tools.mjs";
import { processAlive, RUNTIMES, tsuvCommand } from "./helpers/tsuv.ts";

// The parent is Node 20 whatever the worker's runtime: the IPC channel's protocol is the same.
for (const runtime of RUNTIMES) {
  test(`${runtime}: a process worker whose supervisor died while it started exits by itself`, async () => {
    const parent = spawnSync(
      node20(),
      [
        join(ROOT, "test", "fixtures", "orphan", "spawn-and-exit.cjs"),
        `${join(ROOT, "examples", "hello.ts")}:app`,
        ...tsuvCommand(runtime),
      ],
      { encoding: "utf8" },
    );
    const pid = Number(parent.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    try {
      const deadline = Date.now() + 8000;
      while (processAlive(pid) && Date.now() < deadline) await Bun.sleep(50);
      expect(processAlive(pid)).toBe(false);
    } finally {
      if (processAlive(pid)) process.kill(pid, "SIGKILL");
    }
    // Above the 8 s wait, so a worker that stays up fails the assertion and is killed here.
  }, 15_000);
}
