// The library API (src/index.ts) as uvicorn.run: the app given as a value (or its factory) is
// served by one server in this process; asking workers or --reload of it is refused in uvicorn's
// words (exit code 1) before anything starts; and run()'s --env-file counts for the options as the
// command line's does; its process workers and --reload children run tsuv, not the caller's script
// again (which made supervisors without end). On Node 20 and 24 and Deno (dist/index.mjs, what npm gives them) and Bun
// (src/index.ts, its export condition), from the checkout: test/ship.test.ts runs the import-string
// form from the installed package.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bun, deno, node20, pinnedNode } from "../scripts/tools.mjs";
import { killAllStarted, type Running, start, tsuvUrl } from "./helpers/spawn.ts";
import { ROOT } from "./helpers/tsuv.ts";

const DIR = mkdtempSync(join(tmpdir(), "tsuv-library-"));
afterEach(killAllStarted);
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const ENTRIES = {
  node: new URL(`file://${join(ROOT, "dist", "index.mjs")}`).href,
  source: new URL(`file://${join(ROOT, "src", "index.ts")}`).href,
};

const RUNTIMES = [
  { name: "node20", cmd: [node20()], entry: ENTRIES.node },
  { name: "node24", cmd: [pinnedNode(24)], entry: ENTRIES.node },
  { name: "bun", cmd: [bun()], entry: ENTRIES.source },
  // What `import { run } from "npm:tsuv"` gives Deno. --unstable-net: process workers (reusePort),
  // as docs/deployment.md's library section says.
  { name: "deno", cmd: [deno(), "run", "-A", "--unstable-net"], entry: ENTRIES.node },
] as const;

/** A script that serves `app` (JavaScript source) with `call` (the run(...) call), and says how it ended. */
function script(entry: string, call: string): string {
  const path = join(DIR, `main-${Bun.hash(entry + call).toString(16)}.mjs`);
  writeFileSync(
    path,
    `import { run, TsuvError } from ${JSON.stringify(entry)};
const app = { fetch: (request) => new Response("given " + new URL(request.url).pathname) };
try {
  console.log("exit " + (await ${call}));
} catch (error) {
  console.log("refused " + (error instanceof TsuvError) + " " + error.exitCode + " " + error.message);
}
`,
  );
  return path;
}

/** The user's environment, without the test runner's colours. */
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined };

async function served(running: Running, path: string): Promise<Response> {
  return fetch(`${await tsuvUrl(running)}${path}`);
}

async function stopped(running: Running): Promise<string> {
  running.proc.kill("SIGTERM");
  expect(await running.exited).toBe(0);
  return running.output();
}

describe.each(RUNTIMES)("$name", ({ cmd, entry }) => {
  test("run(app): the object is served as it is, in this process, with tsuv's headers", async () => {
    const running = start([...cmd, script(entry, `run(app, { host: "127.0.0.1", port: 0 })`)], {
      cwd: DIR,
      env,
    });
    const response = await served(running, "/x");
    expect(await response.text()).toBe("given /x");
    expect(response.headers.get("server")).toBe("tsuv");
    const output = await stopped(running);
    expect(output).toMatch(/"GET \/x HTTP\/1\.1" 200 OK/);
    expect(output).toContain("exit 0");
  }, 30_000);

  test("run(factory, { factory: true }) serves what the factory makes", async () => {
    const running = start(
      [...cmd, script(entry, `run(async () => app, { factory: true, host: "127.0.0.1", port: 0 })`)],
      { cwd: DIR, env },
    );
    expect(await (await served(running, "/made")).text()).toBe("given /made");
    expect(await stopped(running)).toContain("exit 0");
  }, 30_000);

  test("run(app) with workers or reload is refused, as uvicorn refuses it: exit code 1, nothing started", async () => {
    for (const options of [`{ workers: 2 }`, `{ reload: true }`, `{ workers: 2, workerClass: "thread" }`]) {
      const running = start([...cmd, script(entry, `run(app, ${options})`)], { cwd: DIR, env });
      expect(await running.exited).toBe(0);
      const output = running.output();
      expect({ options, output }).toEqual({
        options,
        output: expect.stringContaining(
          "refused true 1 You must pass the application as an import string to enable 'reload' or 'workers'",
        ),
      });
      expect(output).not.toContain("Started");
    }
  }, 30_000);

  test("run(value) that is no app: its exit code is 3, and the error names it", async () => {
    const running = start([...cmd, script(entry, `run(42, { port: 0 })`)], { cwd: DIR, env });
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain(
      'Error loading app. "the app given to run()" is a number (42); expected a fetch handler',
    );
    expect(running.output()).toContain("exit 3");
  }, 30_000);

  test('run(listener): a minified (e, t) function is said to need interface: "node", written as code, which serves it', async () => {
    const listener = `(e, t) => t.end("node listener")`;
    const guessed = start([...cmd, script(entry, `run(${listener}, { host: "127.0.0.1", port: 0 })`)], {
      cwd: DIR,
      env,
    });
    await tsuvUrl(guessed);
    expect(guessed.output()).toContain(
      'WARNING:  "the app given to run()" is a function of two parameters whose names do not say what it is (minified?): it is served as a fetch handler (request, info). If it is a node:http listener (req, res), serve it with interface: "node"; interface: "fetch" says it is not.',
    );
    const told = start(
      [...cmd, script(entry, `run(${listener}, { interface: "node", host: "127.0.0.1", port: 0 })`)],
      { cwd: DIR, env },
    );
    expect(await (await served(told, "/")).text()).toBe("node listener");
    expect(await stopped(told)).not.toContain("minified?");
  }, 30_000);

  test("two run() in one process: neither takes the other's signal listeners for the app's, and SIGHUP stops both", async () => {
    const both = `Promise.all([run(app, { host: "127.0.0.1", port: 0 }), run(app, { host: "127.0.0.1", port: 0 })]).then((codes) => codes.join())`;
    const running = start([...cmd, script(entry, both)], { cwd: DIR, env });
    await running.waitFor(/tsuv running on[\s\S]*tsuv running on/);
    const urls = [...running.output().matchAll(/tsuv running on (http:\/\/\S+:\d+)/g)].map((m) => m[1]);
    expect(urls.length).toBe(2);
    for (const url of urls) expect(await (await fetch(`${url}/both`)).text()).toBe("given /both");
    running.proc.kill("SIGHUP");
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain("exit 0,0");
    expect(running.output()).not.toContain("listens for SIGTERM");
  }, 30_000);

  test("run(path) with process workers and with reload: the children run tsuv, not the caller's script again", async () => {
    writeFileSync(
      join(DIR, "pid-app.mjs"),
      "export default { fetch: () => new Response(String(globalThis.process?.pid ?? Deno.pid)) };\n",
    );
    for (const [options, pids] of [
      [`{ workers: 2 }`, 2],
      [`{ reload: true }`, 1],
    ] as const) {
      const running = start(
        [
          ...cmd,
          script(
            entry,
            `(console.log("caller's script ran"), run("pid-app.mjs", { host: "127.0.0.1", port: 0, ...${options} }))`,
          ),
        ],
        { cwd: DIR, env },
      );
      const url = await tsuvUrl(running);
      // The second worker may still be starting: ask until both answered (or 10 s).
      const seen = new Set<string>();
      for (const deadline = Date.now() + 10_000; seen.size < pids && Date.now() < deadline; ) {
        seen.add(await (await fetch(url, { headers: { connection: "close" } })).text());
      }
      expect({ options, pids: seen.size }).toEqual({ options, pids });
      // Each worker served from a process of its own, none of them this one.
      expect(seen.has(String(running.pid))).toBe(false);
      const output = await stopped(running);
      expect({ options, runs: output.split("caller's script ran").length - 1 }).toEqual({ options, runs: 1 });
      expect(output).toContain("exit 0");
    }
  }, 60_000);

  test("run()'s --env-file counts for the options, as on the command line", async () => {
    writeFileSync(join(DIR, "library.env"), "TSUV_HEADER=x-from-env-file:yes\n");
    writeFileSync(
      join(DIR, "library-app.mjs"),
      "export default { fetch: () => new Response('from a path') };\n",
    );
    for (const app of ["app", `"library-app.mjs"`]) {
      const running = start(
        [...cmd, script(entry, `run(${app}, { envFile: "library.env", host: "127.0.0.1", port: 0 })`)],
        { cwd: DIR, env },
      );
      const response = await served(running, "/env");
      expect({ app, header: response.headers.get("x-from-env-file") }).toEqual({ app, header: "yes" });
      expect(await stopped(running)).toContain("exit 0");
    }
  }, 30_000);
});
