/**
 * tsconfig.json's `emitDecoratorMetadata` on Node.js (node-ts-hooks.ts). esbuild compiles legacy
 * decorators but cannot emit their `design:type` / `design:paramtypes` metadata (evanw/esbuild#257,
 * closed as out of scope: it needs type information), which NestJS's dependency injection,
 * TypeORM's column types, class-validator, type-graphql, tsyringe and inversify read through
 * reflect-metadata. Without it a NestJS app started and answered its routes 500 ("Cannot read
 * properties of undefined"), its injected services undefined, where Bun (which emits the metadata)
 * served it. So a file with decorators under such a tsconfig is compiled by the app's own
 * TypeScript package (`transpileModule`, one file at a time as ts-node's transpile-only does: the
 * metadata names the classes written in the signatures), and without one installed it is refused
 * with a line that says so, rather than served without its metadata.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { TransformOptions } from "esbuild";
import { cacheFile, readCache, writeCache } from "./node-ts-cache.ts";
import { parseJsonc } from "./tsconfig.ts";

/** The part of the `typescript` package used here. */
interface TypeScriptApi {
  ModuleKind: { CommonJS: number; ESNext: number };
  ScriptTarget: { ES2022: number };
  JsxEmit: { React: number };
  convertCompilerOptionsFromJson(json: unknown, basePath: string): { options: Record<string, unknown> };
  transpileModule(
    input: string,
    options: { fileName: string; compilerOptions: Record<string, unknown>; reportDiagnostics?: boolean },
  ): { outputText: string };
}

type CompilerOptions = Record<string, unknown>;

/** The compilerOptions of a tsconfig's text, or null when they do not ask for decorator metadata. */
export function decoratorMetadataOptions(tsconfigText: string): CompilerOptions | null {
  try {
    const options = (parseJsonc(tsconfigText) as { compilerOptions?: unknown }).compilerOptions;
    if (typeof options !== "object" || options === null) return null;
    const { emitDecoratorMetadata, experimentalDecorators } = options as CompilerOptions;
    // tsc emits the metadata only for legacy (experimental) decorators.
    return emitDecoratorMetadata === true && experimentalDecorators === true
      ? (options as CompilerOptions)
      : null;
  } catch {
    return null;
  }
}

/** Did esbuild's output for a file need its legacy-decorator helper (the file has decorators)? */
function usesDecorators(esbuildOutput: string): boolean {
  return esbuildOutput.includes("var __decorateClass = ");
}

interface FoundTypeScript {
  /** Where the package's entry is; loaded on first transpile. */
  path: string;
  version: string;
}

/** The `typescript` package the file would import (its node_modules, then up), or null. */
function findTypeScript(filename: string): FoundTypeScript | null {
  try {
    const require = createRequire(filename);
    const path = require.resolve("typescript");
    const manifest = require.resolve("typescript/package.json");
    return { path, version: (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version };
  } catch {
    return null;
  }
}

/** The one-line refusal for a decorated file under such a tsconfig, where no TypeScript is installed. */
function noTypeScriptMessage(filename: string): string {
  return (
    `${filename}: its tsconfig.json sets emitDecoratorMetadata, which esbuild (tsuv's TypeScript compiler ` +
    "on Node.js) cannot emit (evanw/esbuild#257); tsuv compiles such files with the app's own TypeScript, " +
    "and none is installed here: npm install --save-dev typescript, serve the compiled JavaScript, or run on Bun"
  );
}

const loaded = new Map<string, TypeScriptApi>();

/** `source` compiled by TypeScript with its decorator metadata, as `cjs` or ESM, with an inline source map. */
function transpileWithMetadata(
  typescript: FoundTypeScript,
  source: string,
  filename: string,
  compilerOptions: CompilerOptions,
  cjs: boolean,
): string {
  let ts = loaded.get(typescript.path);
  if (ts === undefined) {
    ts = createRequire(filename)(typescript.path) as TypeScriptApi;
    loaded.set(typescript.path, ts);
  }
  const { options } = ts.convertCompilerOptionsFromJson(compilerOptions, dirname(filename));
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    reportDiagnostics: false,
    compilerOptions: {
      ...options,
      module: cjs ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
      moduleResolution: undefined,
      verbatimModuleSyntax: cjs ? false : options.verbatimModuleSyntax,
      // tsc's own default target is ES5; the classes stay classes here, as esbuild leaves them. With
      // no target given, class fields keep tsc's default semantics for it (assigned, not defined).
      target: options.target ?? ts.ScriptTarget.ES2022,
      useDefineForClassFields:
        options.useDefineForClassFields ?? (options.target === undefined ? false : undefined),
      // esbuild's default for .tsx and .jsx files.
      jsx: options.jsx ?? ts.JsxEmit.React,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: true,
      declaration: false,
      declarationMap: false,
      noEmit: false,
      emitDeclarationOnly: false,
    },
  });
  return outputText;
}

/** The tsconfig a file compiles under, as node-ts-hooks.ts found it. */
interface CompilingTsconfig {
  /** Its text, `extends` followed: part of the cache key, as for esbuild's output. */
  esbuild: string;
  /** Its compilerOptions when they ask for decorator metadata (decoratorMetadataOptions), else null. */
  metadata: Record<string, unknown> | null;
}

/**
 * esbuild's output for a file, or, where its tsconfig asks for decorator metadata and the file has
 * decorators, the app's TypeScript's (cached as esbuild's is, keyed by the TypeScript version);
 * without a TypeScript installed, an error that says so.
 */
export function withDecoratorMetadata(
  esbuildCode: string,
  source: string,
  filename: string,
  options: TransformOptions,
  tsconfig: CompilingTsconfig | null,
  cjs: boolean,
): string {
  if (!tsconfig?.metadata || !usesDecorators(esbuildCode)) return esbuildCode;
  const typescript = findTypeScript(filename);
  if (typescript === null) throw new Error(noTypeScriptMessage(filename));
  const file = cacheFile(source, options, tsconfig.esbuild, `typescript@${typescript.version}`);
  const cached = readCache(file);
  if (cached !== undefined) return cached;
  const code = transpileWithMetadata(typescript, source, filename, tsconfig.metadata, cjs);
  writeCache(file, code);
  return code;
}
