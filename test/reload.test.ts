/**
 * --reload for real, on Node (the bundle), Bun and Deno: a temp project is served with --reload, and
 * the test edits its files. One reloader per runtime walks through the scenarios in order (a broken
 * app at start-up, an edit, a burst, excluded paths, a broken edit and its fix, SIGTERM), counting
 * the reloader's log lines; a second one checks that the child exits when the reloader is killed.
 * Then, per runtime (Node 20 and 24 too), what a restart does to requests: none fails (Node: the
 * kernel backlog of the shared socket; Bun, Deno: the reloader's proxy holds them), a request 1 s
 * after a save gets the new code without retrying, requests made while the code is broken are
 * served once it is fixed, and SIGTERM in the middle of a restart leaves no process.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  killAll,
  processAlive,
  type RunningTsuv,
  type RuntimeKey,
  runTsuv,
  startTsuv,
} from "./helpers/tsuv.ts";

const RUNTIMES: RuntimeKey[] = ["node20", "bun", "deno"];
const dirs: string[] = [];
const pids: number[] = [];

afterEach(async () => {
  await killAll();
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const app = (version: string) =>
  `import { message } from "./lib/message.ts";\nexport default { fetch: () => new Response(message("${version}")) };\n`;

function project(appSource: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-reload-"));
  dirs.push(dir);
  mkdirSync(join(dir, "lib"));
  mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
  writeFileSync(join(dir, "lib", "message.ts"), `export const message = (v: string) => \`hello \${v}\`;\n`);
  writeFileSync(join(dir, "node_modules", "dep", "index.js"), "module.exports = 1;\n");
  writeFileSync(join(dir, "app.ts"), appSource);
  return dir;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function count(t: RunningTsuv, pattern: RegExp): number {
  return (t.stdout() + t.stderr()).match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

async function untilCount(t: RunningTsuv, pattern: RegExp, n: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count(t, pattern) < n) {
    if (Date.now() > deadline) {
      throw new Error(`expected ${n} x ${pattern}\n--- stdout\n${t.stdout()}\n--- stderr\n${t.stderr()}`);
    }
    if (t.proc.exitCode !== null)
      throw new Error(`tsuv exited (${t.proc.exitCode})\n${t.stdout()}\n${t.stderr()}`);
    await sleep(20);
  }
}

const SERVER_STARTED = /Started server process \[(\d+)\]/;
const CHANGES = /Changes detected in '[^\n]*'\. Reloading\.\.\./;

function lastChildPid(t: RunningTsuv): number {
  const all = [...(t.stdout() + t.stderr()).matchAll(new RegExp(SERVER_STARTED.source, "g"))];
  return Number(all.at(-1)?.[1]);
}

/**
 * GET, retrying while the port refuses connections. On Node the reloader holds the socket, so a
 * request made during a restart waits in the backlog; on Bun and Deno each child binds the port
 * after the old one exited. On a loaded machine (CI, 2 cores) a new child may need longer than the
 * second the test waits after a save (measured here under load: 1-5 s), so the wait is generous and
 * what is asserted is the body: the new code, never the old.
 */
async function get(url: string, budgetMs = 20_000): Promise<string> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(budgetMs) });
      return await response.text();
    } catch (error) {
      if (Date.now() > deadline || !/ECONNREFUSED|ConnectionRefused|Unable to connect/i.test(String(error))) {
        throw error;
      }
      await sleep(50);
    }
  }
}

for (const runtime of RUNTIMES) {
  describe(`--reload on ${runtime}`, () => {
    test("start broken, fix, edit, burst, excluded paths, broken edit and fix, SIGTERM", async () => {
      const dir = project("export default {;\n");
      const t = await startTsuv(runtime, ["app.ts", "--reload", "--port", "0", "--no-access-log"], {
        cwd: dir,
      });
      const url = `${t.url}/`;
      expect(t.stdout() + t.stderr()).toContain(`Will watch for changes in these directories: ['${dir}']`);
      await t.waitFor(/Started reloader process \[\d+\] using (chokidar|fs\.watch)/);

      // A broken app at start-up: reported, and the reloader waits.
      await untilCount(t, /failed to start \(exit code 3\)\. Waiting for changes to reload/, 1);
      expect(t.proc.exitCode).toBeNull();
      writeFileSync(join(dir, "app.ts"), app("v1"));
      await untilCount(t, SERVER_STARTED, 2);
      await untilCount(t, CHANGES, 1);
      await sleep(1000);
      expect(await get(url)).toBe("hello v1");

      // An edit in a nested module: a request 1 s after the save gets the new code.
      writeFileSync(join(dir, "lib", "message.ts"), `export const message = (v: string) => \`hi \${v}\`;\n`);
      await sleep(1000);
      expect(await get(url)).toBe("hi v1");
      expect(t.stdout() + t.stderr()).toContain("Changes detected in 'lib/message.ts'. Reloading...");
      expect(count(t, CHANGES)).toBe(2);

      // A burst of saves: one restart.
      const startsBefore = count(t, SERVER_STARTED);
      for (let i = 2; i <= 6; i++) {
        writeFileSync(join(dir, "app.ts"), app(`v${i}`));
        await sleep(30);
      }
      await sleep(1000);
      expect(await get(url)).toBe("hi v6");
      await sleep(500);
      expect(count(t, CHANGES)).toBe(3);
      expect(count(t, SERVER_STARTED)).toBe(startsBefore + 1);

      // Excluded paths and files that are not included: nothing happens.
      writeFileSync(join(dir, "node_modules", "dep", "index.js"), "module.exports = 2;\n");
      writeFileSync(join(dir, ".hidden.ts"), "export {};\n");
      mkdirSync(join(dir, "dist"));
      writeFileSync(join(dir, "dist", "out.js"), "export {};\n");
      writeFileSync(join(dir, "notes.md"), "# notes\n");
      await sleep(800);
      expect(count(t, CHANGES)).toBe(3);

      // A broken edit: the error is reported, the reloader stays up; the fix is served.
      writeFileSync(join(dir, "app.ts"), "export default {;\n");
      await untilCount(t, /failed to start \(exit code 3\)\. Waiting for changes to reload/, 2);
      expect(t.proc.exitCode).toBeNull();
      writeFileSync(join(dir, "app.ts"), app("v7"));
      await sleep(1000);
      expect(await get(url)).toBe("hi v7");

      // SIGTERM: the child and then the reloader stop; no process is left.
      const child = lastChildPid(t);
      expect(processAlive(child)).toBe(true);
      t.signal("SIGTERM");
      expect(await t.exited).toBe(0);
      expect(t.stdout() + t.stderr()).toContain(`Stopping reloader process [${t.pid}]`);
      expect(processAlive(child)).toBe(false);
    }, 90_000);

    test("the child exits by itself when the reloader is killed", async () => {
      const dir = project(app("v1"));
      const t = await startTsuv(runtime, ["app.ts", "--reload", "--port", "0"], { cwd: dir });
      await untilCount(t, SERVER_STARTED, 1);
      const child = lastChildPid(t);
      pids.push(child);
      expect(await get(`${t.url}/`)).toBe("hello v1");
      await t.kill();
      const deadline = Date.now() + 8000;
      while (processAlive(child) && Date.now() < deadline) await sleep(50);
      expect(processAlive(child)).toBe(false);
    }, 30_000);

    test("symlinks: a loop is watched once; a linked directory outside the tree reloads", async () => {
      const dir = project(app("v1"));
      symlinkSync(".", join(dir, "self"));
      symlinkSync("..", join(dir, "lib", "up"));
      symlinkSync("/nonexistent/tsuv", join(dir, "dangling"));
      const outside = mkdtempSync(join(tmpdir(), "tsuv-reload-linked-"));
      dirs.push(outside);
      symlinkSync(outside, join(dir, "linked"));
      // chokidar (Node) follows the link by itself; Bun's and Deno's fs.watch are told to watch it
      // (before, a --reload-dir that was a symlink in the tree was dropped as nested in it, and on
      // Deno its changes, named from the linked directory, were ignored).
      const linked = runtime.startsWith("node") ? [] : ["--reload-dir", ".", "--reload-dir", "linked"];
      const args = ["app.ts", "--reload", ...linked, "--port", "0", "--no-access-log"];
      const t = await startTsuv(runtime, args, { cwd: dir });
      await untilCount(t, SERVER_STARTED, 1);
      expect(await get(`${t.url}/`)).toBe("hello v1");
      writeFileSync(join(dir, "lib", "message.ts"), `export const message = (v: string) => \`hi \${v}\`;\n`);
      await untilCount(t, CHANGES, 1);
      // Before, Node listed the file under every path the loop made ('self/lib/message.ts',
      // 'self/self/lib/message.ts', 'lib/up/lib/message.ts', ...): a 100 KB line for one save.
      expect((t.stdout() + t.stderr()).match(new RegExp(CHANGES.source, "g"))).toEqual([
        "Changes detected in 'lib/message.ts'. Reloading...",
      ]);
      await untilCount(t, SERVER_STARTED, 2);
      expect(await get(`${t.url}/`)).toBe("hi v1");
      writeFileSync(join(outside, "x.ts"), "export {};\n");
      await untilCount(t, CHANGES, 2);
      expect(t.stdout() + t.stderr()).toContain("Changes detected in 'linked/x.ts'. Reloading...");
    }, 30_000);

    test("a --reload-dir removed and made again (rm -rf, then regenerated) is watched again", async () => {
      const dir = project(app("v1"));
      const t = await startTsuv(runtime, ["app.ts", "--reload", "--reload-dir", "lib", "--port", "0"], {
        cwd: dir,
      });
      await untilCount(t, SERVER_STARTED, 1);
      expect(await get(`${t.url}/`)).toBe("hello v1");
      rmSync(join(dir, "lib"), { recursive: true });
      await sleep(800);
      mkdirSync(join(dir, "lib"));
      writeFileSync(
        join(dir, "lib", "message.ts"),
        `export const message = (v: string) => \`back \${v}\`;\n`,
      );
      // Before, every runtime's watch died with the old directory: this waited forever.
      await untilCount(t, /Changes detected in 'lib'\. Reloading\.\.\./, 1);
      // The old child may still answer while it stops (CI, node20: "hello v1" right after the line),
      // and the removal alone may have been the change seen: the new code within the deadline.
      expect(await getUntil(`${t.url}/`, "back v1")).toBe("back v1");
      // And an edit after that is seen too.
      const changes = count(t, CHANGES);
      writeFileSync(
        join(dir, "lib", "message.ts"),
        `export const message = (v: string) => \`again \${v}\`;\n`,
      );
      await untilCount(t, CHANGES, changes + 1);
      expect(await getUntil(`${t.url}/`, "again v1")).toBe("again v1");
    }, 40_000);

    test("a missing --reload-dir exits 1 naming the path", async () => {
      const dir = project(app("v1"));
      const result = await runTsuv(runtime, ["app.ts", "--reload", "--reload-dir", "nope"], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`--reload-dir: directory does not exist: ${join(dir, "nope")}`);
    }, 20_000);
  });
}

/** GET until the body is `expected` (a restart under way) or the deadline passes: the last body. */
async function getUntil(url: string, expected: string, budgetMs = 15_000): Promise<string> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const body = await get(url);
    if (body === expected || Date.now() > deadline) return body;
    await sleep(100);
  }
}

/**
 * One GET on a fresh connection (to a port, or a unix socket path), no retry: the body, or the
 * error's text prefixed with "ERROR ".
 */
function once(to: number | string, timeoutMs = 30_000, agent: Agent | false = false): Promise<string> {
  const where = typeof to === "number" ? { host: "127.0.0.1", port: to } : { socketPath: to };
  return new Promise((resolve) => {
    const req = request({ ...where, path: "/", agent, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 ? body : `ERROR status ${res.statusCode}: ${body}`));
      res.on("error", (error) => resolve(`ERROR ${error.message}`));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve(`ERROR ${error.message}`));
    req.end();
  });
}

/** Processes whose working directory is `dir` (a reloader or child started there). */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir && processAlive(Number(entry)))
        found.push(Number(entry));
    } catch {}
  }
  return found;
}

const RESTART_RUNTIMES: RuntimeKey[] = ["node20", "node24", "bun", "deno"];

for (const runtime of RESTART_RUNTIMES) {
  describe(`--reload restarts on ${runtime}`, () => {
    async function serve(source = app("v1")): Promise<{ dir: string; t: RunningTsuv }> {
      const dir = project(source);
      const t = await startTsuv(runtime, ["app.ts", "--reload", "--port", "0", "--no-access-log"], {
        cwd: dir,
      });
      return { dir, t };
    }

    for (const keepAlive of [false, true]) {
      const how = keepAlive ? "on a keep-alive connection" : "each on a fresh connection";
      test(`a request every 20 ms across a save, ${how}: none fails, and the body switches from old to new once`, async () => {
        const { dir, t } = await serve();
        await untilCount(t, SERVER_STARTED, 1);
        const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
        try {
          expect(await once(t.port, 30_000, agent)).toBe("hello v1");
          const bodies: string[] = [];
          let newSince = 0;
          const client = (async () => {
            // Until the new code has been answering for 500 ms (or 30 s at most).
            const deadline = Date.now() + 30_000;
            while (Date.now() < deadline && !(newSince && Date.now() - newSince > 500)) {
              const body = await once(t.port, 30_000, agent);
              bodies.push(body);
              if (body === "hello v2" && !newSince) newSince = Date.now();
              await sleep(20);
            }
          })();
          await sleep(300);
          writeFileSync(join(dir, "app.ts"), app("v2"));
          await client;
          expect(bodies.filter((body) => body.startsWith("ERROR"))).toEqual([]);
          const firstNew = bodies.indexOf("hello v2");
          expect(firstNew).toBeGreaterThan(0);
          expect(bodies.slice(0, firstNew).every((body) => body === "hello v1")).toBe(true);
          expect(bodies.slice(firstNew).every((body) => body === "hello v2")).toBe(true);
          expect(count(t, SERVER_STARTED)).toBe(2);
        } finally {
          if (agent) agent.destroy();
        }
      }, 60_000);
    }

    test("a request sent 1 s after the save, without retrying, gets the new code", async () => {
      const { dir, t } = await serve();
      await untilCount(t, SERVER_STARTED, 1);
      expect(await once(t.port)).toBe("hello v1");
      writeFileSync(join(dir, "app.ts"), app("v2"));
      await sleep(1000);
      expect(await once(t.port)).toBe("hello v2");
    }, 60_000);

    test("requests made while the code is broken are served once it is fixed", async () => {
      const { dir, t } = await serve();
      await untilCount(t, SERVER_STARTED, 1);
      expect(await once(t.port)).toBe("hello v1");
      writeFileSync(join(dir, "app.ts"), "export default {;\n");
      await untilCount(t, /failed to start \(exit code 3\)\. Waiting for changes to reload/, 1);
      let answeredAt = 0;
      const waiting = [once(t.port), once(t.port)].map((p) =>
        p.then((body) => {
          answeredAt ||= Date.now();
          return body;
        }),
      );
      await sleep(700);
      expect(answeredAt).toBe(0);
      const fixedAt = Date.now();
      writeFileSync(join(dir, "app.ts"), app("v3"));
      expect(await Promise.all(waiting)).toEqual(["hello v3", "hello v3"]);
      expect(answeredAt).toBeGreaterThanOrEqual(fixedAt);
      expect(await once(t.port)).toBe("hello v3");
    }, 60_000);

    for (const delayMs of [0, 150]) {
      test(`SIGTERM ${delayMs} ms into a restart leaves no process, and no request hangs`, async () => {
        const { dir, t } = await serve();
        await untilCount(t, SERVER_STARTED, 1);
        const first = lastChildPid(t);
        // (On Node the child also runs an esbuild service process for TypeScript, there too.)
        expect(processesIn(dir)).toContain(first);
        writeFileSync(join(dir, "app.ts"), app("v2"));
        await untilCount(t, CHANGES, 1);
        const inFlight = once(t.port, 15_000);
        await sleep(delayMs);
        t.signal("SIGTERM");
        expect(await t.exited).toBe(0);
        // Answered (by either child) or cut, but settled, and nothing left running.
        const settled = await Promise.race([inFlight, sleep(5000).then(() => "HUNG")]);
        expect(settled).not.toBe("HUNG");
        expect(processAlive(first)).toBe(false);
        // Helpers of a child (esbuild) go when their parent has gone: give them a moment.
        const deadline = Date.now() + 3000;
        while (processesIn(dir).length && Date.now() < deadline) await sleep(50);
        expect(processesIn(dir)).toEqual([]);
      }, 60_000);
    }

    if (runtime === "bun" || runtime === "deno") {
      test("--uds: the reloader listens on the socket file; a request 1 s after a save gets the new code", async () => {
        const dir = project(app("v1"));
        const path = join(dir, "tsuv.sock");
        const t = await startTsuv(runtime, ["app.ts", "--reload", "--uds", path, "--no-access-log"], {
          cwd: dir,
        });
        await untilCount(t, SERVER_STARTED, 1);
        expect(await once(path)).toBe("hello v1");
        writeFileSync(join(dir, "app.ts"), app("v2"));
        await sleep(1000);
        expect(await once(path)).toBe("hello v2");
        t.signal("SIGTERM");
        expect(await t.exited).toBe(0);
        expect(existsSync(path)).toBe(false);
      }, 60_000);
    }
  });
}
