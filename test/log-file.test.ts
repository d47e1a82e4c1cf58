/**
 * tsuv with its output redirected to a regular file (`tsuv ... > server.log 2>&1`), on every runtime,
 * one worker and two of each class: every access line lands in the file once, whole, beside the
 * start-up and shutdown lines. On Node the lines go to the fd through nodeFileWriter
 * (src/runtime/node-output.ts), thread workers' included, so that a full disk does not stop the log
 * for good; what it does then is tested on the writer itself (test/node-output.test.ts) and was
 * checked by hand on a full tmpfs (docs/reliability.md, case 13).
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "bun";
import { freePort, getBody, ROOT, RUNTIMES, tsuvCommand, waitIdentities } from "./helpers/tsuv.ts";

/** Each answer names its worker: the test waits until every worker serves. */
const APP = "test/fixtures/apps/workers.ts:app";
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

/**
 * Start `command(port)` with stdout and stderr both to a new file, as `> server.log 2>&1` does, and
 * wait until `readyPath` answers. Killed and removed after the test.
 */
async function startLoggingToFile(command: (port: number) => string[], readyPath: string) {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-log-file-"));
  const logPath = join(dir, "server.log");
  const fd = openSync(logPath, "w");
  const port = await freePort();
  const server = spawn(command(port), {
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
  while ((await getBody(base, readyPath, 1000)) === null && performance.now() < deadline)
    await Bun.sleep(100);
  return { server, logPath, base };
}

for (const runtime of RUNTIMES) {
  for (const setup of SETUPS) {
    test(`${runtime}, ${setup.label}: every line lands in the log file once`, async () => {
      const { server, logPath, base } = await startLoggingToFile(
        (port) => [...tsuvCommand(runtime), APP, "--port", String(port), ...setup.args],
        "/ready",
      );
      // Every worker up before the stop: one still starting would log its lines or not by chance.
      await waitIdentities(base, setup.servers);
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

/**
 * The app's own console.log on Node, to a file that cannot grow (the disk full; here the file-size
 * limit, `ulimit -S -f`, which Node meets with EFBIG where a full disk gives ENOSPC): its lines are
 * dropped meanwhile and counted, and once the file may grow again (the limit raised with prlimit,
 * as freeing space would) the next one is written on a line of its own, followed by a warning with
 * the count. Before, Node's stream dropped them unsaid and glued the next line to the one the limit
 * cut short. Node only: Bun and Deno write the app's output themselves (docs/reliability.md, case 13).
 */
for (const runtime of ["node20", "node24"] as const) {
  for (const setup of SETUPS) {
    test(`${runtime}, ${setup.label}: the app's console output comes back once the file can grow again`, async () => {
      const { server, logPath, base } = await startLoggingToFile(
        (port) => [
          "bash",
          "-c",
          'ulimit -S -f 16 && exec "$@"',
          "bash",
          ...tsuvCommand(runtime),
          "test/fixtures/apps/console-log.ts",
          "--port",
          String(port),
          // The app's lines alone: any warning counts them.
          "--no-access-log",
          ...setup.args,
        ],
        "/say?word=ready",
      );
      // 16 KiB of room: 300 lines of 100 bytes fill it, and the rest cannot be written.
      const filler = await getBody(base, "/fill?lines=300");
      // A thread's output reaches the file through the main thread, a moment later: wait until the
      // file is full, and a little more for the rest of the fill to meet the limit too.
      const full = performance.now() + 5000;
      while (statSync(logPath).size < 16 * 1024 && performance.now() < full) await Bun.sleep(20);
      await Bun.sleep(200);
      for (const pid of [server.pid, ...workerPids(server.pid)]) {
        const raised = spawnSync(["prlimit", "--pid", String(pid), "--fsize=unlimited"]).exitCode === 0;
        // A helper child listed with the workers (Node 20's esbuild service) may have exited on
        // idle since: that one needs no limit raised (a CI run failed here once).
        expect(raised || !existsSync(`/proc/${pid}`)).toBe(true);
      }
      // The worker whose writes failed must write again (process workers each have their own stream).
      const said: string[] = [];
      for (let i = 0; i < 40 && said.length < 3; i++) {
        const pid = await getBody(base, `/say?word=after-${i}`);
        if (pid === filler) said.push(`after-${i}`);
      }
      const until = performance.now() + 5000;
      while (!readFileSync(logPath, "utf8").includes(`app says ${said.at(-1)}`) && performance.now() < until)
        await Bun.sleep(50);
      server.kill("SIGTERM");
      await Promise.race([server.exited, Bun.sleep(15_000)]);
      const lines = readFileSync(logPath, "utf8").split("\n");
      const dropped = lines
        .map((line) =>
          line.match(/^WARNING: {2}Dropped (\d+) log line\(s\): stdout could not be written \(EFBIG/),
        )
        .reduce((sum, match) => sum + Number(match?.[1] ?? 0), 0);
      const outcome = {
        // The fill's answer names the worker that met the limit (null: it did not answer).
        filler: filler !== null,
        said: said.length,
        // Each on a line of its own: not glued to the fill line the limit cut short.
        written: said.filter((word) => lines.includes(`app says ${word}`)),
        // At most ~165 of the 300 fill lines fit: the rest are counted.
        droppedMost: dropped >= 100 && dropped <= 300,
      };
      const expected = { filler: true, said: 3, written: said, droppedMost: true };
      // A failure shows how the log ended (it failed once in a run of four test files at a time).
      if (!Bun.deepEquals(outcome, expected))
        console.error(`${logPath} ends (${lines.length} lines):\n${lines.slice(-12).join("\n")}`);
      expect(outcome).toEqual(expected);
    }, 40_000);
  }
}

/** The process workers of the tsuv with `pid` (its children, from /proc). */
function workerPids(pid: number): number[] {
  const out = spawnSync(["ps", "-o", "pid=", "--ppid", String(pid)]).stdout.toString();
  return out
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
}
