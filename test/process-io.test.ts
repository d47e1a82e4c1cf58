/**
 * processIO() on Bun and Deno writes log lines without process.stdout/process.stderr (a start-up
 * cost): lines must still come out whole, in order with console.log/console.error, and isTTY and
 * exists must answer as node:fs / process.stdout.isTTY would.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { bun, deno, ROOT } from "../scripts/tools.mjs";
import { pathExists } from "../src/runtime/index.ts";

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
