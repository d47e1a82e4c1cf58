/** src/runtime/tsconfig.ts: tsconfig.json read as tsc reads it, `extends` followed. */
import { describe, expect, test } from "bun:test";
import { dirname, resolve } from "node:path";
import {
  effectiveTsconfig,
  mapPath,
  parseJsonc,
  pathMapping,
  type TsconfigHost,
} from "../src/runtime/tsconfig.ts";

/** Files by path; packages by specifier (as resolved from anywhere). */
function host(files: Record<string, string>, packages: Record<string, string> = {}): TsconfigHost {
  return {
    readFile: (path) => files[path] ?? null,
    resolvePackage: (specifier) => packages[specifier] ?? null,
    dirname,
    resolve,
  };
}

const options = (text: string) => (JSON.parse(text) as { compilerOptions: unknown }).compilerOptions;

describe("parseJsonc", () => {
  test("comments and trailing commas, not inside strings", () => {
    expect(parseJsonc(`{\n // a\n "a": "x//y", /* b */ "b": ["/*,]", 2,],\n}`)).toEqual({
      a: "x//y",
      b: ["/*,]", 2],
    });
    expect(parseJsonc(`{"a": "q\\"//", "b": 1}`)).toEqual({ a: 'q"//', b: 1 });
  });

  test("what is not JSON still throws", () => {
    expect(() => parseJsonc("{ a: 1 }")).toThrow();
  });
});

describe("effectiveTsconfig", () => {
  test("a config that extends nothing is handed on as written", () => {
    const text = `{ /* kept */ "compilerOptions": { "jsx": "react-jsx" } }`;
    expect(effectiveTsconfig("/app/tsconfig.json", text, host({}))).toBe(text);
  });

  test("a relative base, with or without .json: its options under the file's own", () => {
    const files = {
      "/repo/tsconfig.base.json": `{"compilerOptions": {"experimentalDecorators": true, "jsx": "react"}}`,
    };
    for (const base of ["../../tsconfig.base.json", "../../tsconfig.base"]) {
      const text = `{"extends": "${base}", "compilerOptions": {"jsx": "react-jsx"}}`;
      expect(options(effectiveTsconfig("/repo/packages/api/tsconfig.json", text, host(files)))).toEqual({
        experimentalDecorators: true,
        jsx: "react-jsx",
      });
    }
  });

  test("a chain, a package base (its tsconfig.json when only the package is named), an array in order", () => {
    const files = {
      "/repo/a.json": `{"extends": "./b.json", "compilerOptions": {"x": "a", "a": 1}}`,
      "/repo/b.json": `{"compilerOptions": {"x": "b", "b": 1}}`,
      "/nm/@tsconfig/strictest/tsconfig.json": `{"compilerOptions": {"x": "pkg", "strict": true}}`,
    };
    const packages = { "@tsconfig/strictest/tsconfig.json": "/nm/@tsconfig/strictest/tsconfig.json" };
    const text = `{"extends": ["./a.json", "@tsconfig/strictest"], "compilerOptions": {"own": 1}}`;
    expect(options(effectiveTsconfig("/repo/tsconfig.json", text, host(files, packages)))).toEqual({
      x: "pkg",
      a: 1,
      b: 1,
      strict: true,
      own: 1,
    });
  });

  test("the same base twice (a diamond) is fine; a cycle or a missing base leaves the text as it was", () => {
    const common = { "/r/common.json": `{"compilerOptions": {"c": 1}}` };
    const diamond = {
      ...common,
      "/r/a.json": `{"extends": "./common.json"}`,
      "/r/b.json": `{"extends": "./common.json"}`,
    };
    const text = `{"extends": ["./a.json", "./b.json"]}`;
    expect(options(effectiveTsconfig("/r/tsconfig.json", text, host(diamond)))).toEqual({ c: 1 });

    const cycle = { "/r/a.json": `{"extends": "./tsconfig.json"}` };
    const looping = `{"extends": "./a.json"}`;
    expect(
      effectiveTsconfig("/r/tsconfig.json", looping, host({ ...cycle, "/r/tsconfig.json": looping })),
    ).toBe(looping);
    const missing = `{"extends": "./nowhere.json", "compilerOptions": {"jsx": "react"}}`;
    expect(effectiveTsconfig("/r/tsconfig.json", missing, host({}))).toBe(missing);
  });
});

describe("paths", () => {
  test("targets against baseUrl (the file's that says it), else against the file that says paths", () => {
    const files = { "/repo/base.json": `{"compilerOptions": {"baseUrl": "./src"}}` };
    const withBase = pathMapping(
      "/repo/app/tsconfig.json",
      `{"extends": "../base.json", "compilerOptions": {"paths": {"@/*": ["lib/*"]}}}`,
      host(files),
    );
    expect(withBase && mapPath(withBase, "@/x")).toEqual(["/repo/src/lib/x"]);
    const own = pathMapping(
      "/repo/app/tsconfig.json",
      `{"compilerOptions": {"paths": {"@/*": ["./lib/*"]}}}`,
      host({}),
    );
    expect(own && mapPath(own, "@/x")).toEqual(["/repo/app/lib/x"]);
  });

  test("an exact pattern first, else the longest prefix; every target in order; no match: none", () => {
    const mapping = pathMapping(
      "/r/tsconfig.json",
      `{"compilerOptions": {"paths": {"*": ["types/*"], "@a/*": ["a/*", "fallback/*"], "@a/b/*": ["ab/*"], "@a/exact": ["e.ts"], "x*.css": ["css/*"]}}}`,
      host({}),
    );
    if (!mapping) throw new Error("no mapping");
    expect(mapPath(mapping, "@a/exact")).toEqual(["/r/e.ts"]);
    expect(mapPath(mapping, "@a/b/c")).toEqual(["/r/ab/c"]);
    expect(mapPath(mapping, "@a/c")).toEqual(["/r/a/c", "/r/fallback/c"]);
    expect(mapPath(mapping, "xyz.css")).toEqual(["/r/css/yz"]);
    expect(mapPath(mapping, "lodash")).toEqual(["/r/types/lodash"]);
    const narrow = pathMapping(
      "/r/tsconfig.json",
      `{"compilerOptions": {"paths": {"@a/*": ["a/*"]}}}`,
      host({}),
    );
    expect(narrow && mapPath(narrow, "lodash")).toEqual([]);
  });

  test("no paths, or a tsconfig that cannot be read: no mapping", () => {
    expect(pathMapping("/r/tsconfig.json", `{"compilerOptions": {}}`, host({}))).toBeNull();
    expect(pathMapping("/r/tsconfig.json", `{"paths": `, host({}))).toBeNull();
  });
});
