// Builds what Node.js runs, esbuild bundles of tsuv for Node 20+ in dist/, and what Deno and Bun run
// from the npm package, dist/deno/ and dist/bun/ (from a checkout both run src/ as is). Run by `npm run
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
//   dist/bun/          what Bun runs from the npm package (bin/tsuv.mjs): the same split, made by
//                      Bun's own bundler, with source maps that Bun applies (see buildForBun)
//
// crossws and picomatch are bundled; esbuild, citty and chokidar stay external (see
// `external` below). Fails with a non-zero exit on any error, a missing entry point included.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { replaceFile } from "./replace-file.mjs";
import { bun } from "./tools.mjs";

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

/**
 * Chunk names carry a hash of their contents: one no build wrote is left from an older source.
 * (The same sources give the same names, so a rebuild beside a running tsuv removes nothing it
 * may still import.)
 */
function removeStale(dir, written) {
  for (const name of readdirSync(dir)) {
    if (!written.has(join(dir, name))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * dist/bun/: Bun runs the sources well (it compiles TypeScript as it loads), but a start loads each
 * of the ~60 modules a single server needs one by one (Bun 1.4.5: ~0.13 ms a module, 60 empty ones
 * 9.5 ms). Built split at each dynamic import as for Deno, a start loads about ten files; against
 * the sources, exec to first 200 of `bun bin/tsuv.mjs` came 6.1 ms sooner for one server, 20.5 ms
 * with two thread workers and 20.2 ms with two process workers (`bun scripts/bench/startup-ab.ts`,
 * 2026-12-06, docs/deployment.md). Bun's bundler, not esbuild: Bun applies the source maps its own
 * bundler writes, so stack frames of tsuv's code still name src/*.ts lines (it ignores esbuild's).
 * Not with bytecode (`--bytecode`, CommonJS only outside a compiled binary): that started a single
 * server 7.2 ms sooner than this, but only on the very Bun that built it; any other Bun ignores the
 * .jsc, and the one CommonJS file then started 7.1 ms later than this (20.8 ms with two thread
 * workers). Written to a directory beside dist/bun/ first, so the maps' relative paths to src/
 * hold, then moved in file by file with replaceFile. The maps leave out their copies of the sources
 * (null `sourcesContent`: Bun refuses a map without the field): the package ships src/. Without a
 * Bun binary (a platform Bun's package has none for) there is no dist/bun/, and bin/tsuv.mjs gives
 * Bun the sources.
 */
function buildForBun() {
  const out = join(root, "dist", "bun");
  const staging = join(root, "dist", `.bun-${process.pid}`);
  if (!existsSync(bun())) {
    console.warn("build-node: no Bun binary (node_modules/.bin/bun): dist/bun/ not built");
    return;
  }
  const args = ["build", "src/cli.ts", "src/worker.ts", "--target=bun", "--splitting", "--sourcemap=linked"];
  args.push("--packages=external", "--entry-naming=[name].mjs", "--chunk-naming=chunk-[hash].mjs");
  const run = spawnSync(bun(), [...args, "--outdir", staging], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    console.error(`build-node: bun build failed:\n${run.stderr || run.stdout || run.error}`);
    process.exit(1);
  }
  try {
    mkdirSync(out, { recursive: true });
    const written = new Set();
    for (const name of readdirSync(staging)) {
      let contents = readFileSync(join(staging, name));
      if (name.endsWith(".map")) {
        const map = JSON.parse(contents.toString("utf8"));
        map.sourcesContent = map.sources.map(() => null);
        contents = JSON.stringify(map);
      }
      replaceFile(join(out, name), contents);
      written.add(join(out, name));
    }
    removeStale(out, written);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const cli = join(root, "dist", "cli.mjs");
const denoDir = join(root, "dist", "deno");
mkdirSync(denoDir, { recursive: true });
removeStale(denoDir, new Set(outputs.map((output) => output.path)));
for (const output of outputs) {
  if (output.path !== cli) {
    replaceFile(output.path, output.contents);
    continue;
  }
  // `npx tsuv` and `./dist/cli.mjs` need the shebang.
  const code = output.text.startsWith("#!") ? output.text : SHEBANG + output.text;
  replaceFile(cli, code, 0o755);
}

buildForBun();

console.log(
  `build-node: dist/{cli,cli-bundle,worker,index,ts-hooks}.mjs, dist/deno/ and dist/bun/ in ${Math.round(performance.now() - started)} ms`,
);
