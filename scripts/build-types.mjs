// Builds the type declarations of the library API (package.json "types"): dist/index.d.ts, plus the
// declarations it imports under dist/types/. Run by `npm run build` and by `prepack`, so a packed
// or published tarball always carries them. Plain ESM: it runs before anything is built.
//
// tsc emits one .d.ts per source file the program reaches (the whole runtime, via run.ts); only the
// ones reachable from index.d.ts through its imports are kept, so the package's type surface is
// exactly what src/index.ts exports. Import paths keep the source's `.ts` extension in emitted
// declarations; they are rewritten to `.js`, which every moduleResolution mode maps to `.d.ts`.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const srcDir = join(root, "src");
const entry = join(srcDir, "index.ts");
const started = performance.now();

// The project's own compiler options (tsconfig.json, what `npm run typecheck` uses), emitting
// declarations only, for src/index.ts and what it imports.
const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
if (config.error) {
  console.error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  process.exit(1);
}
const options = {
  ...ts.parseJsonConfigFileContent(config.config, ts.sys, root).options,
  noEmit: false,
  declaration: true,
  emitDeclarationOnly: true,
  allowJs: false,
  rootDir: srcDir,
  outDir: join(root, "dist", "types"),
};

const program = ts.createProgram([entry], options);
/** Emitted declarations by path relative to src/, e.g. "runtime/detect.d.ts". */
const emitted = new Map();
const result = program.emit(undefined, (fileName, text) => {
  emitted.set(posix.normalize(relative(options.outDir, fileName).split("\\").join("/")), text);
});
// Syntax errors and declaration-emit errors (a public type that cannot be named) fail the build;
// type errors are `npm run typecheck`'s to report, and do not change the declarations.
const errors = [...program.getSyntacticDiagnostics(), ...result.diagnostics].filter(
  (d) => d.category === ts.DiagnosticCategory.Error,
);
if (errors.length > 0 || result.emitSkipped) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
  console.error(ts.formatDiagnostics(errors, host));
  process.exit(1);
}

const RELATIVE_IMPORT = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']+)\2/g;

/** Rewrite `./x.ts` to `./x.js` (prefix: where the file lands relative to its source layout). */
function rewrite(text, fromFile, prefix) {
  const needs = [];
  const out = text.replace(RELATIVE_IMPORT, (_, head, quote, spec) => {
    const resolved = posix.normalize(posix.join(posix.dirname(fromFile), spec));
    needs.push(resolved.replace(/\.(ts|js)$/, ".d.ts"));
    const target = spec.replace(/\.ts$/, ".js");
    const moved = prefix ? `./${posix.join(prefix, posix.dirname(fromFile), target)}` : target;
    return `${head}${quote}${moved}${quote}`;
  });
  return { out, needs };
}

const outDir = join(root, "dist");
rmSync(join(outDir, "types"), { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

// dist/index.d.ts is src/index.ts's declarations, pointing into dist/types/ for the rest.
const queue = [];
const index = emitted.get("index.d.ts");
if (index === undefined) {
  console.error("build-types: tsc emitted no index.d.ts");
  process.exit(1);
}
const top = rewrite(index, "index.d.ts", "types");
writeFileSync(join(outDir, "index.d.ts"), top.out);
queue.push(...top.needs);

const written = new Set();
while (queue.length > 0) {
  const file = queue.shift();
  if (written.has(file)) continue;
  const text = emitted.get(file);
  if (text === undefined) {
    console.error(`build-types: ${file} is imported by the declarations but was not emitted`);
    process.exit(1);
  }
  const { out, needs } = rewrite(text, file, "");
  const path = join(outDir, "types", file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, out);
  written.add(file);
  queue.push(...needs);
}

console.log(
  `build-types: dist/index.d.ts + ${written.size} file(s) in dist/types/ in ${Math.round(performance.now() - started)} ms`,
);
