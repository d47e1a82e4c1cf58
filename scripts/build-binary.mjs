// Builds tsuv as standalone executables with `bun build --compile`: the Bun runtime plus tsuv's
// code in one file, no Node.js or node_modules needed where it runs.
//
//   node scripts/build-binary.mjs            dist/tsuv (dist/tsuv.exe on Windows), for this machine
//   node scripts/build-binary.mjs --release  dist/release/tsuv-<os>-<arch>[.exe] for every TARGETS
//                                            entry, and dist/release/SHA256SUMS
//
// src/worker.ts is a second entry point: a thread worker is a module inside the binary, which
// src/runtime/plumbing.ts addresses as ./worker.ts (Bun's documented way). Process workers re-run
// the binary itself with TSUV_WORKER_BOOT set (src/cli.ts). Minified, no sourcemap; with bytecode
// (3.5 MiB for a start-up a quarter shorter, see compileBinary): the rest is the Bun runtime itself.
//
// Cross-compiling needs the target's Bun executable. Left alone, `bun build` downloads it from the
// npm registry into ~/.bun/install/cache; here npm fetches the same @oven/bun-<os>-<arch> package
// (through npm's cache and config, so a second run works offline) and --compile-executable-path
// points Bun at it. Its version is the local Bun's, so every binary runs the Bun the tests ran.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bun, ROOT } from "./tools.mjs";

/** Release targets: our name -> Bun's --target and the npm package holding that Bun executable. */
export const TARGETS = {
  "linux-x64": { bunTarget: "bun-linux-x64", npm: "@oven/bun-linux-x64", exe: "bun" },
  "linux-arm64": { bunTarget: "bun-linux-arm64", npm: "@oven/bun-linux-aarch64", exe: "bun" },
  "darwin-x64": { bunTarget: "bun-darwin-x64", npm: "@oven/bun-darwin-x64", exe: "bun" },
  "darwin-arm64": { bunTarget: "bun-darwin-arm64", npm: "@oven/bun-darwin-aarch64", exe: "bun" },
  "windows-x64": { bunTarget: "bun-windows-x64", npm: "@oven/bun-windows-x64", exe: "bun.exe" },
};

const ENTRIES = ["src/cli.ts", "src/worker.ts"];
/** Unpacked @oven/bun-* packages, reused across runs (node_modules/ is git-ignored). */
const CACHE = join(ROOT, "node_modules", ".cache", "tsuv-bun-executables");

/** This machine's target name, e.g. "linux-x64"; undefined where Bun has no build for it. */
export function hostTarget() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const name = `${os}-${process.arch}`;
  return name in TARGETS ? name : undefined;
}

export function bunVersion() {
  return execFileSync(bun(), ["--version"], { encoding: "utf8" }).trim();
}

/** The target's Bun executable, fetched with npm on first use. */
export function bunExecutableFor(target) {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown target ${target}; known: ${Object.keys(TARGETS).join(", ")}`);
  const version = bunVersion();
  const dir = join(CACHE, `${target}-${version}`);
  const exe = join(dir, "package", "bin", spec.exe);
  if (existsSync(exe)) return exe;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // --prefer-offline: the tarball comes from npm's cache when it is there.
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const tarball = execFileSync(
    npm,
    ["pack", `${spec.npm}@${version}`, "--prefer-offline", "--silent", "--pack-destination", dir],
    { encoding: "utf8", cwd: dir, shell: process.platform === "win32" },
  )
    .trim()
    .split("\n")
    .pop();
  execFileSync("tar", ["-xzf", tarball], { cwd: dir });
  rmSync(join(dir, tarball));
  if (!existsSync(exe)) throw new Error(`${spec.npm}@${version} has no bin/${spec.exe}`);
  return exe;
}

/**
 * Compile tsuv for `target` (default: this machine) into `outfile`. The host build uses the local
 * Bun itself; other targets use the fetched executable. Returns the output's size in bytes.
 */
export function compileBinary({ target = hostTarget(), outfile, quiet = false }) {
  if (!target) throw new Error(`Bun has no standalone build for ${process.platform}-${process.arch}`);
  // --bytecode: JavaScriptCore bytecode beside the source, so start-up skips parsing and compiling
  // tsuv's ~130 bundled modules (exec to first 200 80.7 -> 59.6 ms, docs/deployment.md; the binary
  // grows 3.5 MiB). Bytecode for ES modules needs --compile and an explicit --format=esm
  // (without it Bun bundles as CommonJS, where import.meta is a syntax error).
  const args = [
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
    `--target=${TARGETS[target].bunTarget}`,
  ];
  if (target !== hostTarget()) args.push(`--compile-executable-path=${bunExecutableFor(target)}`);
  // A user's .env, bunfig.toml, tsconfig.json and package.json in the directory tsuv runs in are
  // theirs, not configuration of tsuv: keep the binary from reading them at start-up.
  args.push("--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig");
  args.push(...ENTRIES, "--outfile", outfile);
  mkdirSync(dirname(outfile), { recursive: true });
  execFileSync(bun(), args, { cwd: ROOT, stdio: quiet ? "pipe" : ["ignore", "ignore", "inherit"] });
  return statSync(outfile).size;
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function release() {
  const dir = join(ROOT, "dist", "release");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const target of Object.keys(TARGETS)) {
    const name = `tsuv-${target}${target.startsWith("windows-") ? ".exe" : ""}`;
    const size = compileBinary({ target, outfile: join(dir, name) });
    console.log(`build-binary: dist/release/${name}  ${mib(size)}`);
  }
  // `sha256sum -c SHA256SUMS` format: hash, two spaces, file name.
  const sums = readdirSync(dir)
    .filter((name) => name.startsWith("tsuv-"))
    .sort()
    .map(
      (name) =>
        `${createHash("sha256")
          .update(readFileSync(join(dir, name)))
          .digest("hex")}  ${name}`,
    );
  writeFileSync(join(dir, "SHA256SUMS"), `${sums.join("\n")}\n`);
  console.log("build-binary: dist/release/SHA256SUMS");
}

function host() {
  const outfile = join(ROOT, "dist", process.platform === "win32" ? "tsuv.exe" : "tsuv");
  const started = performance.now();
  const size = compileBinary({ outfile });
  console.log(
    `build-binary: dist/${outfile.endsWith(".exe") ? "tsuv.exe" : "tsuv"} (${hostTarget()}, ${mib(size)}) in ${Math.round(performance.now() - started)} ms`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (process.argv.includes("--release")) release();
    else host();
  } catch (error) {
    console.error(`build-binary: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
