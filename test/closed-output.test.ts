/**
 * tsuv whose log pipe is closed: stdout and stderr go into a FIFO whose only reader exits after one
 * byte (`tsuv ... 2>&1 | head -c 1`, or a log shipper that died), so every later write fails with
 * EPIPE. The server must serve on and stop on SIGTERM with exit 0, its lines dropped, as uvicorn
 * serves on. On every runtime, one worker and two of each class.
 *
 * What this caught (src/runtime/index.ts, src/runtime/plumbing.ts): on Node the EPIPE of a write
 * was an unhandled stream error, logged to the same dead pipe, which failed again: the server spun
 * at 100% CPU, answered nothing and ignored SIGTERM. On Bun with thread workers, a thread's line
 * relayed through the main thread's stderr stream made the process exit 1 at start-up.
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import { freePort, ROOT, RUNTIMES, tsuvCommand } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/main.ts";
const SETUPS = [
  { label: "one worker", args: [] },
  { label: "two process workers", args: ["--workers", "2", "--worker-class", "process"] },
  { label: "two thread workers", args: ["--workers", "2", "--worker-class", "thread"] },
];

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A FIFO whose reader takes one byte and exits; returns the write end for the server's output. */
function pipeThatCloses(): { writeFd: number; reader: Subprocess } {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-closed-output-"));
  const fifo = join(dir, "log");
  expect(spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const reader = spawn(["sh", "-c", 'exec head -c 1 < "$0" > /dev/null', fifo], { stdout: "ignore" });
  // Opening the write end waits for the reader to open the other end.
  const writeFd = openSync(fifo, "w");
  cleanups.push(() => {
    reader.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  return { writeFd, reader };
}

async function status(url: string): Promise<number | string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.text();
    return response.status;
  } catch (error) {
    return (error as Error).name;
  }
}

for (const runtime of RUNTIMES) {
  for (const setup of SETUPS) {
    test(`${runtime}, ${setup.label}: its log pipe closed, it serves on and stops on SIGTERM`, async () => {
      const port = await freePort();
      const { writeFd, reader } = pipeThatCloses();
      const server = spawn(
        [
          ...tsuvCommand(runtime),
          APP,
          "--port",
          String(port),
          "--timeout-graceful-shutdown",
          "1",
          ...setup.args,
        ],
        {
          cwd: ROOT,
          stdin: "ignore",
          stdout: writeFd,
          stderr: writeFd,
          env: { ...process.env, NO_COLOR: "1" },
        },
      );
      closeSync(writeFd);
      cleanups.push(() => server.kill("SIGKILL"));
      // The reader is gone after the first byte of the start-up log: every write after it fails.
      await reader.exited;
      const url = `http://127.0.0.1:${port}/`;
      let first: number | string = "not tried";
      const deadline = performance.now() + 20_000;
      while (performance.now() < deadline && server.exitCode === null) {
        first = await status(url);
        if (first === 200) break;
        await Bun.sleep(100);
      }
      const after: (number | string)[] = [];
      for (let i = 0; i < 5; i++) after.push(await status(url));
      const running = server.exitCode === null;
      server.kill("SIGTERM");
      const code = await Promise.race([server.exited, Bun.sleep(10_000).then(() => "still running")]);
      expect({ first, after, running, code }).toEqual({
        first: 200,
        after: [200, 200, 200, 200, 200],
        running: true,
        code: 0,
      });
    }, 40_000);
  }
}
