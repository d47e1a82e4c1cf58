// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is dotenv syntax here, not a template.
// --env-file reads a dotenv file as uvicorn does (python-dotenv's load_dotenv): the expected values
// below are what python-dotenv 1.2.4 (the current release, what `pip install uvicorn[standard]`
// brings) gives for the same file, read from a path as uvicorn reads it.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnvFile, parseEnvFile } from "../src/env-file.ts";
import {
  childPids,
  freePort,
  getBody,
  killAll,
  RUNTIMES,
  startTsuv,
  startTwoWorkers,
  WORKER_CLASSES,
  waitLog,
} from "./helpers/tsuv.ts";

const dir = mkdtempSync(join(tmpdir(), "tsuv-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = [
  "# comment",
  "A=plain",
  'export B="quoted\\nline"  # trailing comment',
  "C='single \\'q\\' ${A}'",
  "D=value # comment",
  "E=${A}-interp",
  "F=${NOPE:-dflt}/${HOME}",
  "this line is malformed",
  'G="multi',
  'line"',
  "'H'=${E}",
  "BARE",
  "I=",
  "J = spaced",
  "",
].join("\n");

function load(text: string, env: Record<string, string | undefined> = {}) {
  const path = join(dir, `${Math.random()}.env`);
  writeFileSync(path, text);
  const warnings: string[] = [];
  const loaded = loadEnvFile(path, env, (message) => warnings.push(message));
  return { env, warnings, loaded, path };
}

test("values, quoting, comments and ${} expansion as python-dotenv gives them", () => {
  const { env, warnings, loaded, path } = load(FILE, { HOME: "/root" });
  expect(env).toEqual({
    HOME: "/root",
    A: "plain",
    B: "quoted\nline",
    C: "single 'q' plain",
    D: "value",
    E: "plain-interp",
    F: "dflt//root",
    G: "multi\nline",
    H: "plain-interp",
    I: "",
    J: "spaced",
  });
  expect(loaded).toBe(10);
  expect(warnings).toEqual([`--env-file: could not parse statement starting at line 8 of ${path}`]);
});

test("the environment wins, in what is set and in what ${} expands to", () => {
  const { env } = load("A=file\nB=${A}\n", { A: "env" });
  expect(env).toEqual({ A: "env", B: "env" });
});

test("a bare key sets nothing; CRLF line ends; every bad line is named", () => {
  expect(parseEnvFile('K\r\nL=1\r\n\'unterminated\r\nM="x"junk\r\nN=2').bindings).toEqual([
    { key: "K", value: null },
    { key: "L", value: "1" },
    { key: "N", value: "2" },
  ]);
  expect(parseEnvFile('K\r\nL=1\r\n\'unterminated\r\nM="x"junk\r\nN=2').errors).toEqual([3, 4]);
});

test("a quote left open takes the lines up to the next such quote; a statement failing after it loses them all", () => {
  // python-dotenv skips the rest of the line where the statement failed: here the line of D's
  // quote, so C and D are gone with B (it used to skip only B's own line, setting C and D).
  const parsed = parseEnvFile('A=1\nB="open\nC=2\nD="x" tail\nE=3\nF=\'never closed\nG=4\n');
  expect(parsed.bindings).toEqual([
    { key: "A", value: "1" },
    { key: "E", value: "3" },
    { key: "G", value: "4" },
  ]);
  expect(parsed.errors).toEqual([2, 6]);
});

test("line ends are Python's universal newlines: CRLF and a lone CR are LF, inside quoted values too", () => {
  // A PEM key pasted into a .env saved by a Windows editor: python-dotenv reads it with LF only
  // (Python's open() in text mode); tsuv handed the app the CRs, one at the end of every line.
  const { env } = load("KEY=\"-----BEGIN KEY-----\r\nMIIB\r\n-----END KEY-----\"\r\nOLD_MAC='a\rb'\r\n");
  expect(env).toEqual({ KEY: "-----BEGIN KEY-----\nMIIB\n-----END KEY-----", OLD_MAC: "a\nb" });
});

test("KEY= # comment is empty (python-dotenv 1.2.4); KEY=#x is #x", () => {
  const { env } = load("A= # a comment\nB=#not a comment\nC=x # comment\nD=\t# tab then comment\n");
  expect(env).toEqual({ A: "", B: "#not a comment", C: "x", D: "" });
});

test("a backslash keeps the character after it from closing a quoted value: a value ending in \\ is closed by its quote", () => {
  // `A="ends with \\"` (a Windows directory) read as an open quote that ate the lines after it.
  const { env, warnings } = load(
    "A=\"ends with \\\\\"\nB=after\nC='it\\'s \\\\'\nD=\"a\\qb\"\nE='x\\\\' # comment\n",
  );
  expect(env).toEqual({ A: "ends with \\", B: "after", C: "it's \\", D: "a\\qb", E: "x\\" });
  expect(warnings).toEqual([]);
});

test("a bare KEY line counts as set, to nothing, for the ${KEY:-default} after it", () => {
  const { env } = load("BARE\nA=${BARE:-default}\nB=${UNSET:-default}\n");
  expect(env).toEqual({ A: "", B: "default" });
});

test("blanks are Python's: U+001C and U+0085 are blanks, a U+FEFF after the start is not", () => {
  const { env } = load("A=x\u001c\nB=\u0085y\u0085\nC=z\uFEFF\n\u001cD=1\n");
  expect(env).toEqual({ A: "x", B: "y", C: "z\uFEFF", D: "1" });
});

test("a byte order mark at the start is skipped (Windows editors write one): python-dotenv would name the first variable \\uFEFFA", () => {
  expect(parseEnvFile("\uFEFFA=1\nB=2\n").bindings).toEqual([
    { key: "A", value: "1" },
    { key: "B", value: "2" },
  ]);
});

test("a missing file is one clear error", () => {
  expect(() => loadEnvFile(join(dir, "nope.env"), {})).toThrow(
    `--env-file: file not found: ${join(dir, "nope.env")}`,
  );
});

/**
 * The real CLI: the file's TSUV_* variables and WEB_CONCURRENCY count as the environment's, for a
 * single server as for the workers it starts (workers read their options from the environment they
 * inherit, file included). A single server used to ignore them: WEB_CONCURRENCY=2 in the file
 * started one server, whose access log was on while TSUV_ACCESS_LOG=false in the same file turned
 * its workers' off.
 */
describe.each(RUNTIMES)("%s: options from the env file", (runtime) => {
  afterEach(killAll);

  test("PORT from --env-file is the port, said to be on loopback only without --host", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-envfile-"));
    try {
      const port = await freePort();
      const file = join(dir, "app.env");
      writeFileSync(file, `PORT=${port}\n`);
      const server = await startTsuv(runtime, ["test/fixtures/apps/behaviour.ts:app", "--env-file", file]);
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      expect(await getBody(server.url, "/")).toBe("Hello, world!");
      expect(server.stderr() + server.stdout()).toContain(
        `WARNING:  Listening on port ${port} from $PORT, on 127.0.0.1 only (the default --host)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--env-file .env in the working directory: python-dotenv's values, on Bun too (Bun loads ./.env itself, with its own rules); the real environment still wins", async () => {
    // Bun expanded `$word1` (to nothing) and kept `\\` as two characters, and its values stood in
    // for the environment's, so the file's (uvicorn's) never applied.
    const dir = mkdtempSync(join(tmpdir(), "tsuv-envfile-"));
    try {
      writeFileSync(
        join(dir, ".env"),
        'PASSWORD="pa$word1"\nWIN="C:\\\\data\\\\"\nREF=${PASSWORD}-ref\nREAL=from the file\n',
      );
      writeFileSync(
        join(dir, "app.ts"),
        `export default { fetch: () => Response.json(["PASSWORD", "WIN", "REF", "REAL"].map((name) => process.env[name])) };\n`,
      );
      const server = await startTsuv(runtime, ["app.ts", "--env-file", ".env", "--port", "0"], {
        cwd: dir,
        env: { REAL: "from the environment" },
      });
      expect(await (await fetch(server.url)).json()).toEqual([
        "pa$word1",
        "C:\\data\\",
        "pa$word1-ref",
        "from the environment",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("WEB_CONCURRENCY and TSUV_ACCESS_LOG from --env-file apply", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-envfile-"));
    try {
      const file = join(dir, "app.env");
      writeFileSync(file, "WEB_CONCURRENCY=2\nTSUV_ACCESS_LOG=false\n");
      const server = await startTsuv(runtime, [
        "test/fixtures/apps/behaviour.ts:app",
        "--port",
        "0",
        "--env-file",
        file,
      ]);
      expect(await getBody(server.url, "/")).toBe("Hello, world!");
      // The second worker's line may come a moment after the first worker answers.
      await waitLog(server, /Started server process/, 2, 10_000);
      await Bun.sleep(300);
      const log = server.stdout() + server.stderr();
      expect(log).toContain("Started parent process");
      expect(log.match(/Started server process/g)?.length).toBe(2);
      expect(log).not.toMatch(/"GET \/ HTTP\/1\.1" 200/);
      expect(log).not.toMatch(/WARNING/);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * SIGHUP's rolling restart starts the new workers with --env-file as it is now, as --reload does
 * for its next child: a value changed or removed in the file is changed or removed, and the real
 * environment still wins. Before, every SIGHUP restart served the values read at start-up.
 */
describe.each(RUNTIMES)("%s: SIGHUP reads --env-file again", (runtime) => {
  afterEach(killAll);

  for (const workerClass of WORKER_CLASSES) {
    test(`${workerClass} workers`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-envfile-hup-"));
      try {
        const file = join(dir, "app.env");
        writeFileSync(file, "GREETING=one\nDROPPED=x\nREAL=file\n");
        const server = await startTwoWorkers(
          runtime,
          "test/fixtures/apps/behaviour.ts:app",
          workerClass,
          ["--env-file", file],
          { env: { REAL: "environment" } },
        );
        const values = async () =>
          Promise.all(
            ["GREETING", "DROPPED", "REAL"].map((name) => getBody(server.url, `/env?name=${name}`)),
          );
        expect(await values()).toEqual(["one", "x", "environment"]);
        writeFileSync(file, "GREETING=two\nREAL=file2\n");
        server.signal("SIGHUP");
        // Both new workers up and both old ones gone: the round is over.
        await waitLog(server, /Started server process/, 4);
        await waitLog(server, /Finished server process/, 2);
        for (let i = 0; i < 4; i++) expect(await values()).toEqual(["two", "<unset>", "environment"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/**
 * The env file removed after start (a deploy that moved it, a secret rotated away): a SIGHUP
 * restart keeps the values read before and restarts, and a worker that dies is replaced. On Node
 * every new worker used to exit 9 at once ("node: FILE: not found"): Node reads `--env-file` from
 * a script's arguments too (nodejs/node#54232), so the restart was aborted and a killed worker
 * never came back.
 */
describe.each(RUNTIMES)("%s: --env-file removed while serving", (runtime) => {
  afterEach(killAll);

  test("process workers restart on SIGHUP, and a killed one is replaced", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-envfile-gone-"));
    try {
      const file = join(dir, "app.env");
      writeFileSync(file, "GREETING=one\n");
      const server = await startTwoWorkers(runtime, "test/fixtures/apps/behaviour.ts:app", "process", [
        "--env-file",
        file,
      ]);
      // Both up: the supervisor listens for SIGHUP by then.
      await waitLog(server, /Started server process/, 2);
      rmSync(file);
      server.signal("SIGHUP");
      await waitLog(server, /Child process \[\d+\] restarted/, 2, 15_000);
      await waitLog(server, /Finished server process/, 2, 15_000);
      // One of the two started by the restart.
      const victim = childPids(server).at(-1) as number;
      process.kill(victim, "SIGKILL");
      // Its replacement: the fifth worker to start.
      await waitLog(server, /Started server process/, 5, 15_000);
      expect(await getBody(server.url, "/env?name=GREETING")).toBe("one");
      // Node's own line for it, "node: FILE: not found" (tsuv's warning says "file not found: FILE").
      expect(server.stderr() + server.stdout()).not.toMatch(/: not found$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
