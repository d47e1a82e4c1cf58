/**
 * dist/cli.mjs, the `tsuv` command on Node.js (package.json bin through bin/tsuv.mjs, and
 * `node dist/cli.mjs`): it turns on Node's compile cache (runtime/node-compile-cache.ts) and then
 * loads the bundle of src/cli.ts, dist/cli-bundle.mjs, which runs the command as it loads. A file of
 * its own because the cache must be on before the bundle is compiled. scripts/build-node.mjs builds
 * both; from source (Bun, Deno) src/cli.ts is the entry and this file is not used.
 */
import { withCompileCache } from "./runtime/node-compile-cache.ts";

// A computed URL: esbuild leaves the import alone instead of bundling src/cli.ts into this file.
const bundle = new URL("./cli-bundle.mjs", import.meta.url).href;
await withCompileCache(() => import(bundle));
