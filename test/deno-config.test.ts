/**
 * The app's own deno.json under tsuv on Deno (src/runtime/deno-config.ts): Deno reads the
 * configuration beside its main module, tsuv's src/cli.ts, so an app's deno.json (its import map,
 * its compilerOptions) is not read unless tsuv is a member of the app's workspace. tsuv says so at
 * start-up; the workspace it points to works, with workers and --reload.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deno } from "../scripts/tools.mjs";
import {
  appCompiles,
  appModuleDir,
  type ConfigFs,
  namesConfig,
  unreadAppConfig,
} from "../src/runtime/deno-config.ts";
import { killAllStarted, start, tsuvUrl } from "./helpers/spawn.ts";
import { ROOT } from "./helpers/tsuv.ts";

/** A filesystem of these files (path -> text); `unreadable` paths may not be read. */
function fakeFs(files: Record<string, string>, unreadable: string[] = []): ConfigFs {
  return {
    mayRead: (path) => !unreadable.includes(path),
    isFile: (path) => path in files,
    readText: (path) => files[path] ?? "",
  };
}

describe("unreadAppConfig", () => {
  const MAIN = "/opt/tsuv/src";
  const TSUV_CONFIG = { "/opt/tsuv/deno.json": "{}" };

  test("no deno.json near the app: nothing to say", () => {
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs(TSUV_CONFIG))).toBeNull();
  });

  test("the app's deno.json (or .jsonc, or one in a folder above) beside tsuv's: not read", () => {
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs({ ...TSUV_CONFIG, "/srv/app/deno.json": "{}" }))).toBe(
      "/srv/app/deno.json",
    );
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs({ ...TSUV_CONFIG, "/srv/app/deno.jsonc": "{}" }))).toBe(
      "/srv/app/deno.jsonc",
    );
    expect(
      unreadAppConfig("/srv/app/src", MAIN, fakeFs({ ...TSUV_CONFIG, "/srv/app/deno.json": "{}" })),
    ).toBe("/srv/app/deno.json");
  });

  test("the app inside tsuv's tree, under tsuv's own deno.json: read", () => {
    expect(unreadAppConfig("/opt/tsuv/examples", MAIN, fakeFs(TSUV_CONFIG))).toBeNull();
  });

  test("no deno.json beside tsuv (an npm install inside the app): the app's is the nearest, read", () => {
    const app = { "/srv/app/deno.json": "{}" };
    expect(unreadAppConfig("/srv/app", "/srv/app/node_modules/tsuv/dist", fakeFs(app))).toBeNull();
  });

  test("above tsuv's deno.json: read as a workspace root, not otherwise", () => {
    const main = "/srv/app/tsuv/src";
    const member = { "/srv/app/tsuv/deno.json": "{}" };
    const root = { ...member, "/srv/app/deno.json": '{ "workspace" : ["./tsuv"] }' };
    expect(unreadAppConfig("/srv/app", main, fakeFs(root))).toBeNull();
    const plain = { ...member, "/srv/app/deno.json": '{ "imports": {} }' };
    expect(unreadAppConfig("/srv/app", main, fakeFs(plain))).toBe("/srv/app/deno.json");
  });

  test("a tsconfig.json beside a package.json counts when it sets JSX or decorators", () => {
    const files = { ...TSUV_CONFIG, "/srv/app/package.json": "{}" };
    const jsx = {
      ...files,
      "/srv/app/tsconfig.json": `{"compilerOptions": {"jsxImportSource": "hono/jsx"}}`,
    };
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs(jsx))).toBe("/srv/app/tsconfig.json");
    const strictOnly = { ...files, "/srv/app/tsconfig.json": `{"compilerOptions": {"strict": true}}` };
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs(strictOnly))).toBeNull();
    const alone = { ...TSUV_CONFIG, "/srv/app/tsconfig.json": `{"compilerOptions": {"jsx": "react-jsx"}}` };
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs(alone))).toBeNull();
  });

  test("a JavaScript app (tsc's build beside the tsconfig.json that made it) is not warned about that tsconfig.json", () => {
    const nest = {
      ...TSUV_CONFIG,
      "/srv/app/package.json": "{}",
      "/srv/app/tsconfig.json": `{"compilerOptions": {"experimentalDecorators": true, "outDir": "dist"}}`,
    };
    expect(unreadAppConfig("/srv/app/dist", MAIN, fakeFs(nest), () => false)).toBeNull();
    expect(unreadAppConfig("/srv/app/src", MAIN, fakeFs(nest), () => true)).toBe("/srv/app/tsconfig.json");
    // Its deno.json still counts: the import map applies to JavaScript too.
    const withDenoJson = { ...nest, "/srv/app/deno.json": "{}" };
    expect(unreadAppConfig("/srv/app/dist", MAIN, fakeFs(withDenoJson), () => false)).toBe(
      "/srv/app/deno.json",
    );
    // Whether the app compiles (a look for its file) is asked only where a tsconfig.json is in question.
    let asked = 0;
    const compiles = () => {
      asked++;
      return true;
    };
    unreadAppConfig("/srv/app/dist", MAIN, fakeFs(withDenoJson), compiles);
    expect(asked).toBe(0);
    unreadAppConfig("/srv/app/dist", MAIN, fakeFs(nest), compiles);
    expect(asked).toBeGreaterThan(0);
  });

  test("appCompiles: the APP's module as importApp finds it, TypeScript or JSX", () => {
    const files = new Set([
      "/srv/app/dist/main.js",
      "/srv/app/src/main.ts",
      "/srv/app/web/index.jsx",
      "/srv/app/api/index.mjs",
    ]);
    const isFile = (path: string) => files.has(path);
    expect(appCompiles("dist/main.js", "/srv/app", isFile)).toBe(false);
    expect(appCompiles("dist/main:app", "/srv/app", isFile)).toBe(false);
    expect(appCompiles("dist.main:app", "/srv/app", isFile)).toBe(false);
    expect(appCompiles("api", "/srv/app", isFile)).toBe(false);
    expect(appCompiles("src/main", "/srv/app", isFile)).toBe(true);
    expect(appCompiles("web/", "/srv/app", isFile)).toBe(true);
    // Not found, or not an import string: the load says so; the warning is not held back.
    expect(appCompiles("missing:app", "/srv/app", isFile)).toBe(true);
    expect(appCompiles("main:", "/srv/app", isFile)).toBe(true);
  });

  test("a deno.json this process may not read is not looked at (Deno would prompt for it)", () => {
    const files = { ...TSUV_CONFIG, "/srv/app/deno.json": "{}" };
    expect(unreadAppConfig("/srv/app", MAIN, fakeFs(files, ["/srv/app/deno.json"]))).toBeNull();
  });

  test("appModuleDir and namesConfig", () => {
    expect(appModuleDir("main:app")).toBe(".");
    expect(appModuleDir("src/server.ts")).toBe("src");
    expect(appModuleDir("/srv/app/main:api.app")).toBe("/srv/app");
    expect(appModuleDir("/main")).toBe("/");
    expect(appModuleDir("app.api.v1:app")).toBe("app/api");
    expect(appModuleDir("main.ts:app")).toBe(".");
    expect(namesConfig(["-A", "--config", "deno.json"])).toBe(true);
    expect(namesConfig(["-A", "--config=deno.json"])).toBe(true);
    expect(namesConfig(["-c", "deno.json"])).toBe(true);
    expect(namesConfig(["-A", "--cached-only"])).toBe(false);
  });
});

describe("on Deno", () => {
  const TMP = mkdtempSync(join(tmpdir(), "tsuv-deno-config-"));
  afterEach(killAllStarted);

  /** A project: an app importing "greet" through its deno.json's import map, and that deno.json. */
  function project(name: string, config: Record<string, unknown>): string {
    const dir = join(TMP, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "greet.ts"), 'export const greet = () => "hello from the import map";\n');
    writeFileSync(
      join(dir, "app.ts"),
      'import { greet } from "greet";\nexport default { fetch: () => new Response(greet()) };\n',
    );
    writeFileSync(join(dir, "deno.json"), JSON.stringify({ imports: { greet: "./greet.ts" }, ...config }));
    return dir;
  }
  // A Deno cache of its own: the workspace below must find tsuv's npm packages in the node_modules
  // that `npm install` made, not download them (checked at the end).
  const DENO_DIR = join(TMP, "deno-dir");
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", DENO_DIR };
  afterAll(() => {
    const downloaded = existsSync(join(DENO_DIR, "npm", "registry.npmjs.org"));
    rmSync(TMP, { recursive: true, force: true });
    expect(downloaded).toBe(false);
  });

  test("an app beside its own deno.json: tsuv says that file is not read, and how to have it read", async () => {
    const dir = project("alone", {});
    // As the README runs it: tsuv's src/cli.ts, from the app's directory, no --config.
    const running = start([deno(), "run", "-A", join(ROOT, "src", "cli.ts"), "app", "--port", "0"], {
      cwd: dir,
      env,
    });
    expect(await running.exited).toBe(3);
    const out = running.output();
    expect(out).toContain(
      `WARNING:  The app's ${dir}/deno.json is not read: Deno reads the configuration beside its main module, here ${ROOT}/src/cli.ts,`,
    );
    expect(out).toContain(`put tsuv (or a link to it) at ${dir}/tsuv, and add "workspace": ["./tsuv"]`);
    // Said before the failure it explains.
    expect(out.indexOf("is not read")).toBeLessThan(out.indexOf('Import "greet" not a dependency'));
  });

  for (const mode of [
    [],
    ["--workers", "2"],
    ["--workers", "2", "--worker-class", "thread"],
    ["--reload", "--reload-include", "*.ts"],
  ]) {
    test(`the workspace that warning names serves with the app's import map: ${mode.join(" ") || "one worker"}`, async () => {
      const dir = project(`workspace${mode.join("")}`, {
        workspace: ["./tsuv"],
        unstable: ["net", "no-legacy-abort", "detect-cjs"],
        // tsuv's npm packages from its node_modules, as tsuv's own deno.json says (docs/deployment.md).
        nodeModulesDir: "manual",
      });
      symlinkSync(ROOT, join(dir, "tsuv"));
      const running = start([deno(), "run", "-A", "tsuv/src/cli.ts", "app", "--port", "0", ...mode], {
        cwd: dir,
        env,
      });
      const url = await tsuvUrl(running, 30_000);
      expect(await (await fetch(url)).text()).toBe("hello from the import map");
      expect(running.output()).not.toContain("is not read");
    });
  }

  test("a JSX app's tsconfig.json beside its package.json: the same warning, naming the deno.json to write", async () => {
    const dir = join(TMP, "jsx");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), `{"name": "jsx-app", "type": "module"}`);
    writeFileSync(
      join(dir, "tsconfig.json"),
      `{"compilerOptions": {"jsx": "react-jsx", "jsxImportSource": "hono/jsx"}}`,
    );
    writeFileSync(join(dir, "app.ts"), 'export default { fetch: () => new Response("jsx") };\n');
    const running = start([deno(), "run", "-A", join(ROOT, "src", "cli.ts"), "app", "--port", "0"], {
      cwd: dir,
      env,
    });
    await tsuvUrl(running, 30_000);
    expect(running.output()).toContain(
      `WARNING:  The app's ${dir}/tsconfig.json is not read: Deno reads the configuration beside its main module, here ${ROOT}/src/cli.ts, so its compilerOptions do not apply.`,
    );
    expect(running.output()).toContain(
      `"unstable": ["net", "no-legacy-abort", "detect-cjs"] to ${dir}/deno.json`,
    );
  });

  test("an app with no deno.json of its own: nothing said", async () => {
    const dir = join(TMP, "plain");
    mkdirSync(dir);
    writeFileSync(join(dir, "app.ts"), 'export default { fetch: () => new Response("plain") };\n');
    const running = start([deno(), "run", "-A", join(ROOT, "src", "cli.ts"), "app", "--port", "0"], {
      cwd: dir,
      env,
    });
    const url = await tsuvUrl(running, 30_000);
    expect(await (await fetch(url)).text()).toBe("plain");
    expect(running.output()).not.toContain("WARNING");
  });
});
