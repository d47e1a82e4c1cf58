// tsuv under the runtimes' permission models, on the real CLI.
// Deno (src/runtime/deno-permissions.ts):
// - a process worker (or --reload's server) is a new `deno run`: it gets the parent's flags as typed
//   under plain -A, and is refused with the reason under anything narrower, where it used to get -A
//   (every permission, and none of the parent's --deny-* flags) or die without a word;
// - thread workers share the parent's permissions, and need read access to tsuv's own modules;
// - a single server with narrow permissions still stops gracefully on SIGHUP, and an app it may not
//   read is reported as such, not as missing.
// Node.js (--permission; --experimental-permission on Node 20): what workers need is refused in one
// line before anything starts (thread workers died with a stack trace), process workers run with
// the parent's flags, so its permissions, a single server stops gracefully on SIGHUP, a
// TypeScript app says which flags its compiler needs, and a file it may not read is named so.
// Plus the pure parts: the child's flags from a command line, and each refusal's wording.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  childDenoFlags,
  type DenoPermissionsApi,
  denoRespawn,
  denoThreadsDenied,
  splitCmdline,
} from "../src/runtime/deno-permissions.ts";
import { nodePermissionFacts } from "../src/runtime/detect.ts";
import { hangupIgnoredFrom } from "../src/runtime/process-basics.ts";
import {
  listenSupport,
  processModeSupport,
  reloadSupport,
  threadModeSupport,
} from "../src/runtime/support.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { getBody, killAll, ROOT, runTsuv, startTsuv, waitIdentities } from "./helpers/tsuv.ts";
import { echo, open } from "./helpers/ws-client.ts";

afterEach(killAll);

const APP = "test/fixtures/apps/permissions.ts";
const APP_DIR = join(ROOT, "test", "fixtures", "apps");
const SOURCE_DIR = join(ROOT, "src");

let secretDir: string;
let secret: string;
beforeAll(() => {
  secretDir = mkdtempSync(join(tmpdir(), "tsuv-deno-perm-"));
  secret = join(secretDir, "secret.txt");
  writeFileSync(secret, "the secret");
});
afterAll(() => rmSync(secretDir, { recursive: true, force: true }));

/** Narrow permissions: loopback only, the app's directory (and `read` more) only, the environment. */
const narrow = (...read: string[]) => [
  "--allow-net=127.0.0.1",
  `--allow-read=${[APP_DIR, ...read].join(",")}`,
  "--allow-env",
];

describe("deno: process workers and --reload under narrow permissions are refused with the reason", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "--workers 2",
      ["--workers", "2"],
      /^Error: Worker class "process" starts Deno again with this process's permissions/m,
    ],
    ["--reload", ["--reload"], /^Error: --reload starts Deno again with this process's permissions/m],
  ];
  for (const [label, extra, refusal] of cases) {
    test(`${label}: narrow --allow-* flags`, async () => {
      const result = await runTsuv("deno", [APP, "--port", "0", ...extra], { runtimeFlags: narrow() });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(refusal);
      expect(result.stderr).toContain("run with -A and no --deny-*");
      expect(result.stderr).not.toContain("died");
    });
  }

  test("--workers 2: -A with a --deny-* flag, which a child given -A would not keep", async () => {
    const result = await runTsuv("deno", [APP, "--port", "0", "--workers", "2"], {
      runtimeFlags: ["-A", `--deny-read=${secretDir}`],
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "or use --worker-class thread, whose workers share this process's permissions",
    );
    expect(result.stderr).not.toContain("Started server process");
  });
});

describe("deno: process workers under -A get the parent's flags", () => {
  test("--location reaches every worker", async () => {
    const server = await startTsuv("deno", [APP, "--port", "0", "--workers", "2", "--no-access-log"], {
      runtimeFlags: ["-A", "--location=https://example.test/app/"],
    });
    const answers = await waitIdentities(server.url, 2);
    for (const answer of answers) expect(answer).toEndWith("location https://example.test/app/");
  });
});

describe("deno: thread workers share the parent's permissions", () => {
  test("refused, naming the directory, without read access to tsuv's modules", async () => {
    const result = await runTsuv("deno", [APP, "--port", "0", "--workers", "2", "--worker-class", "thread"], {
      runtimeFlags: narrow(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Worker class "thread" loads tsuv's modules in each thread, and Deno lets a thread load only modules it may read: add --allow-read=${SOURCE_DIR};`,
    );
    expect(result.stderr).not.toContain("died");
  });

  test("with it they serve, and may read no more than the parent", async () => {
    const server = await startTsuv(
      "deno",
      [APP, "--port", "0", "--workers", "2", "--worker-class", "thread", "--no-access-log"],
      { runtimeFlags: narrow(SOURCE_DIR) },
    );
    await waitIdentities(server.url, 1);
    for (let i = 0; i < 4; i++) {
      expect(await getBody(server.url, `/read?path=${encodeURIComponent(secret)}`)).toBe("denied NotCapable");
    }
  });
});

describe("deno: a single server under narrow permissions", () => {
  test("stops gracefully on SIGHUP (Deno shows /proc/self/status only under -A)", async () => {
    const server = await startTsuv("deno", [APP, "--port", "0"], { runtimeFlags: narrow() });
    server.signal("SIGHUP");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("Received SIGHUP");
  });

  test("serves a WebSocket app and a node-interface app: the modules it imports only for them were read ahead", async () => {
    // src/server.ts imports the WebSocket layer and the node-interface handler only for apps that
    // use them; Deno lets a narrow process import a module it did not read at start-up only if it
    // may read its file, and src/ is not in --allow-read here.
    const ws = await startTsuv("deno", ["test/fixtures/apps/websocket.ts", "--port", "0"], {
      runtimeFlags: narrow(),
    });
    const { ws: socket } = await open(`ws://127.0.0.1:${ws.port}/echo`);
    expect(await echo(socket, "hello")).toBe("hello");
    socket.close();
    const node = await startTsuv(
      "deno",
      ["test/fixtures/apps/node-app.ts", "--interface", "node", "--port", "0"],
      {
        runtimeFlags: narrow(),
      },
    );
    expect(await getBody(node.url, "/own-server")).toBe("own");
  });

  test("an app it may not read is reported so, not as missing", async () => {
    const app = join(secretDir, "app.ts");
    writeFileSync(app, "export default { fetch: () => new Response('hi') };\n");
    const result = await runTsuv("deno", [app, "--port", "0"], { runtimeFlags: narrow() });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`Requires read access to "${app}"`);
  });
});

const NODE_PERMISSION = {
  node20: "--experimental-permission",
  node22: "--permission",
  node24: "--permission",
  node26: "--permission",
} as const;
/** Node 25+ keeps the network behind --allow-net too (the describe below it says what without). */
const NODE_NET = { node20: [], node22: [], node24: [], node26: ["--allow-net"] } as const;

describe.each(["node20", "node22", "node24", "node26"] as const)(
  "%s: workers under the permission model",
  (runtime) => {
    const model = (...flags: string[]) => [
      NODE_PERMISSION[runtime],
      "--allow-fs-read=*",
      ...NODE_NET[runtime],
      ...flags,
    ];
    /** The model with reads of the checkout only (so not of secretDir). */
    const readRoot = (...flags: string[]) => [
      NODE_PERMISSION[runtime],
      `--allow-fs-read=${ROOT}/*`,
      ...NODE_NET[runtime],
      ...flags,
    ];
    const cases: [string, string[], string[], string][] = [
      [
        "thread workers without --allow-worker",
        ["--worker-class", "thread"],
        ["--allow-child-process"],
        `Error: Worker class "thread" starts threads, which Node.js's permission model (--permission) allows only with --allow-worker;`,
      ],
      [
        "thread workers without --allow-child-process",
        ["--worker-class", "thread"],
        ["--allow-worker"],
        `Error: Worker class "thread" gives each thread its own copy of the listening socket through a helper process, which Node.js's permission model (--permission) allows only with --allow-child-process;`,
      ],
      [
        "process workers without --allow-child-process",
        [],
        ["--allow-worker"],
        `Error: Worker class "process" starts Node.js again, which Node.js's permission model (--permission) allows only with --allow-child-process;`,
      ],
    ];
    for (const [label, extra, flags, refusal] of cases) {
      test(`${label}: refused in one line`, async () => {
        const result = await runTsuv(runtime, [APP, "--port", "0", "--workers", "2", ...extra], {
          runtimeFlags: model(...flags),
        });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(refusal);
        expect(result.stderr).not.toContain("node:internal");
        expect(result.stderr).not.toContain("running on");
      });
    }

    test("a TypeScript app says which flags esbuild needs (Node 20 said only 'Access to this API has been restricted')", async () => {
      const result = await runTsuv(runtime, [APP, "--port", "0"], { runtimeFlags: model() });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(
        `failed to load: a TypeScript app needs --allow-worker${runtime === "node20" ? " and --allow-child-process" : ""} under Node.js's permission model (--permission)`,
      );
    });

    test("a file it may not read is named with its option and its path, not taken for missing", async () => {
      const app = join(secretDir, "app.mjs");
      writeFileSync(app, "export default { fetch: () => new Response('hi') };\n");
      const flags = readRoot();
      const envFile = await runTsuv(runtime, [APP, "--port", "0", "--env-file", secret], {
        runtimeFlags: flags,
      });
      expect(envFile.code).toBe(1);
      expect(envFile.stderr).toContain(
        `--env-file: cannot read ${secret}: Access to this API has been restricted`,
      );
      const appRun = await runTsuv(runtime, [app, "--port", "0"], { runtimeFlags: flags });
      expect(appRun.code).toBe(3);
      expect(appRun.stderr).toContain(
        `Node.js's permission model (--permission) does not let it read ${app}: add it to --allow-fs-read.`,
      );
    });

    test("a single server that may not read /proc/self/status stops gracefully on SIGHUP", async () => {
      const server = await startTsuv(runtime, [APP, "--port", "0"], {
        runtimeFlags: readRoot("--allow-worker", "--allow-child-process"),
      });
      server.signal("SIGHUP");
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toContain("Received SIGHUP");
    });

    test("process workers run with the parent's permissions", async () => {
      const server = await startTsuv(runtime, [APP, "--port", "0", "--workers", "2", "--no-access-log"], {
        runtimeFlags: readRoot("--allow-worker", "--allow-child-process"),
      });
      await waitIdentities(server.url, 2);
      for (let i = 0; i < 4; i++) {
        expect(await getBody(server.url, `/read?path=${encodeURIComponent(secret)}`)).toBe(
          "denied ERR_ACCESS_DENIED",
        );
      }
    });
  },
);

describe("node26: listening needs --allow-net under the permission model", () => {
  // Node 26 threw from inside listen() (for a host, from a DNS callback): "ERROR: Uncaught exception"
  // with Node's stack, then exit 3 as if the app had hung. Node 20, 22 and 24 have no network
  // permission, and serve under the same flags (the SIGHUP test above runs them without --allow-net).
  const refusal =
    "Error: tsuv listens on a socket, which Node.js's permission model (--permission) allows only with --allow-net; found Node.js 26.";
  const cases: [string, string[]][] = [
    ["a single server", []],
    ["process workers", ["--workers", "2"]],
    ["thread workers", ["--workers", "2", "--worker-class", "thread"]],
    ["a unix socket", ["--uds", join(tmpdir(), `tsuv-perm-${process.pid}.sock`)]],
  ];
  for (const [label, extra] of cases) {
    test(`${label}: refused in one line before the app loads, exit 1`, async () => {
      const result = await runTsuv("node26", [APP, "--port", "0", ...extra], {
        runtimeFlags: [
          "--permission",
          `--allow-fs-read=${ROOT}/*`,
          "--allow-worker",
          "--allow-child-process",
        ],
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(refusal);
      expect(result.stderr).not.toContain("Uncaught");
      expect(result.stderr).not.toContain("    at ");
      expect(result.stderr).not.toContain("Waiting for application startup");
    });
  }

  test("nodePermissionFacts: refused only under the model, where it has a network permission not granted", () => {
    const granted = (...scopes: string[]) => ({ has: (scope: string) => scopes.includes(scope) });
    const listenDenied = (
      permission: { has(scope: string): boolean } | undefined,
      hasNetPermission: boolean,
    ) => nodePermissionFacts(permission, [], () => hasNetPermission).listenDenied;
    // No model (process.permission is absent): nothing asked, nothing refused.
    expect(listenDenied(undefined, true)).toBeNull();
    // Node 20-24 under the model: has("net") is false there, yet the network is never checked.
    expect(listenDenied(granted("child", "worker"), false)).toBeNull();
    expect(listenDenied(granted("child", "worker"), true)).toBe(
      "which Node.js's permission model (--permission) allows only with --allow-net",
    );
    expect(listenDenied(granted("net"), true)).toBeNull();
    expect(listenSupport(fakeRuntime({ version: "26.10.0", caps: { listenDenied: "which X" } }))).toEqual({
      ok: false,
      reason: "tsuv listens on a socket, which X; found Node.js 26.10.0 on linux.",
    });
    expect(listenSupport(fakeRuntime()).ok).toBe(true);
  });
});

test("hangupIgnoredFrom: a /proc/self/status hidden by permissions means not ignored; no /proc, unknown", () => {
  const failing = (error: object) => () => {
    throw error;
  };
  expect(hangupIgnoredFrom(failing(Object.assign(new Error("x"), { name: "NotCapable" })))).toBe(false);
  expect(hangupIgnoredFrom(failing(Object.assign(new Error("x"), { code: "ERR_ACCESS_DENIED" })))).toBe(
    false,
  );
  expect(hangupIgnoredFrom(failing(Object.assign(new Error("x"), { code: "ENOENT" })))).toBeUndefined();
  expect(hangupIgnoredFrom(() => "SigIgn:\t0000000000000001\n")).toBe(true);
});

describe("the child's Deno flags", () => {
  test("everything between the executable and the script, less the subcommand", () => {
    const cmdline = [
      "deno",
      "run",
      "-A",
      "--config",
      "deno.json",
      "--v8-flags=--max-old-space-size=64",
      "cli.ts",
      "app:main",
      "--workers",
      "2",
    ];
    expect(childDenoFlags(cmdline, 3)).toEqual([
      "-A",
      "--config",
      "deno.json",
      "--v8-flags=--max-old-space-size=64",
    ]);
    // `deno -A main.ts`: no subcommand.
    expect(childDenoFlags(["deno", "-A", "cli.ts"], 0)).toEqual(["-A"]);
    // An argument after the script that looks like a Deno flag stays the app's.
    expect(childDenoFlags(["deno", "run", "-A", "cli.ts", "-A"], 1)).toEqual(["-A"]);
  });

  test("less Deno's own watcher and its cache reload, which belong to the parent", () => {
    const cmdline = [
      "deno",
      "run",
      "-A",
      "--watch",
      "--watch=src",
      "--watch-exclude=x",
      "--reload",
      "-r",
      "--reload=jsr:@std",
      "cli.ts",
    ];
    expect(childDenoFlags(cmdline, 0)).toEqual(["-A"]);
  });

  test("null when the script is not where the argument count puts it", () => {
    expect(childDenoFlags(["deno"], 0)).toBeNull();
    expect(childDenoFlags(["deno", "a"], 3)).toBeNull();
  });

  test("/proc/self/cmdline: NUL-terminated, empty arguments kept", () => {
    expect(splitCmdline("deno\0run\0-A\0cli.ts\0\0x\0")).toEqual(["deno", "run", "-A", "cli.ts", "", "x"]);
  });
});

describe("denoRespawn and denoThreadsDenied, with a fake Deno", () => {
  const error = (name: string) => Object.assign(new Error(name), { name });
  const fake = (
    read: () => string,
    granted: (kind: string, path?: string) => boolean,
  ): DenoPermissionsApi => ({
    args: ["app:main"],
    readTextFileSync: read,
    permissions: { querySync: ({ name, path }) => ({ state: granted(name, path) ? "granted" : "prompt" }) },
  });

  test("the command line when Deno shows it", () => {
    const deno = fake(
      () => "deno\0run\0-A\0--location=https://x/\0cli.ts\0app:main\0",
      () => true,
    );
    expect(denoRespawn(deno)).toEqual({ ok: true, runtimeArgs: ["-A", "--location=https://x/"] });
  });

  test("refused when Deno hides it (narrow permissions, or -A with --deny-*)", () => {
    const deno = fake(
      () => {
        throw error("NotCapable");
      },
      () => true,
    );
    const respawn = denoRespawn(deno);
    expect(respawn.ok).toBe(false);
  });

  test("no /proc (macOS): -A when every kind is granted, else refused", () => {
    const noProc = () => {
      throw error("NotFound");
    };
    expect(denoRespawn(fake(noProc, () => true))).toEqual({ ok: true, runtimeArgs: ["-A"] });
    expect(denoRespawn(fake(noProc, (kind) => kind !== "ffi")).ok).toBe(false);
  });

  test("tsuv's source directory when it may not be read; remote modules are not checked", () => {
    const deno = fake(
      () => "",
      (kind, path) => kind === "read" && path === "/opt/tsuv/src",
    );
    expect(denoThreadsDenied(deno, new URL("file:///opt/tsuv/src/"))).toBeNull();
    expect(denoThreadsDenied(deno, new URL("file:///srv/tsuv%20copy/src/"))).toEndWith(
      "add --allow-read=/srv/tsuv copy/src",
    );
    expect(denoThreadsDenied(deno, new URL("https://jsr.io/@tsuv/tsuv/0.1.0/src/"))).toBeNull();
  });
});

describe("the refusals name what to do and what was found", () => {
  const refused = {
    ok: false as const,
    reason: "starts Deno again with this process's permissions, which ...: run with -A and no --deny-*",
  };
  const deno = fakeRuntime({
    name: "deno",
    displayName: "Deno",
    version: "2.9.6",
    caps: { unstableNet: true, respawn: refused },
  });

  test("process workers: the reason, then the thread class", () => {
    expect(processModeSupport(deno)).toEqual({
      ok: false,
      reason: `Worker class "process" ${refused.reason}, or use --worker-class thread, whose workers share this process's permissions; found Deno 2.9.6 on linux.`,
    });
  });

  test("process workers: no thread class offered where threads are refused too", () => {
    const node = fakeRuntime({ caps: { respawn: refused, threadsDenied: "starts threads, which ..." } });
    const support = processModeSupport(node);
    expect(support.ok).toBe(false);
    if (!support.ok)
      expect(support.reason).toBe(`Worker class "process" ${refused.reason}; found Node.js 24.9.0 on linux.`);
  });

  test("--reload: the reason", () => {
    expect(reloadSupport(deno)).toEqual({
      ok: false,
      reason: `--reload ${refused.reason}; found Deno 2.9.6 on linux.`,
    });
    expect(reloadSupport(fakeRuntime()).ok).toBe(true);
  });

  test("thread workers: the directory to allow", () => {
    const unreadable = fakeRuntime({
      name: "deno",
      displayName: "Deno",
      version: "2.9.6",
      caps: { unstableNet: true, threadsDenied: "loads ...: add --allow-read=/opt/tsuv/src" },
    });
    const support = threadModeSupport(unreadable);
    expect(support.ok).toBe(false);
    if (!support.ok)
      expect(support.reason).toContain("add --allow-read=/opt/tsuv/src; found Deno 2.9.6 on linux.");
  });
});
