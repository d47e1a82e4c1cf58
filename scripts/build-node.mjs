// Builds what Node.js runs, esbuild bundles of tsuv for Node 20+ in dist/, and what Deno runs from
// the npm package, dist/deno/ (Bun, and Deno from a checkout, run src/ as is). Run by `npm run
// build`, and by `prepare` on `npm install`, so a fresh clone has a working `npx tsuv`. Plain ESM,
// no TypeScript: it runs before anything is built.
//
//   dist/cli.mjs       the `tsuv` command (package.json bin), executable, with a node shebang: a
//                      small entry (src/node-entry.ts) that turns on Node's compile cache, then
//                      loads the next one
//   dist/cli-bundle.mjs  the bundle of src/cli.ts, which runs the command as it loads
//   dist/worker.mjs    a thread worker's entry (plumbing.ts starts it beside the bundle)
//   dist/index.mjs     the library API (package.json exports)
//   dist/ts-hooks.mjs  the TypeScript loader hooks, loaded by URL by module.register
//   dist/deno/         what Deno runs from the npm package (bin/tsuv.mjs): src/cli.ts and
//                      src/worker.ts as ES modules split at each dynamic import (see denoBuild)
//
// crossws and picomatch are bundled; esbuild, citty and chokidar stay external (see
// `external` below). Fails with a non-zero exit on any error, a missing entry point included.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { replaceFile } from "./replace-file.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const SHEBANG = "#!/usr/bin/env node\n";

const entryPoints = {
  cli: "src/node-entry.ts",
  "cli-bundle": "src/cli.ts",
  worker: "src/worker.ts",
  index: "src/index.ts",
  "ts-hooks": "src/runtime/node-ts-hooks.ts",
};

const missing = Object.values(entryPoints).filter((path) => !existsSync(join(root, path)));
if (missing.length > 0) {
  console.error(`build-node: missing entry point(s): ${missing.join(", ")}`);
  process.exit(1);
}

const shared = {
  absWorkingDir: root,
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // esbuild is a native binary the hooks import at run time. chokidar (--reload only) stays
  // external too: a bundle hoists every module's imports to its top, so its node:fs/promises
  // would load on every start (Node 24: ~2-5 ms each, timed with a
  // dynamic import in a fresh process); from node_modules it loads only when used. citty is
  // types only (src/options.ts), kept external so a future runtime import cannot grow the bundle.
  external: ["esbuild", "citty", "chokidar"],
  // `import.meta.url` stays each bundle's own URL: dist/worker.mjs and dist/ts-hooks.mjs are found
  // beside it. No minification, so stack traces of tsuv itself stay readable.
  legalComments: "none",
  logLevel: "warning",
  // Written below by replaceFile (scripts/replace-file.mjs), never in place: a test running
  // dist/cli.mjs while `npm pack` rebuilds it must not import a truncated file.
  write: false,
};

/**
 * dist/deno/: Deno refuses .ts files under node_modules, so `deno run npm:tsuv` needs JavaScript.
 * The Node bundle would do, but it is one file, and esbuild hoists every module's `node:*` imports
 * to its top, so Deno loads node:fs, node:net and the rest of its Node modules they need at every
 * start. Split at each dynamic import (one chunk per lazily loaded module group), a start loads
 * what it runs: exec to first 200 ~108-114 ms against ~162 ms through the Node bundle, and ~130
 * ms for `deno run -A src/cli.ts` from a checkout (hyperfine, docs/deployment.md). Platform
 * neutral, so no Node-only code is chosen at build time: the runtime is detected as it runs, as
 * from the sources.
 */
const denoBuild = {
  ...shared,
  entryPoints: { cli: "src/cli.ts", worker: "src/worker.ts" },
  outdir: "dist/deno",
  platform: "neutral",
  mainFields: ["module", "main"],
  target: "es2022",
  splitting: true,
  external: [...shared.external, "node:*"],
  // import.meta.main runs the command when dist/deno/cli.mjs is the main module; bin/tsuv.mjs
  // imports it and calls runCommand() instead.
  define: { TSUV_NODE_ENTRY: "false" },
};

const started = performance.now();
const { "cli-bundle": cliBundle, ...libraryEntries } = entryPoints;
let outputs;
try {
  // Two builds because of one define: src/cli.ts runs its entry() only where TSUV_NODE_ENTRY is
  // true (Bun and Deno use import.meta.main instead), which must not happen in dist/index.mjs.
  const results = await Promise.all([
    build({ ...shared, entryPoints: { "cli-bundle": cliBundle }, define: { TSUV_NODE_ENTRY: "true" } }),
    build({ ...shared, entryPoints: libraryEntries, define: { TSUV_NODE_ENTRY: "false" } }),
    build(denoBuild),
  ]);
  if (results.some((result) => result.errors.length > 0)) process.exit(1);
  outputs = results.flatMap((result) => result.outputFiles);
} catch {
  // esbuild has printed the errors (logLevel).
  process.exit(1);
}

const cli = join(root, "dist", "cli.mjs");
mkdirSync(join(root, "dist", "deno"), { recursive: true });
// Chunk names carry a hash of their contents: one no build wrote is left from an older source.
// (The same sources give the same names, so a rebuild beside a running tsuv removes nothing it
// may still import.)
const denoDir = join(root, "dist", "deno");
const written = new Set(outputs.map((output) => output.path));
for (const name of readdirSync(denoDir)) {
  if (!written.has(join(denoDir, name))) rmSync(join(denoDir, name), { force: true });
}
for (const output of outputs) {
  if (output.path !== cli) {
    replaceFile(output.path, output.contents);
    continue;
  }
  // `npx tsuv` and `./dist/cli.mjs` need the shebang.
  const code = output.text.startsWith("#!") ? output.text : SHEBANG + output.text;
  replaceFile(cli, code, 0o755);
}

console.log(
  `build-node: dist/{cli,cli-bundle,worker,index,ts-hooks}.mjs and dist/deno/ in ${Math.round(performance.now() - started)} ms`,
);
