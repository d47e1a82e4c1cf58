/**
 * src/runtime/paths.ts stands in for node:path's resolve and node:url's pathToFileURL on Deno's
 * start path: it must give the same answers.
 */
import { expect, test } from "bun:test";
import { posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { posixFileUrl, posixResolve } from "../src/runtime/paths.ts";

const CWD = "/home/user/app";

test("posixResolve answers as path.posix.resolve", () => {
  const cases: string[][] = [
    [],
    [""],
    ["main.ts"],
    ["."],
    ["./src/./server.ts"],
    ["a//b///c/"],
    ["/abs/app.ts"],
    ["a", "/b", "../c"],
    ["..", "x"],
    ["../../../../../.."],
    ["/"],
    ["a", ""],
    ["src", "routes", "..", "index.ts"],
    ["/srv/app", "main"],
    ["dir with space", "ü", "😀.ts"],
  ];
  for (const parts of cases)
    expect([parts, posixResolve(CWD, ...parts)]).toEqual([parts, posix.resolve(CWD, ...parts)]);
});

const NAMES = [
  "/srv/app/main.ts",
  "/a b/c.ts",
  "/percent%41/x.ts",
  "/query?x#frag.ts",
  "/back\\slash.ts",
  "/tab\tnewline\ncr\r.ts",
  "/ü/😀.ts",
  '/quote"<>`{}^|.ts',
  "/semi;colon,@+=&$!'()*[]~.ts",
];

test("posixFileUrl names the same file as pathToFileURL", () => {
  for (const name of NAMES) expect(fileURLToPath(posixFileUrl(name))).toBe(name);
});

test("posixFileUrl is pathToFileURL's href for ordinary paths", () => {
  for (const name of NAMES.slice(0, 7)) expect(posixFileUrl(name)).toBe(pathToFileURL(name).href);
});
