// An app whose directory and file names need escaping in a file URL (a space, `%`, `%20`, `#`, a
// non-ASCII letter) is served on every runtime, with a relative import of its own. A `?` works on
// Node.js and Deno; Bun 1.4.5 finds no module under such a path at all (`bun 'a?b/main.ts'` fails
// too), and tsuv says so instead of Bun's "Cannot find module" for a file that is there.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCert } from "./helpers/tls.ts";
import { getBody, killAll, logCount, ROOT, RUNTIMES, runTsuv, startTsuv, waitLog } from "./helpers/tsuv.ts";

afterEach(killAll);

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "tsuv-app-paths-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fixture app (main.ts and its lib/) copied under `dir` as `file`. */
function placeApp(dir: string, file: string): string {
  const target = join(root, dir);
  mkdirSync(join(target, "lib"), { recursive: true });
  cpSync(join(ROOT, "test/fixtures/apps/main.ts"), join(target, file));
  cpSync(join(ROOT, "test/fixtures/apps/lib"), join(target, "lib"), { recursive: true });
  return target;
}

describe.each(RUNTIMES)("%s: app paths that a file URL must escape", (runtime) => {
  test("a space, %, %20, # and é in the directory and file names", async () => {
    const dir = placeApp(`${runtime} a b/100%/é#1`, "ma in%20#.ts");
    const server = await startTsuv(runtime, ["ma in%20#.ts:app", "--port", "0"], { cwd: dir });
    expect(await getBody(server.url, "/")).toContain("app");
  });

  test("a ? in the directory name", async () => {
    const dir = placeApp(`${runtime} q?x`, "main.ts");
    if (runtime !== "bun") {
      const server = await startTsuv(runtime, ["main.ts:app", "--port", "0"], { cwd: dir });
      expect(await getBody(server.url, "/")).toContain("app");
      return;
    }
    const result = await runTsuv(runtime, ["main.ts:app", "--port", "0"], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `Bun cannot import a module whose path has a '?' in it (${join(dir, "main.ts")});`,
    );
  });
});

// uvicorn users name a module with dots (`app.main:app` for app/main.py): app/main.ts here, when no
// file is named app.main.ts (src/app.ts, moduleCandidates).
describe.each(RUNTIMES)("%s: uvicorn's dotted module path", (runtime) => {
  test("app.main:api.app serves app/main.ts's api.app", async () => {
    const dir = join(root, `${runtime} dotted`);
    placeApp(`${runtime} dotted/app`, "main.ts");
    const server = await startTsuv(runtime, ["app.main:api.app", "--port", "0"], { cwd: dir });
    expect(await getBody(server.url, "/")).toContain("api.app");
  });
});

const BUN_STYLE_WARNING =
  "WARNING:  The app's export sets port and hostname (Bun.serve's options, which `bun app.ts` listens with): tsuv ignores them";

describe.each(RUNTIMES)("%s: an app written for `bun app.ts`", (runtime) => {
  function bunStyleApp(): string {
    const dir = join(root, `${runtime} bun-style`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "app.ts"),
      'export default { port: 3000, hostname: "0.0.0.0", fetch: () => new Response("bun-style") };\n',
    );
    return dir;
  }

  test("its export's port and hostname are said to be ignored, and tsuv listens where it is told", async () => {
    const server = await startTsuv(runtime, ["app.ts", "--port", "0"], { cwd: bunStyleApp() });
    expect(await getBody(server.url, "/")).toBe("bun-style");
    expect(server.stderr() + server.stdout()).toContain(BUN_STYLE_WARNING);
  });

  // Every worker loads the same app: the first of a start, and of a SIGHUP restart, says so.
  test.each(["process", "thread"])(
    "said once by 3 %s workers, and once more by a SIGHUP restart",
    async (workerClass) => {
      const args = ["app.ts", "--port", "0", "--workers", "3", "--worker-class", workerClass];
      const server = await startTsuv(runtime, args, { cwd: bunStyleApp() });
      expect(await getBody(server.url, "/")).toBe("bun-style");
      server.signal("SIGHUP");
      // Each old worker is retired once its replacement is ready: all six have loaded the app.
      await waitLog(server, /(?:process \[\d+\]|thread) restarted/, 3);
      expect(logCount(server, /Bun\.serve's options/)).toBe(2);
    },
    30_000,
  );
});

describe.each(RUNTIMES)("%s: an exported https.Server", (runtime) => {
  /** `export default https.createServer({ key, cert }, handler)`, with its own key pair. */
  function httpsServerApp(): string {
    const dir = join(root, `${runtime} https-server`);
    mkdirSync(dir, { recursive: true });
    selfSignedCert(dir);
    writeFileSync(
      join(dir, "app.mjs"),
      [
        'import { readFileSync } from "node:fs";',
        'import https from "node:https";',
        "const pem = (name) => readFileSync(new URL(name, import.meta.url));",
        'export default https.createServer({ key: pem("key.pem"), cert: pem("cert.pem") }, (req, res) => res.end("own https"));',
      ].join("\n"),
    );
    return dir;
  }

  test("is served, and said to be plain HTTP without --ssl-*", async () => {
    const server = await startTsuv(runtime, ["app.mjs", "--port", "0"], { cwd: httpsServerApp() });
    expect(server.url.startsWith("http://")).toBe(true);
    expect(await getBody(server.url, "/")).toBe("own https");
    expect(server.stderr() + server.stdout()).toContain(
      "WARNING:  The app's export is an HTTPS server (https.createServer): tsuv serves its request listeners from its own listener, without the server's key and certificate, so it serves plain HTTP: serve HTTPS with --ssl-keyfile and --ssl-certfile.",
    );
  });

  test("with --ssl-* it is served over HTTPS, and nothing is said", async () => {
    const dir = httpsServerApp();
    const tls = ["--ssl-keyfile", join(dir, "key.pem"), "--ssl-certfile", join(dir, "cert.pem")];
    const server = await startTsuv(runtime, ["app.mjs", "--port", "0", ...tls], { cwd: dir });
    expect(server.url.startsWith("https://")).toBe(true);
    const response = await fetch(`${server.url}/`, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(await response.text()).toBe("own https");
    expect(server.stderr() + server.stdout()).not.toContain("HTTPS server");
  });
});

// A package.json without "type" leaves a .js file's module system to be detected: Node and Bun read
// one that uses require() as CommonJS; Deno reads it as an ES module (require is not defined)
// unless told to detect it (deno.json's "detect-cjs").
describe.each(RUNTIMES)('%s: a CommonJS app in a package without "type"', (runtime) => {
  test("app.js with require() and module.exports, and an ES module esm.js beside it", async () => {
    const dir = join(root, `${runtime} commonjs`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "name": "legacy-app" }\n');
    writeFileSync(join(dir, "lib.js"), 'exports.greet = (name) => "hello " + name;\n');
    writeFileSync(
      join(dir, "app.js"),
      'const { greet } = require("./lib.js");\nmodule.exports = { fetch: () => new Response(greet("cjs")) };\n',
    );
    writeFileSync(join(dir, "esm.js"), 'export default { fetch: () => new Response("esm") };\n');
    const cjs = await startTsuv(runtime, ["app.js", "--port", "0"], { cwd: dir });
    expect(await getBody(cjs.url, "/")).toBe("hello cjs");
    const esm = await startTsuv(runtime, ["esm.js", "--port", "0"], { cwd: dir });
    expect(await getBody(esm.url, "/")).toBe("esm");
  });

  // `tsc` with "module": "commonjs" (esbuild's and Babel's cjs output alike): `export default app`
  // becomes exports.default, marked __esModule. Node and Deno import the whole module.exports as the
  // default, Bun its `default`; tsuv serves the export the source wrote on all three.
  test("a build compiled to CommonJS from an ES module: its default export, and a named one", async () => {
    const dir = join(root, `${runtime} compiled-commonjs`);
    mkdirSync(join(dir, "dist"), { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "name": "compiled-app" }\n');
    writeFileSync(
      join(dir, "dist", "index.js"),
      [
        '"use strict";',
        'Object.defineProperty(exports, "__esModule", { value: true });',
        "exports.api = void 0;",
        'const app = { fetch: () => new Response("compiled default") };',
        'exports.api = { fetch: () => new Response("compiled api") };',
        "exports.default = app;",
        "",
      ].join("\n"),
    );
    const server = await startTsuv(runtime, ["dist/index.js", "--port", "0"], { cwd: dir });
    expect(await getBody(server.url, "/")).toBe("compiled default");
    const named = await startTsuv(runtime, ["dist:api", "--port", "0"], { cwd: dir });
    expect(await getBody(named.url, "/")).toBe("compiled api");
  });
});
