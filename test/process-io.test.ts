/**
 * processIO() on Bun and Deno writes log lines without process.stdout/process.stderr (a start-up
 * cost): lines must still come out whole, in order with console.log/console.error, and isTTY and
 * exists must answer as node:fs / process.stdout.isTTY would.
 */
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { bun, deno, ROOT } from "../scripts/tools.mjs";
import { bunResolvedPath, pathExists } from "../src/runtime/index.ts";

const DRIVER = join(ROOT, "test", "fixtures", "process-io-driver.ts");

for (const [name, command] of [
  ["bun", () => [bun(), DRIVER]],
  ["deno", () => [deno(), "run", "-A", `--config=${join(ROOT, "deno.json")}`, DRIVER]],
] as const) {
  test(`${name}: log lines keep their order with the console, on a pipe`, async () => {
    const proc = spawn(command(), { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    try {
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(code).toBe(0);
      expect(stdout).toBe(
        "one\ntwo\nthree\nisTTY=false exists(.)=true exists(missing)=false\né ✓ multi-byte\n" +
          "GET /100%25%s%d%o\nafter the app's console.log\n",
      );
      expect(stderr).toBe("err-one\nerr-two\nerr-three\nafter the app's console.error\n");
    } finally {
      proc.kill("SIGKILL");
    }
  }, 20_000);
}

test("pathExists: files and directories exist, missing paths do not", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-io-"));
  try {
    const file = join(dir, "a.txt");
    writeFileSync(file, "x");
    expect(pathExists(file)).toBe(true);
    expect(pathExists(dir)).toBe(true);
    expect(pathExists(join(dir, "missing"))).toBe(false);
    expect(pathExists("")).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pathExists on Bun: what Bun's resolver answers for another path is asked of node:fs", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-io-"));
  try {
    mkdirSync(join(dir, "release"));
    writeFileSync(join(dir, "release", "app.ts"), "export default 1;\n");
    symlinkSync("release", join(dir, "current"));
    const app = join(dir, "release", "app.ts");
    // A plain file: the resolver's answer is the path itself, taken without node:fs.
    expect(bunResolvedPath(app)).toBe(app);
    expect(pathExists(app)).toBe(true);
    // Through a symlink: the real path (what the Bun adapter imports), so node:fs answers.
    expect(bunResolvedPath(join(dir, "current", "app.ts"))).toBe(app);
    expect(pathExists(join(dir, "current", "app.ts"))).toBe(true);
    // Bun's resolver takes a missing .js for the .ts beside it, and adds extensions: not there.
    expect(bunResolvedPath(join(dir, "release", "app.js"))).toBe(app);
    expect(pathExists(join(dir, "release", "app.js"))).toBe(false);
    expect(pathExists(join(dir, "release", "app"))).toBe(false);
    // A directory is not a module: node:fs answers.
    expect(bunResolvedPath(join(dir, "release"))).toBeUndefined();
    expect(pathExists(join(dir, "release"))).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bunResolvedPath: not in a worker thread, where Bun's cached answers may predate a deploy", async () => {
  const worker = new Worker(
    URL.createObjectURL(
      new Blob(
        [
          `import { bunResolvedPath } from ${JSON.stringify(join(ROOT, "src/runtime/index.ts"))};`,
          `postMessage(String(bunResolvedPath(${JSON.stringify(DRIVER)})));`,
        ],
        { type: "application/typescript" },
      ),
    ),
  );
  try {
    const answer = await new Promise((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
    });
    expect(answer).toBe("undefined");
    expect(bunResolvedPath(DRIVER)).toBe(DRIVER);
  } finally {
    worker.terminate();
  }
});
