#!/usr/bin/env node
// The `tsuv` command of the npm package (package.json bin). Node.js runs dist/cli.mjs, which turns
// on Node's compile cache and loads the bundle, dist/cli-bundle.mjs.
// Bun runs the TypeScript sources, as `bun src/cli.ts` does and as the "bun" export condition
// gives Bun the library: it loads only the modules a start needs, where the bundle holds all of
// them (exec to first 200 4-11 ms sooner, docs/deployment.md).
// Deno refuses to run .ts files from node_modules: it gets dist/deno/, built for it
// (scripts/build-node.mjs): split at each dynamic import, it loads what a start runs, where the
// Node bundle would load every node:* module it imports.
if (typeof Bun !== "undefined") {
  const { runCommand } = await import("../src/cli.ts");
  runCommand();
} else if (typeof Deno !== "undefined") {
  const { runCommand } = await import("../dist/deno/cli.mjs");
  runCommand();
} else {
  // dist/cli.mjs loads the bundle, which runs the command as it loads (TSUV_NODE_ENTRY,
  // scripts/build-node.mjs).
  await import("../dist/cli.mjs");
}
