// The suite runs servers under Node 20, the pinned Nodes (22, 24, 26), Bun and Deno; fail here first,
// with a clear message, if one is missing (pretest, scripts/install-tools.mjs, installs the pinned).
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { bun, deno, NODE_PINS, node20, pinnedNode } from "../scripts/tools.mjs";

function versionOf(bin: string): string {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  expect(r.error).toBeUndefined();
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

test("system node is the Node 20 floor, not Bun and not a .tools Node", () => {
  expect(versionOf(node20())).toMatch(/^v20\./);
});

for (const [major, pinned] of Object.entries(NODE_PINS)) {
  test(`.tools/node${major} runs the pinned Node ${major}`, () => {
    expect(versionOf(pinnedNode(major))).toBe(`v${pinned}`);
  });
}

test("node_modules/.bin/bun runs", () => {
  expect(versionOf(bun())).toMatch(/^\d+\.\d+\.\d+/);
});

test("node_modules/.bin/deno runs", () => {
  expect(versionOf(deno())).toMatch(/^deno \d+\.\d+\.\d+/);
});
