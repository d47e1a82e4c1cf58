/**
 * The fs.watch backend (Bun, Deno) reports the files of a directory that appears in the tree: one
 * moved in, or made and written to before the watcher put a watch on it. Before: Deno reported only
 * the directory, which no include matches, so nothing reloaded (`mkdir -p a/b && echo > a/b/x.ts`
 * missed 3 times in 28 here; a directory moved in, every time), and `rm -rf dir` reloaded nothing.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bun, deno, ROOT } from "../scripts/tools.mjs";

const script = join(ROOT, "test", "fixtures", "watch-new-dir.ts");

for (const [name, command] of [
  ["bun", () => [bun(), script]],
  ["deno", () => [deno(), "run", "-A", `--config=${join(ROOT, "deno.json")}`, script]],
] as const) {
  test(`${name}: a directory moved into the tree reports the files inside it, and its removal is seen`, () => {
    const [file, ...args] = command();
    const run = spawnSync(file as string, args as string[], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    const seen = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "null");
    expect(seen.moved).toEqual(["pkg/lib/moved.ts"]);
    // Removed: something under pkg is reported (Bun: the file; Deno: only the directories).
    expect(seen.removed.some((path: string) => path === "pkg" || path.startsWith("pkg/"))).toBe(true);
  }, 30_000);
}
