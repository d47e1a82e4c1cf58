/**
 * On Node.js, tsuv's Response and request headers stand in for undici's (the fetch implementation
 * Node's Response, Request and Headers are), to skip building undici's objects per request; an app
 * must still see what undici's would show it. Each is compared with undici's over generated cases,
 * on each Node, by a fixture that imports the module (bundled here).
 *
 * tsuv's Response (FastResponse, src/runtime/node-response.ts) stands in for undici's:
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
const bundled = (module: string) => join(dir, `${module}.mjs`);
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsuv-undici-parity-"));
  // Each fixture imports one bundle: a module's exports, and what the fixture needs beside them.
  const entries: Record<string, string> = {
    "node-response": 'export * from "./node-response.ts";',
    "node-request": 'export * from "./node-request.ts";',
    "node-request-url":
      'export * from "./node-request-url.ts"; export { usableAuthority } from "../request-authority.ts";',
  };
  for (const [module, contents] of Object.entries(entries)) {
    await build({
      stdin: { contents, resolveDir: join(ROOT, "src", "runtime"), loader: "ts" },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: bundled(module),
      logLevel: "silent",
    });
  }
});

/** Runs a differ fixture on one Node and returns its one JSON line. */
async function differ(node: string, fixture: string, module: string, count: number): Promise<unknown> {
  const proc = Bun.spawn(
    [node, join(ROOT, "test", "fixtures", fixture), bundled(module), "7", String(count)],
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
  return JSON.parse(out);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NODES: [string, () => string][] = [
  ["Node 20", node20],
  ["Node 22", () => pinnedNode(22)],
  ["Node 24", () => pinnedNode(24)],
  ["Node 26", () => pinnedNode(26)],
];

describe("FastResponse shows an app what undici's Response shows it", () => {
  for (const [name, node] of NODES) {
    test(`${name}: 3,000 generated Responses, and Response.json() over 120 data and inits`, async () => {
      expect(await differ(node(), "response-differ.mjs", "node-response", 3000)).toEqual({
        total: 3000,
        differ: 0,
        first: null,
        json: { total: 120, differ: 0, first: null },
      });
    });
  }
});

// get() and has() scan node:http's raw header list (the proxy-headers check asks every request for
// two headers it almost never has): the same answers as undici's Headers built from that list.
describe("tsuv's request headers answer get() and has() as undici's Headers", () => {
  for (const [name, node] of NODES) {
    test(`${name}: 3,000 generated header lists, 20 names each`, async () => {
      expect(await differ(node(), "request-headers-differ.mjs", "node-request", 3000)).toEqual({
        total: 3000,
        differ: 0,
        first: null,
      });
    });
  }
});

// request.url is built from the target and the Host header (node-request-url.ts), and written as
// the URL parser writes it where undici's Request would (a lower-case host, no default port).
describe("tsuv's request.url on Node is what undici's Request reports for the URL it names", () => {
  for (const [name, node] of NODES) {
    test(`${name}: 3,000 generated targets, Host headers, schemes and local addresses`, async () => {
      expect(await differ(node(), "request-url-differ.mjs", "node-request-url", 3000)).toEqual({
        total: 3000,
        differ: 0,
        first: null,
      });
    });
  }
});
