// Absolute paths of the runtimes the test suite drives. Plain ESM so that Node 20, Node 24, Bun and
// Deno (and the scripts run before anything is built) can all import it.
import { accessSync, constants, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Node 24 we test against, pinned so a registry release never changes a test run. */
export const NODE24_VERSION = "24.21.0";

/** Repository root (this file lives in scripts/). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Where scripts/install-tools.mjs installs Node 24: outside node_modules/.bin on purpose, so a bare
 * `node` in npm scripts (PATH starts with node_modules/.bin) stays the system Node. */
export const NODE24_PREFIX = join(ROOT, ".tools", "node24");

/** The system Node (20 here): the engine floor in package.json, and the Node a bare `node` gives. */
export function node20() {
  // Under Bun or Deno, process.execPath is Bun/Deno itself, so look `node` up on PATH instead.
  const v = process.versions;
  if (!v.bun && !v.deno) return process.execPath;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
      // `bun run` may put a `node` shim that is really Bun on PATH; skip it (and our own Node 24).
      const real = realpathSync(candidate);
      if (/bun(\.exe)?$/.test(real) || real.startsWith(NODE24_PREFIX)) continue;
      return candidate;
    } catch {}
  }
  throw new Error("no system `node` on PATH");
}

/** Node 24, from the npm `node` package (whose bin/node is a hard link to node-<os>-<arch>'s binary). */
export function node24() {
  return join(NODE24_PREFIX, "node_modules", "node", "bin", "node");
}

/** Bun and Deno come from devDependencies, so their versions follow package-lock.json. */
export function bun() {
  return join(ROOT, "node_modules", ".bin", "bun");
}

export function deno() {
  return join(ROOT, "node_modules", ".bin", "deno");
}
