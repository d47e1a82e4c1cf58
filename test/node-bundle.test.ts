/**
 * The Node bundle (dist/cli-bundle.mjs, built by `npm run pretest`) is one file, and esbuild hoists every
 * bundled module's imports to its top: a built-in that only TLS, workers, --env-file or --help
 * need must be loaded on first use instead (src/runtime/builtin.ts), or every start pays for it
 * (Node 24: node:crypto ~9 ms, node:tls ~8-12 ms, node:https ~3 ms, node:util ~2-5 ms), and a
 * supervisor parent, which serves nothing, loads what only its workers need.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/tools.mjs";
import { startTwoWorkers, WORKER_CLASSES } from "./helpers/tsuv.ts";

const ON_FIRST_USE = [
  "http", // an ESM import of it loads undici and node:http2 too on Node 24 (src/runtime/builtin.ts)
  "crypto",
  "tls",
  "https",
  "util",
  "dns/promises",
  "child_process",
  "zlib",
  "worker_threads",
];

/** The built-ins a file of dist/ imports at its top. */
function topLevelBuiltins(code: string): string[] {
  return [...code.matchAll(/^import [^;]*? from "node:([a-z_/]+)";?$/gm)].map((m) => m[1] as string);
}

test("dist/cli-bundle.mjs imports at its top only the built-ins a plain server needs", () => {
  const bundle = readFileSync(join(ROOT, "dist", "cli-bundle.mjs"), "utf8");
  const topLevel = topLevelBuiltins(bundle);
  expect(topLevel.length).toBeGreaterThan(0);
  expect(topLevel.filter((name) => ON_FIRST_USE.includes(name))).toEqual([]);
  // chokidar (--reload) loads from node_modules when used; citty is never loaded (types only).
  expect(bundle).not.toMatch(/^import [^;]*? from "(citty|chokidar)";?$/m);
});

// The command's entry (src/node-entry.ts) turns on Node's compile cache before the bundle is
// compiled: it must stay small and load nothing of tsuv itself.
test("dist/cli.mjs is the small entry: built-ins the bundle loads anyway, then the bundle", () => {
  const entry = readFileSync(join(ROOT, "dist", "cli.mjs"), "utf8");
  expect(entry.startsWith("#!/usr/bin/env node\n")).toBe(true);
  expect(entry.length).toBeLessThan(4096);
  const bundle = topLevelBuiltins(readFileSync(join(ROOT, "dist", "cli-bundle.mjs"), "utf8"));
  expect(topLevelBuiltins(entry).filter((name) => !bundle.includes(name))).toEqual([]);
  expect(entry).toContain('"./cli-bundle.mjs"');
});

// A supervisor serves nothing: node:http, and with it (Node 24) undici and node:http2, are for the
// workers. Loading them cost the parent ~8 MiB of RSS on Node 20 and ~12 MiB on Node 24.
for (const workerClass of WORKER_CLASSES) {
  test(`node24, ${workerClass} workers: the supervisor parent loads neither node:http nor undici`, async () => {
    const probe = join(ROOT, "test", "fixtures", "parent-modules.mjs");
    const app = join(ROOT, "test", "fixtures", "apps", "main.ts");
    const t = await startTwoWorkers("node24", `${app}:app`, workerClass, [], {
      runtimeFlags: ["--import", probe],
    });
    expect((await fetch(`${t.url}/`)).status).toBe(200);
    t.signal("SIGTERM");
    expect(await t.exited).toBe(0);
    const lines = t.stderr().match(/^parent-modules: .*$/gm) ?? [];
    expect(lines).toEqual(["parent-modules: []"]);
  });
}
