// Absolute paths of the runtimes the test suite drives. Plain ESM so that every Node, Bun and Deno
// (and the scripts run before anything is built) can import it.
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Node LTS lines we test beside the system Node 20, pinned so a registry release never changes a
 * test run: 24 (the whole suite); 22, in maintenance until 2027-04, and 26, the Active LTS since
 * 2026-10 (their behaviour suites, and what differs there, e.g. the permission model's flags).
 */
export const NODE_PINS = { 22: "22.23.3", 24: "24.21.0", 26: "26.10.0" };

/** Repository root (this file lives in scripts/). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Where scripts/install-tools.mjs installs the pinned Nodes: outside node_modules/.bin on purpose,
 * so a bare `node` in npm scripts (PATH starts with node_modules/.bin) stays the system Node. */
export const TOOLS_DIR = join(ROOT, ".tools");

/** The install prefix of a pinned Node line (.tools/node22, .tools/node24, .tools/node26). */
export function nodePrefix(major) {
  return join(TOOLS_DIR, `node${major}`);
}

/** A pinned Node, from the npm `node` package (whose bin/node is a hard link to node-<os>-<arch>'s binary). */
export function pinnedNode(major) {
  return join(nodePrefix(major), "node_modules", "node", "bin", "node");
}

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
      // `bun run` may put a `node` shim that is really Bun on PATH; skip it (and our pinned Nodes).
      const real = realpathSync(candidate);
      if (/bun(\.exe)?$/.test(real) || real.startsWith(TOOLS_DIR)) continue;
      return candidate;
    } catch {}
  }
  throw new Error("no system `node` on PATH");
}

export function node22() {
  return pinnedNode(22);
}

export function node24() {
  return pinnedNode(24);
}

export function node26() {
  return pinnedNode(26);
}

/** Bun and Deno come from devDependencies, so their versions follow package-lock.json. */
export function bun() {
  return join(ROOT, "node_modules", ".bin", "bun");
}

export function deno() {
  return join(ROOT, "node_modules", ".bin", "deno");
}

/**
 * Runs `bun ARGS` in the checkout on this terminal (npm test, npm run test:faults) and returns its
 * exit status. Exits 1 if bun could not start; if bun was stopped by a signal (Ctrl-C reaches the
 * whole process group), ends this process the same way.
 */
export function runBun(args, who) {
  const run = spawnSync(bun(), args, { cwd: ROOT, stdio: "inherit" });
  if (run.error) {
    console.error(`${who}: could not run ${bun()}: ${run.error.message}`);
    process.exit(1);
  }
  if (run.signal) process.kill(process.pid, run.signal);
  return run.status ?? 1;
}
