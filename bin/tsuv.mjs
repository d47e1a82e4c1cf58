#!/usr/bin/env node
// The `tsuv` command of the npm package (package.json bin). Node.js runs dist/cli.mjs, which turns
// on Node's compile cache and loads the bundle, dist/cli-bundle.mjs.
// Bun runs dist/bun/, built for it by its own bundler (scripts/build-node.mjs): split at each
// dynamic import, a start loads about ten files where the sources are ~60 modules (exec to first
// 200 ~6 ms sooner for one server, ~20 ms with two workers), and its source maps keep tsuv's stack
// frames on src/*.ts lines. Where it was not built (no Bun binary where the package was packed)
// Bun runs the sources, as `bun src/cli.ts`.
// Deno refuses to run .ts files from node_modules: it gets dist/deno/, built for it
// (scripts/build-node.mjs): split at each dynamic import, it loads what a start runs, where the
// Node bundle would load every node:* module it imports.
// Only Deno's import is a literal. Deno reads every module a literal import() reaches before it
// runs anything, whichever branch runs: with the other two literal too, it read tsuv's sources
// (src/cli.ts and its imports) and dist/cli.mjs as well, and `deno run -A bin/tsuv.mjs` started
// 8.2 and 9.9 ms later (startup-ab, two runs of 30 pairs, 24 and 25 sooner without them,
// 2026-12-06).
// The others are built from parts (as runtime/index.ts imports the other runtimes' adapters).
if (typeof Bun !== "undefined") {
  const BUILT = "../dist/bun/cli" + ".mjs";
  const { runCommand } = await import(BUILT).catch((error) => {
    if (error?.code === "ERR_MODULE_NOT_FOUND" && error.specifier === BUILT)
      return import("../src/cli" + ".ts");
    throw error;
  });
  runCommand();
} else if (typeof Deno !== "undefined") {
  const { runCommand } = await import("../dist/deno/cli.mjs");
  runCommand();
} else {
  // dist/cli.mjs loads the bundle, which runs the command as it loads (TSUV_NODE_ENTRY,
  // scripts/build-node.mjs).
  await import("../dist/cli" + ".mjs");
}
