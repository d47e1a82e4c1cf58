// The suite runs servers under Node 20, Node 24, Bun and Deno; fail here first, with a clear message,
// if one of them is missing (pretest, scripts/install-tools.mjs, should have installed Node 24).
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { bun, deno, NODE24_VERSION, NODE26_VERSION, node20, node24, node26 } from "../scripts/tools.mjs";

function versionOf(bin: string): string {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  expect(r.error).toBeUndefined();
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

test("system node is the Node 20 floor, not Bun and not a .tools Node", () => {
  expect(versionOf(node20())).toMatch(/^v20\./);
});

test(".tools/node24 runs the pinned Node 24", () => {
  expect(versionOf(node24())).toBe(`v${NODE24_VERSION}`);
});

test(".tools/node26 runs the pinned Node 26", () => {
  expect(versionOf(node26())).toBe(`v${NODE26_VERSION}`);
});

test("node_modules/.bin/bun runs", () => {
  expect(versionOf(bun())).toMatch(/^\d+\.\d+\.\d+/);
});

test("node_modules/.bin/deno runs", () => {
  expect(versionOf(deno())).toMatch(/^deno \d+\.\d+\.\d+/);
});
