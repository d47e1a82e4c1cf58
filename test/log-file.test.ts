/**
 * tsuv with its output redirected to a regular file (`tsuv ... > server.log 2>&1`), on every runtime,
 * one worker and two of each class: every access line lands in the file once, whole, beside the
 * start-up and shutdown lines. On Node the lines go to the fd through nodeFileWriter
 * (src/runtime/node-output.ts), thread workers' included, so that a full disk does not stop the log
 * for good; what it does then is tested on the writer itself (test/node-output.test.ts) and was
 * checked by hand on a full tmpfs (docs/reliability.md, case 13).
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { freePort, getBody, ROOT, RUNTIMES, tsuvCommand } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/main.ts";
const SETUPS = [
  { label: "one worker", args: [], servers: 1 },
  { label: "two process workers", args: ["--workers", "2", "--worker-class", "process"], servers: 2 },
  { label: "two thread workers", args: ["--workers", "2", "--worker-class", "thread"], servers: 2 },
];
const REQUESTS = 6;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

for (const runtime of RUNTIMES) {
  for (const setup of SETUPS) {
    test(`${runtime}, ${setup.label}: every line lands in the log file once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-log-file-"));
      const logPath = join(dir, "server.log");
      const fd = openSync(logPath, "w");
      const port = await freePort();
      const server = spawn([...tsuvCommand(runtime), APP, "--port", String(port), ...setup.args], {
        cwd: ROOT,
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
        env: { ...process.env, NO_COLOR: "1" },
      });
      closeSync(fd);
      cleanups.push(() => {
        server.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      });
      const base = `http://127.0.0.1:${port}`;
      const deadline = performance.now() + 20_000;
      while ((await getBody(base, "/ready", 1000)) === null && performance.now() < deadline)
        await Bun.sleep(100);
      const answered: (string | null)[] = [];
      for (let i = 0; i < REQUESTS; i++) answered.push(await getBody(base, `/?line=${i}`));
      server.kill("SIGTERM");
      const code = await Promise.race([server.exited, Bun.sleep(15_000).then(() => "still running")]);
      const log = readFileSync(logPath, "utf8");
      const lines = log.split("\n");
      const accessLines = (i: number) =>
        lines.filter((line) => line.includes(`"GET /?line=${i} HTTP/1.1" 200`));
      expect({
        code,
        answered: answered.every((body) => body !== null),
        eachOnce: Array.from({ length: REQUESTS }, (_, i) => accessLines(i).length),
        whole: lines.every((line) => line === "" || /^(INFO|WARNING|ERROR|DEBUG|TRACE|CRITICAL):/.test(line)),
        started: lines.filter((line) => line.includes("Started server process")).length,
        finished: lines.filter((line) => line.includes("Finished server process")).length,
      }).toEqual({
        code: 0,
        answered: true,
        eachOnce: Array(REQUESTS).fill(1),
        whole: true,
        started: setup.servers,
        finished: setup.servers,
      });
    }, 40_000);
  }
}
