/**
 * tsuv's Response on Node.js (FastResponse, src/runtime/node-response.ts) stands in for undici's:
 * an app must see what undici's would show it, errors included. Compared over generated cases
 * (test/fixtures/response-differ.mjs) on each Node: bodies of every BodyInit kind, statuses and
 * status texts in and out of range, headers of every HeadersInit shape, valid and not. Before
 * 2026-12-07, 1,343 of these 3,000 differed on Node 20 and on 24: `headers` lacked the content type undici
 * gives a Blob, form, URLSearchParams or number body, `headers: null` or a string was taken, and
 * where an init was wrong twice, another error came first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { node20, pinnedNode, ROOT } from "../scripts/tools.mjs";

let dir = "";
let bundle = "";
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsuv-response-"));
  bundle = join(dir, "node-response.mjs");
  await build({
    entryPoints: [join(ROOT, "src", "runtime", "node-response.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    logLevel: "silent",
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NODES: [string, () => string][] = [
  ["Node 20", node20],
  ["Node 22", () => pinnedNode(22)],
  ["Node 24", () => pinnedNode(24)],
  ["Node 26", () => pinnedNode(26)],
];

describe("FastResponse shows an app what undici's Response shows it", () => {
  for (const [name, node] of NODES) {
    test(`${name}: 3,000 generated Responses`, async () => {
      const proc = Bun.spawn(
        [node(), join(ROOT, "test", "fixtures", "response-differ.mjs"), bundle, "7", "3000"],
        {
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [out, err, code] = [
        await new Response(proc.stdout).text(),
        await new Response(proc.stderr).text(),
        await proc.exited,
      ];
      expect(err).toBe("");
      expect(code).toBe(0);
      const result = JSON.parse(out) as { total: number; differ: number; first: unknown };
      expect(result.first).toBeNull();
      expect(result).toEqual({ total: 3000, differ: 0, first: null });
    });
  }
});
