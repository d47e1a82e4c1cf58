/**
 * The build scripts replace their outputs, never rewrite them in place: `npm pack`
 * (test/ship.test.ts) runs `prepare`, which rebuilds dist/, while other test files (and a
 * deployed `npx tsuv`) run `node dist/cli.mjs`. An in-place write let one of them import a
 * truncated, empty bundle, which ran nothing and exited 0.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replaceFile } from "../scripts/replace-file.mjs";
import { node20, ROOT } from "../scripts/tools.mjs";

const dir = mkdtempSync(join(tmpdir(), "tsuv-replace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const identity = (path: string) => {
  const { ino, mtimeMs, mode } = statSync(path);
  return { ino, mtimeMs, mode: mode & 0o777 };
};

test("replaceFile swaps in a new file by rename, and leaves an unchanged one alone", () => {
  const path = join(dir, "out.mjs");
  writeFileSync(path, "old\n");
  const before = identity(path);

  expect(replaceFile(path, "new\n", 0o755)).toBe(true);
  expect(readFileSync(path, "utf8")).toBe("new\n");
  const replaced = identity(path);
  // A new inode: a reader holding the old file keeps reading it whole.
  expect(replaced.ino).not.toBe(before.ino);
  expect(replaced.mode).toBe(0o755);

  expect(replaceFile(path, new TextEncoder().encode("new\n"))).toBe(false);
  expect(identity(path)).toEqual(replaced);
  expect(readdirSync(dir)).toEqual(["out.mjs"]);
});

test("scripts/build-node.mjs leaves an up-to-date bundle untouched", () => {
  // dist/deno/ and dist/bun/ too, whose chunks are named by their contents: none is removed or
  // rewritten (dist/bun/ is built by Bun's bundler into a directory beside it, then moved in).
  const split = (dir: string) => readdirSync(join(ROOT, "dist", dir)).map((name) => join(dir, name));
  const deno = split("deno");
  const bunBuild = split("bun");
  expect(deno).toContain(join("deno", "cli.mjs"));
  expect(bunBuild).toContain(join("bun", "cli.mjs"));
  expect(bunBuild).toContain(join("bun", "cli.mjs.map"));
  const outputs = [
    ...["cli.mjs", "cli-bundle.mjs", "worker.mjs", "index.mjs", "ts-hooks.mjs"],
    ...deno,
    ...bunBuild,
  ].map((name) => join(ROOT, "dist", name));
  const before = outputs.map(identity);
  const build = spawnSync(node20(), [join(ROOT, "scripts", "build-node.mjs")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(build.stderr).toBe("");
  expect(build.status).toBe(0);
  expect(outputs.map(identity)).toEqual(before);
  expect(readdirSync(join(ROOT, "dist", "deno")).length).toBe(deno.length);
  expect(readdirSync(join(ROOT, "dist", "bun")).length).toBe(bunBuild.length);
  // The staging directory is gone.
  expect(readdirSync(join(ROOT, "dist")).filter((name) => name.startsWith(".bun-"))).toEqual([]);
  expect(before[0]?.mode).toBe(0o755);
});
