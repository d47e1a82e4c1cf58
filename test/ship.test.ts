/**
 * tsuv as a stranger gets it: the npm tarball installed into an empty project and run with npx
 * (Node 20, 22, 24, 26), `bunx --bun` and `deno run` of its bin, the library API imported from it on
 * all runtimes with its types, `deno run` from the checkout, the JSR dry run, and the standalone
 * binary run where there is no Node.js and no node_modules, in both worker classes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { compileBinary, hostTarget } from "../scripts/build-binary.mjs";
import { bun, deno, node20, pinnedNode, ROOT } from "../scripts/tools.mjs";
import {
  childrenOf,
  descendantsOf,
  isAlive,
  killAllStarted,
  type Running,
  start,
  tsuvUrl,
} from "./helpers/spawn.ts";

const TMP = mkdtempSync(join(tmpdir(), "tsuv-ship-"));
/** The empty project the tarball is installed into. */
const PROJECT = join(TMP, "stranger");
/** A directory with an app and nothing else: no node_modules here or above. */
const BARE = join(TMP, "bare");
/** An empty directory: PATH for the binary, so no `node` (nor anything else) can be found. */
const EMPTY_BIN = join(TMP, "empty-bin");
const BINARY = join(TMP, "bin", "tsuv");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

const APP_TS = `export const app = {
  fetch(request: Request): Response {
    // The call stack that reached the app: which of tsuv's files serve (the bundle or the sources).
    if (new URL(request.url).pathname === "/stack") return new Response(new Error("where").stack ?? "");
    const runtime: string = typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";
    return new Response(\`hello from \${runtime} \${new URL(request.url).pathname}\`);
  },
};
declare const Bun: unknown;
declare const Deno: unknown;
`;

/** The library API, as a TypeScript user writes it (type-checked below, run on Node 24, Bun, Deno). */
const MAIN_TS = `import { type Config, EXIT, run, VERSION } from "tsuv";

const options: Partial<Config> = { host: "127.0.0.1", port: 0 };
console.log(\`library tsuv \${VERSION}\`);
const code: number = await run("app.ts:app", options);
console.log(\`library exit \${code === EXIT.ok ? "ok" : code}\`);
`;
const MAIN_MJS = MAIN_TS.replace("type Config, ", "")
  .replace(": Partial<Config>", "")
  .replace(": number", "");

/** The environment a stranger's shell has, without our test-runner variables or colours. */
function userEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  // Offline, as this machine is: npm then never waits on the registry (one run of the suite saw
  // `npx tsuv` print nothing for 20 s, and npm keeps too few logs to say why); the package is
  // installed locally, so npx needs nothing from it.
  return { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, npm_config_offline: "true", ...extra };
}

/**
 * GET, retrying while the port refuses connections: with SO_REUSEPORT workers (Bun, Deno) and under
 * --reload the "running on" line comes from the parent, which only probed the port, before a
 * worker has bound it.
 */
async function get(url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      return await response.text();
    } catch (error) {
      if ((error as { code?: string }).code !== "ECONNREFUSED" || Date.now() > deadline) throw error;
      await Bun.sleep(50);
    }
  }
}

/** SIGTERM the tsuv process (found by its log line, under npx/bunx) and expect a clean exit. */
async function stopGracefully(running: Running): Promise<void> {
  const [, pid] = (await running.waitFor(/Started (?:server|parent) process \[(\d+)\]/)) as string[];
  process.kill(Number(pid), "SIGTERM");
  expect(await running.exited).toBe(0);
}

let tarball = "";

beforeAll(async () => {
  for (const dir of [PROJECT, BARE, EMPTY_BIN]) mkdirSync(dir, { recursive: true });
  // `npm pack` runs prepack (type declarations) and prepare (the Node bundle), as `npm publish` does.
  const packed = execFileSync(
    "npm",
    ["pack", "--json", "--foreground-scripts=false", "--pack-destination", TMP],
    {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  tarball = join(TMP, JSON.parse(packed)[0].filename);

  writeFileSync(
    join(PROJECT, "package.json"),
    JSON.stringify({ name: "stranger", private: true, type: "module" }),
  );
  writeFileSync(join(PROJECT, "app.ts"), APP_TS);
  writeFileSync(join(PROJECT, "main.ts"), MAIN_TS);
  writeFileSync(join(PROJECT, "main.mjs"), MAIN_MJS);
  writeFileSync(
    join(PROJECT, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2023",
        lib: ["es2023", "dom"],
        types: [],
        strict: true,
        noEmit: true,
        verbatimModuleSyntax: true,
        skipLibCheck: false,
      },
      files: ["main.ts"],
    }),
  );
  // Dependencies (citty, consola, esbuild, ...) come from npm's cache when they are there.
  execFileSync("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: PROJECT,
    stdio: ["ignore", "pipe", "pipe"],
  });

  writeFileSync(join(BARE, "app.ts"), APP_TS);
  writeFileSync(join(BARE, "plain.js"), `export default { fetch: () => new Response("plain js") };\n`);
  writeFileSync(join(BARE, "broken.ts"), `throw new Error("broken at import");\n`);
  compileBinary({ outfile: BINARY, quiet: true });
}, 180_000);

afterEach(killAllStarted);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe("the npm package", () => {
  test("the tarball has the bundle, the declarations and the sources, and nothing else of ours", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    for (const file of [
      "bin/tsuv.mjs",
      "dist/cli.mjs",
      "dist/cli-bundle.mjs",
      "dist/worker.mjs",
      "dist/index.mjs",
      "dist/ts-hooks.mjs",
      "dist/deno/cli.mjs",
      "dist/deno/worker.mjs",
      "dist/bun/cli.mjs",
      "dist/bun/cli.mjs.map",
      "dist/bun/worker.mjs",
      "dist/index.d.ts",
    ])
      expect(files).toContain(`package/${file}`);
    expect(files).toContain("package/src/index.ts");
    expect(
      files.filter((f) => /^package\/(test|scripts|deploy|docs)\//.test(f) || f.includes("dist/release")),
    ).toEqual([]);
    expect(files.some((f) => f === "package/dist/tsuv")).toBe(false);
  }, 30_000);

  test("npx tsuv app.ts:app on Node 20", async () => {
    const running = start(["npx", "tsuv", "app.ts:app", "--port", "0"], {
      cwd: PROJECT,
      env: userEnv({ PATH: `${dirname(node20())}:${process.env.PATH}` }),
    });
    const url = await tsuvUrl(running);
    expect(await get(`${url}/npx`)).toBe("hello from node /npx");
    expect(running.output()).toMatch(/Runtime: Node\.js 20\./);
    // bin/tsuv.mjs sends Node to the bundle.
    expect(await get(`${url}/stack`)).toContain("node_modules/tsuv/dist/cli-bundle.mjs");
    await stopGracefully(running);
  }, 30_000);

  // npx and the `#!/usr/bin/env node` of the bin both take the first `node` on PATH. Process
  // workers run the bin again (through bin/tsuv.mjs) with their boot in the environment; threads
  // load the installed bundle's worker entry and the app.
  for (const [major, workerClass] of [
    [22, "thread"],
    [24, "process"],
    [26, "thread"],
  ] as const) {
    test(`npx tsuv app.ts:app on Node ${major}, with ${workerClass} workers`, async () => {
      const running = start(
        ["npx", "tsuv", "app.ts:app", "--port", "0", "--workers", "2", "--worker-class", workerClass],
        { cwd: PROJECT, env: userEnv({ PATH: `${dirname(pinnedNode(major))}:${process.env.PATH}` }) },
      );
      const url = await tsuvUrl(running);
      await running.waitFor(/Started server process[^\n]*\n[\s\S]*Started server process/);
      expect(await get(`${url}/npx${major}`)).toBe(`hello from node /npx${major}`);
      expect(running.output()).toMatch(new RegExp(`Runtime: Node\\.js ${major}\\.`));
      await stopGracefully(running);
    }, 30_000);
  }

  test("bunx --bun tsuv app.ts:app runs dist/bun/ on Bun, with thread workers, its stack frames on src/", async () => {
    const running = start(
      [
        bun(),
        "x",
        "--bun",
        "tsuv",
        "app.ts:app",
        "--port",
        "0",
        "--workers",
        "2",
        "--worker-class",
        "thread",
      ],
      { cwd: PROJECT, env: userEnv() },
    );
    const url = await tsuvUrl(running);
    expect(await get(`${url}/bunx`)).toBe("hello from bun /bunx");
    expect(running.output()).toMatch(/Runtime: Bun \d/);
    // bin/tsuv.mjs sends Bun to dist/bun/, whose source maps Bun applies: tsuv's frames under the
    // app name the sources' lines.
    const stack = await get(`${url}/stack`);
    expect(stack).toMatch(/node_modules\/tsuv\/src\/request-handler\.ts:\d+/);
    expect(stack).not.toContain("node_modules/tsuv/dist/");
    await running.waitFor(/Started server process[^\n]*\n[\s\S]*Started server process/);
    await stopGracefully(running);
  }, 30_000);

  test("bunx --bun tsuv serves from dist/bun/ alone, and from the sources where dist/bun/ was not built", async () => {
    const installed = join(PROJECT, "node_modules", "tsuv");
    // Each start with one of the two moved away (and put back, for the tests after this one).
    for (const away of ["src", join("dist", "bun")]) {
      renameSync(join(installed, away), join(installed, `${away}.away`));
      try {
        const running = start([bun(), "x", "--bun", "tsuv", "app.ts:app", "--port", "0"], {
          cwd: PROJECT,
          env: userEnv(),
        });
        const url = await tsuvUrl(running);
        expect(await get(`${url}/without-${away}`)).toBe(`hello from bun /without-${away}`);
        await stopGracefully(running);
      } finally {
        renameSync(join(installed, `${away}.away`), join(installed, away));
      }
    }
  }, 30_000);

  test("deno run of the installed package's bin serves from dist/deno/, with process and thread workers", async () => {
    // What `deno run -A npm:tsuv` runs: Deno refuses .ts files under node_modules, so bin/tsuv.mjs
    // gives it dist/deno/. Workers need Deno's unstable net API, which no deno.json turns on
    // here: without it, tsuv's one-line refusal.
    const bin = join("node_modules", "tsuv", "bin", "tsuv.mjs");
    const refused = spawnSync(deno(), ["run", "-A", bin, "app.ts:app", "--port", "0", "--workers", "2"], {
      cwd: PROJECT,
      encoding: "utf8",
      env: userEnv(),
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^Error: Worker class "process" requires Deno's unstable net API/);
    for (const workerClass of ["process", "thread"]) {
      const running = start(
        [deno(), "run", "-A", "--unstable-net", bin, "app.ts:app", "--port", "0", "--workers", "2"].concat(
          "--worker-class",
          workerClass,
        ),
        { cwd: PROJECT, env: userEnv() },
      );
      const url = await tsuvUrl(running);
      await running.waitFor(/Started server process[^\n]*\n[\s\S]*Started server process/);
      expect(await get(`${url}/deno-${workerClass}`)).toBe(`hello from deno /deno-${workerClass}`);
      expect(running.output()).toMatch(/Runtime: Deno \d/);
      // A process worker runs the bin again, a thread dist/deno/worker.mjs: both serve from
      // dist/deno/, not from the Node bundle.
      const stack = await get(`${url}/stack`);
      expect(stack).toContain("node_modules/tsuv/dist/deno/");
      expect(stack).not.toContain("node_modules/tsuv/dist/cli-bundle.mjs");
      await stopGracefully(running);
    }
  }, 60_000);

  test("the library API runs from the installed package on Node 20, Node 24, Bun and Deno", async () => {
    const commands: [string, string[]][] = [
      ["node20", [node20(), "main.mjs"]],
      ["node24", [pinnedNode(24), "main.ts"]],
      ["bun", [bun(), "main.ts"]],
      ["deno", [deno(), "run", "-A", "main.ts"]],
    ];
    for (const [name, cmd] of commands) {
      const running = start(cmd, { cwd: PROJECT, env: userEnv() });
      const url = await tsuvUrl(running).catch((error) => {
        throw new Error(`${name}: ${error.message}`);
      });
      expect(await get(`${url}/lib`)).toMatch(/^hello from (node|bun|deno) \/lib$/);
      expect(running.output()).toContain(`library tsuv ${pkg.version}`);
      running.proc.kill("SIGTERM");
      expect(await running.exited).toBe(0);
      expect(running.output()).toContain("library exit ok");
    }
  }, 60_000);

  test("the library API with process workers from the installed package: the workers run tsuv, the caller's script runs once", async () => {
    const main = MAIN_MJS.replace("port: 0 }", "port: 0, workers: 2 }");
    expect(main).toContain("workers: 2");
    writeFileSync(join(PROJECT, "main-workers.mjs"), main);
    const commands: [string, string[]][] = [
      ["node24", [pinnedNode(24), "main-workers.mjs"]],
      ["bun", [bun(), "main-workers.mjs"]],
      ["deno", [deno(), "run", "-A", "--unstable-net", "main-workers.mjs"]],
    ];
    for (const [name, cmd] of commands) {
      const running = start(cmd, { cwd: PROJECT, env: userEnv() });
      const url = await tsuvUrl(running).catch((error) => {
        throw new Error(`${name}: ${error.message}`);
      });
      expect(await get(`${url}/lib`)).toMatch(/^hello from (node|bun|deno) \/lib$/);
      await running.waitFor(/Started server process[\s\S]*Started server process/);
      running.proc.kill("SIGTERM");
      expect(await running.exited).toBe(0);
      const output = running.output();
      expect({ name, scriptRuns: output.split("library tsuv").length - 1 }).toEqual({ name, scriptRuns: 1 });
      expect(output).toContain("library exit ok");
    }
  }, 60_000);

  // Three compiler runs (tsc twice, deno check): ~6 s alone, but past 30 s once in a fresh-clone
  // CI run, beside the parallel test files that start servers on the same 2 cores.
  test("its types: tsc and deno check accept the API and reject a wrong option", () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const ok = spawnSync(node20(), [tsc, "-p", "."], { cwd: PROJECT, encoding: "utf8" });
    expect(ok.stdout + ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    const denoCheck = spawnSync(deno(), ["check", "main.ts"], {
      cwd: PROJECT,
      encoding: "utf8",
      env: userEnv(),
    });
    expect(denoCheck.status).toBe(0);

    writeFileSync(
      join(PROJECT, "wrong.ts"),
      `import { run } from "tsuv";\nawait run("app.ts:app", { workers: "two" });\n`,
    );
    const wrong = spawnSync(
      node20(),
      [
        tsc,
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2023",
        "wrong.ts",
      ],
      { cwd: PROJECT, encoding: "utf8" },
    );
    expect(wrong.stdout).toMatch(
      /wrong\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'\./,
    );
  }, 120_000);
});

describe("exports agree: package.json, deno.json, the bundle, the sources and the declarations", () => {
  const denoJson = JSON.parse(
    // deno.json allows comments; drop whole-line ones.
    readFileSync(join(ROOT, "deno.json"), "utf8").replace(/^\s*\/\/.*$/gm, ""),
  );

  test("the same subpaths, each from the same source module", () => {
    const denoExports: Record<string, string> =
      typeof denoJson.exports === "string" ? { ".": denoJson.exports } : denoJson.exports;
    expect(Object.keys(pkg.exports).sort()).toEqual(Object.keys(denoExports).sort());
    for (const [subpath, source] of Object.entries(denoExports)) {
      const conditions = pkg.exports[subpath];
      expect(conditions.bun).toBe(source);
      // src/<name>.ts is built into dist/<name>.mjs (scripts/build-node.mjs) and dist/<name>.d.ts.
      const name = source.replace(/^\.\/src\//, "").replace(/\.ts$/, "");
      expect(conditions.default).toBe(`./dist/${name}.mjs`);
      expect(conditions.types).toBe(`./dist/${name}.d.ts`);
      expect(readFileSync(join(ROOT, "scripts", "build-node.mjs"), "utf8")).toContain(`"src/${name}.ts"`);
    }
    expect(pkg.version).toBe(denoJson.version);
    expect(pkg.license).toBe(denoJson.license);
    // Every runtime dependency pinned the same way for Deno.
    for (const [dep, version] of Object.entries(pkg.dependencies as Record<string, string>))
      expect(denoJson.imports[dep]).toBe(`npm:${dep}@${version}`);
    // And in the deno.json that test/cli-errors.test.ts gives an app without the unstable net API.
    const fixture = JSON.parse(readFileSync(join(ROOT, "test/fixtures/deno-no-unstable-net.json"), "utf8"));
    expect(fixture.imports).toEqual(denoJson.imports);
  }, 30_000);

  test("the same runtime names from the Node bundle, Bun and Deno, and in the declarations", () => {
    const list = "console.log(JSON.stringify(Object.keys(m).sort()))";
    const fromNode = execFileSync(
      node20(),
      ["--input-type=module", "-e", `import * as m from "./dist/index.mjs"; ${list}`],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    const fromDeno = execFileSync(deno(), ["eval", `import * as m from "./src/index.ts"; ${list}`], {
      cwd: ROOT,
      encoding: "utf8",
      env: userEnv(),
    });
    const fromBun = execFileSync(bun(), ["-e", `const m = await import("./src/index.ts"); ${list}`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const names = JSON.parse(fromNode);
    expect(names).toContain("run");
    expect(JSON.parse(fromDeno)).toEqual(names);
    expect(JSON.parse(fromBun)).toEqual(names);

    // Value exports of dist/index.d.ts (the TypeScript API), types aside.
    const program = ts.createProgram([join(ROOT, "dist", "index.d.ts")], {
      noEmit: true,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const file = program.getSourceFile(join(ROOT, "dist", "index.d.ts"));
    const symbol = file && checker.getSymbolAtLocation(file);
    expect(symbol).toBeDefined();
    const exported = checker.getExportsOfModule(symbol as ts.Symbol);
    const values = exported
      .filter((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        return (target.flags & ts.SymbolFlags.Value) !== 0;
      })
      .map((s) => s.name)
      .sort();
    expect(values).toEqual(names);
    expect(exported.map((s) => s.name)).toContain("Config");
  }, 30_000);

  test("deno publish --dry-run passes (no slow types), offline", () => {
    const result = spawnSync(deno(), ["publish", "--dry-run", "--allow-dirty"], {
      cwd: ROOT,
      encoding: "utf8",
      // A dead proxy: the dry run must not need the network.
      env: userEnv({ HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" }),
    });
    expect(result.stdout + result.stderr).toContain("Success Dry run complete");
    expect(result.status).toBe(0);
  }, 60_000);
});

test("deno run -A src/cli.ts from the checkout", async () => {
  const running = start([deno(), "run", "-A", join(ROOT, "src", "cli.ts"), "app.ts:app", "--port", "0"], {
    cwd: PROJECT,
    env: userEnv(),
  });
  const url = await tsuvUrl(running);
  expect(await get(`${url}/deno`)).toBe("hello from deno /deno");
  await stopGracefully(running);
}, 30_000);

describe("the standalone binary", () => {
  /** No node_modules, no Node.js: only what the binary carries. */
  const bareEnv = () => ({ PATH: EMPTY_BIN, HOME: TMP, NO_COLOR: "1" });

  test("the directory and PATH it runs in have no node_modules and no node", () => {
    for (let dir = BARE; dir !== dirname(dir); dir = dirname(dir))
      expect(existsSync(join(dir, "node_modules"))).toBe(false);
    const which = spawnSync("/bin/sh", ["-c", "command -v node"], { env: bareEnv() });
    expect(which.status).not.toBe(0);
  }, 30_000);

  test("--version names Bun and the host", () => {
    const out = execFileSync(BINARY, ["--version"], { cwd: BARE, env: bareEnv(), encoding: "utf8" });
    const [os, arch] = (hostTarget() as string).split("-");
    expect(out.trim()).toBe(`tsuv ${pkg.version} running on Bun ${Bun.version} (${os}/${arch})`);
  }, 30_000);

  for (const workerClass of ["process", "thread"]) {
    test(`serves a .ts and a .js app with --workers 2 --worker-class ${workerClass}`, async () => {
      for (const [app, body] of [
        ["app.ts:app", "hello from bun /bin"],
        ["plain.js", "plain js"],
      ]) {
        const running = start(
          [BINARY, app as string, "--port", "0", "--workers", "2", "--worker-class", workerClass],
          {
            cwd: BARE,
            env: bareEnv(),
          },
        );
        const url = await tsuvUrl(running);
        await running.waitFor(/Started server process[^\n]*\n[\s\S]*Started server process/);
        expect(await get(`${url}/bin`)).toBe(body as string);
        running.proc.kill("SIGTERM");
        expect(await running.exited).toBe(0);
      }
    }, 30_000);
  }

  test("process workers are the binary re-run as workers, and never start workers of their own", async () => {
    const running = start([BINARY, "app.ts:app", "--port", "0", "--workers", "2"], {
      cwd: BARE,
      env: bareEnv(),
    });
    const url = await tsuvUrl(running);
    await running.waitFor(/Started server process[^\n]*\n[\s\S]*Started server process/);
    expect(await get(`${url}/tree`)).toBe("hello from bun /tree");
    // Give a runaway re-spawn time to show itself.
    await Bun.sleep(1000);
    const children = childrenOf(running.pid);
    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(readlinkSync(`/proc/${child}/exe`)).toBe(BINARY);
      expect(childrenOf(child)).toEqual([]);
    }
    expect(descendantsOf(running.pid)).toHaveLength(2);
    running.proc.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    for (const child of children) expect(isAlive(child)).toBe(false);
  }, 30_000);

  test("a worker boot without a supervisor is refused, not served and not re-spawned", async () => {
    const boot = JSON.stringify({
      argv: ["app.ts:app"],
      listen: { kind: "tcp", host: "127.0.0.1", port: 0 },
    });
    const running = start([BINARY, "app.ts:app", "--port", "0"], {
      cwd: BARE,
      env: { ...bareEnv(), TSUV_WORKER_BOOT: boot },
    });
    expect(await running.exited).toBe(1);
    expect(running.output()).toContain("not started by a tsuv supervisor");
    expect(running.output()).not.toContain("running on");
  }, 30_000);

  test("workers that cannot load the app stop the binary with exit code 3 instead of re-spawning", async () => {
    for (const workerClass of ["process", "thread"]) {
      const running = start(
        [BINARY, "broken.ts", "--port", "0", "--workers", "2", "--worker-class", workerClass],
        {
          cwd: BARE,
          env: bareEnv(),
        },
      );
      expect(await running.exited).toBe(3);
      const started = running.output().match(/Started server process/g) ?? [];
      expect(started.length).toBeLessThanOrEqual(2);
      expect(running.output()).toContain("broken at import");
    }
  }, 30_000);

  test("--reload re-runs the binary when the app changes", async () => {
    const dir = join(TMP, "reload");
    mkdirSync(dir, { recursive: true });
    const appFile = join(dir, "app.ts");
    writeFileSync(appFile, `export const app = { fetch: () => new Response("v1") };\n`);
    const running = start([BINARY, "app.ts:app", "--port", "0", "--reload"], { cwd: dir, env: bareEnv() });
    const url = await tsuvUrl(running);
    await running.waitFor(/Started server process/);
    expect(await get(url)).toBe("v1");
    writeFileSync(appFile, `export const app = { fetch: () => new Response("v2") };\n`);
    await running.waitFor(/Started server process[\s\S]*Started server process/);
    let body = "";
    for (let i = 0; i < 50 && body !== "v2"; i++) {
      body = await fetch(url)
        .then((r) => r.text())
        .catch(() => "");
      if (body !== "v2") await Bun.sleep(100);
    }
    expect(body).toBe("v2");
    running.proc.kill("SIGTERM");
    expect(await running.exited).toBe(0);
  }, 30_000);
});

describe("the linux-arm64 release binary", () => {
  const arm64 = join(TMP, "tsuv-linux-arm64");

  test("is an ELF executable for aarch64", () => {
    compileBinary({ target: "linux-arm64", outfile: arm64, quiet: true });
    const header = readFileSync(arm64).subarray(0, 20);
    expect([...header.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
    expect(header[4]).toBe(2); // 64-bit
    expect(header[5]).toBe(1); // little-endian
    expect(header.readUInt16LE(18)).toBe(0xb7); // e_machine: EM_AARCH64
  }, 120_000);

  // Where Debian's qemu-user and an aarch64 C library (libc6-arm64-cross) are installed: CI installs
  // them (.ci/run), so there their absence is a failure; elsewhere a visible skip.
  const qemu = ["/usr/bin/qemu-aarch64", "/usr/bin/qemu-aarch64-static"].find((path) => existsSync(path));
  const sysroot = ["/usr/aarch64-linux-gnu", "/"].find((root) =>
    existsSync(join(root, "lib", "ld-linux-aarch64.so.1")),
  );
  if ((!qemu || !sysroot) && process.env.CI) {
    test("qemu-user and an aarch64 C library are installed", () => {
      throw new Error(
        "qemu-aarch64 or libc6-arm64-cross is not installed: .ci/run installs Debian's qemu-user-static and libc6-arm64-cross; check its output",
      );
    });
  }
  test.skipIf(!qemu || !sysroot)(
    "serves a request under qemu-user",
    async () => {
      if (!existsSync(arm64)) compileBinary({ target: "linux-arm64", outfile: arm64, quiet: true });
      const running = start([qemu as string, "-L", sysroot as string, arm64, "app.ts:app", "--port", "0"], {
        cwd: BARE,
        env: { PATH: EMPTY_BIN, HOME: TMP, NO_COLOR: "1" },
      });
      const url = await tsuvUrl(running, 60_000);
      expect(running.output()).toContain("Runtime: Bun");
      expect(running.output()).toContain("(linux/arm64)");
      expect(await get(`${url}/arm`)).toBe("hello from bun /arm");
      running.proc.kill("SIGTERM");
      expect(await running.exited).toBe(0);
    },
    90_000,
  );
});
