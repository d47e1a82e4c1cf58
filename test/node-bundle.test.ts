/**
 * The Node bundle (dist/cli.mjs, built by `npm run pretest`) is one file, and esbuild hoists every
 * bundled module's imports to its top: a built-in that only TLS, workers, --env-file or --help
 * need must be loaded on first use instead (src/runtime/builtin.ts), or every start pays for it
 * (Node 24: node:crypto ~9 ms, node:tls ~8-12 ms, node:https ~3 ms, node:util ~2-5 ms).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/tools.mjs";

const ON_FIRST_USE = [
  "crypto",
  "tls",
  "https",
  "util",
  "dns/promises",
  "child_process",
  "zlib",
  "worker_threads",
];

test("dist/cli.mjs imports at its top only the built-ins a plain server needs", () => {
  const bundle = readFileSync(join(ROOT, "dist", "cli.mjs"), "utf8");
  const topLevel = [...bundle.matchAll(/^import [^;]*? from "node:([a-z_/]+)";?$/gm)].map((m) => m[1]);
  expect(topLevel.length).toBeGreaterThan(0);
  expect(topLevel.filter((name) => ON_FIRST_USE.includes(name as string))).toEqual([]);
  // chokidar (--reload) loads from node_modules when used; citty is never loaded (types only).
  expect(bundle).not.toMatch(/^import [^;]*? from "(citty|chokidar)";?$/m);
});
