/** App loading: spec parsing, resolution order, attributes, factories, interfaces, messages. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dottedModulePath, importApp, moduleCandidates, parseAppSpec } from "../src/app.ts";
import { toLoadedApp } from "../src/app-shapes.ts";
import { AppLoadError } from "../src/errors.ts";
import { serveOptionsWarning } from "../src/load-app.ts";

const appDir = join(import.meta.dir, "fixtures", "apps");
const deps = { importModule: (path: string) => import(path), exists: existsSync, resolvePath: resolve };
const load = async (app: string, extra: { factory?: boolean } = {}) =>
  (await importApp({ app, appDir, interface: "auto", ...extra }, deps)).target;

describe("parseAppSpec", () => {
  test("path, attribute and dotted attributes", () => {
    expect(parseAppSpec("main")).toEqual({ module: "main", attrs: [] });
    expect(parseAppSpec("main:app")).toEqual({ module: "main", attrs: ["app"] });
    expect(parseAppSpec("src/main.ts:api.app")).toEqual({ module: "src/main.ts", attrs: ["api", "app"] });
    expect(parseAppSpec("C:\\srv\\main.ts:app")).toEqual({ module: "C:\\srv\\main.ts", attrs: ["app"] });
  });
  for (const bad of ["main:", ":app", "main:a..b", "main:1x"]) {
    test(`bad format ${bad}`, () => {
      expect(() => parseAppSpec(bad)).toThrow(
        `Error loading app. Import string "${bad}" must be in format "<module>:<attribute>".`,
      );
    });
  }
});

test("main resolves main.ts, main.js, main.mjs, the other extensions, then main/index.*; an extension is taken as is", () => {
  const files = (base: string) =>
    [".ts", ".js", ".mjs", ".tsx", ".jsx", ".mts", ".cts", ".cjs"].map((ext) => base + ext);
  expect(moduleCandidates("main", "/srv", resolve)).toEqual([
    ...files("/srv/main"),
    ...files("/srv/main/index"),
  ]);
  expect(moduleCandidates("app.js", "/srv", resolve)).toEqual(["/srv/app.js"]);
  expect(moduleCandidates("app.tsx", "/srv", resolve)).toEqual(["/srv/app.tsx"]);
  // A directory as written: its index only, not a file beside it (/srv.ts, /srv/src.ts).
  expect(moduleCandidates(".", "/srv", resolve)).toEqual(files("/srv/index"));
  expect(moduleCandidates("src/", "/srv", resolve)).toEqual(files("/srv/src/index"));
  expect(moduleCandidates("src/..", "/srv", resolve)).toEqual(files("/srv/index"));
  expect(moduleCandidates("..", "/srv/app", resolve)).toEqual(files("/srv/index"));
  expect(moduleCandidates("src/main", "/srv", resolve)[0]).toBe("/srv/src/main.ts");
  // uvicorn's dotted module: the name with its dots first, then as a path.
  expect(moduleCandidates("app.main", "/srv", resolve)).toEqual([
    ...files("/srv/app.main"),
    ...files("/srv/app.main/index"),
    ...files("/srv/app/main"),
    ...files("/srv/app/main/index"),
  ]);
});

test("dottedModulePath: uvicorn's module names as paths; anything else is not one", () => {
  expect(dottedModulePath("app.main")).toBe("app/main");
  expect(dottedModulePath("app.api.v1")).toBe("app/api/v1");
  expect(dottedModulePath("my-app.main")).toBe("my-app/main");
  for (const module of ["main.ts", "app.main.mjs", "src/app.main", "main", "app..main", ".main", "main."]) {
    expect(dottedModulePath(module)).toBeNull();
  }
});

describe("importApp: a package directory and uvicorn's dotted module, on disk", () => {
  let dir: string;
  const serve = (text: string) =>
    `export const app = { fetch: () => new Response(${JSON.stringify(text)}) };\n`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tsuv-app-forms-"));
    mkdirSync(join(dir, "app", "api"), { recursive: true });
    writeFileSync(join(dir, "app", "main.ts"), serve("app/main.ts"));
    writeFileSync(join(dir, "app", "api", "index.js"), serve("app/api/index.js"));
    writeFileSync(join(dir, "app", "index.mjs"), serve("app/index.mjs"));
    mkdirSync(join(dir, "named"), { recursive: true });
    writeFileSync(join(dir, "named.dots.ts"), serve("named.dots.ts"));
    writeFileSync(join(dir, "named", "dots.ts"), serve("named/dots.ts"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const served = async (app: string) => {
    const { target } = await importApp({ app, appDir: dir, interface: "auto" }, deps);
    return await (target as { fetch(): Response }).fetch().text();
  };

  test("app.main:app is app/main.ts; app.api:app is app/api/index.js; app:app is app/index.mjs", async () => {
    expect(await served("app.main:app")).toBe("app/main.ts");
    expect(await served("app.api:app")).toBe("app/api/index.js");
    expect(await served("app:app")).toBe("app/index.mjs");
    expect(await served("app/api:app")).toBe("app/api/index.js");
  });
  test("a file named with the dots wins over the path form", async () => {
    expect(await served("named.dots:app")).toBe("named.dots.ts");
  });
  test("neither: the module is missing, named as written", async () => {
    await expect(served("app.nope:app")).rejects.toThrow(
      'Error loading app. Could not import module "app.nope".',
    );
  });
});

describe("importApp", () => {
  test("default export, attribute, dotted attribute, factory", async () => {
    const fetchText = async (target: unknown) => await (target as { fetch(): Response }).fetch().text();
    expect(await fetchText(await load("main"))).toBe("hello from app");
    expect(await fetchText(await load("main:api.app"))).toBe("hello from api.app");
    expect(await fetchText(await load("main.ts:app"))).toBe("hello from app");
    expect(await fetchText(await load("main:createApp", { factory: true }))).toBe("hello from factory");
  });
  test("an app that is a thenable (itty-router's Router) is not awaited", async () => {
    const fetchText = async (target: unknown) => await (target as { fetch(): Response }).fetch().text();
    // Unboxed here, not through load(): an async helper returning the app would await it itself.
    const plain = await importApp({ app: "thenable", appDir, interface: "auto" }, deps);
    expect(await fetchText(plain.target)).toBe("hello from a thenable");
    const made = await importApp(
      { app: "thenable:createApp", appDir, interface: "auto", factory: true },
      deps,
    );
    expect(await fetchText(made.target)).toBe("hello from a thenable");
  });
  test("missing module", async () => {
    await expect(load("nope:app")).rejects.toThrow('Error loading app. Could not import module "nope".');
  });
  test("a missing --app-dir is named", async () => {
    await expect(
      importApp({ app: "main:app", appDir: "/nonexistent/dir", interface: "auto" }, deps),
    ).rejects.toThrow(
      'Error loading app. Could not import module "main" (--app-dir /nonexistent/dir does not exist).',
    );
  });
  test("an --app-dir that is a file is named", async () => {
    const file = join(appDir, "main.ts");
    await expect(importApp({ app: "main:app", appDir: file, interface: "auto" }, deps)).rejects.toThrow(
      `Error loading app. Could not import module "main" (--app-dir ${file} is not a directory).`,
    );
  });
  test("a missing import of an existing app is named, not reported as the app missing", async () => {
    await expect(load("imports-missing")).rejects.toThrow(
      /^Error loading app\. Module "imports-missing" failed to load: .*no-such-helper\.ts/,
    );
  });
  test("a load error is one line: newlines folded, colours stripped, Bun's position added", async () => {
    const failing = (error: unknown) =>
      importApp(
        { app: "main", appDir, interface: "auto" },
        { ...deps, importModule: () => Promise.reject(error) },
      ).catch((e: unknown) => (e as Error).message);
    const esbuild = new Error('Transform failed with 1 error:\n/srv/app.ts:2:0: ERROR: Expected "}"');
    expect(await failing(esbuild)).toBe(
      'Error loading app. Module "main" failed to load: Transform failed with 1 error: /srv/app.ts:2:0: ERROR: Expected "}"',
    );
    const deno = Object.assign(
      new Error('Module not found "file:///srv/x.ts".\n    at \u001b[36mfile:///srv/app.ts\u001b[0m:1:8'),
      {
        code: "ERR_MODULE_NOT_FOUND",
      },
    );
    expect(await failing(deno)).toBe(
      'Error loading app. Module "main" failed to load: Module not found "file:///srv/x.ts". at file:///srv/app.ts:1:8',
    );
    const bun = Object.assign(new Error("Unexpected end of file"), {
      position: { file: "/srv/app.ts", line: 3, column: 1 },
    });
    expect(await failing(bun)).toBe(
      'Error loading app. Module "main" failed to load: Unexpected end of file (/srv/app.ts:3:1)',
    );
  });
  test("Bun's several syntax errors (an AggregateError of BuildMessages): the first, with its position", async () => {
    const build = (message: string, column: number) =>
      Object.assign(new Error(message), { position: { file: "/srv/app.ts", line: 2, column } });
    const aggregate = new AggregateError(
      [build('Expected identifier but found "="', 14), build("This constant must be initialized", 14)],
      '2 errors building "/srv/app.ts"',
    );
    const message = await importApp(
      { app: "main", appDir, interface: "auto" },
      { ...deps, importModule: () => Promise.reject(aggregate) },
    ).catch((e: unknown) => (e as Error).message);
    expect(message).toBe(
      'Error loading app. Module "main" failed to load: Expected identifier but found "=" (/srv/app.ts:2:14) (and 1 more)',
    );
  });
  test("missing attribute: what the module does export, or why it may export nothing", async () => {
    const missing = await load("main:missing").catch((e: unknown) => (e as Error).message);
    expect(missing).toStartWith(
      'Error loading app. Attribute "missing" not found in module "main". It exports: ',
    );
    expect(missing).toContain("app");
    // Deeper in the chain the module's exports are not the point.
    const deeper = await load("main:api.nothing").catch((e: unknown) => (e as Error).message);
    expect(deeper).toEndWith('Attribute "api.nothing" not found in module "main".');
    const nothing = await importApp(
      { app: "main", appDir, interface: "auto" },
      { ...deps, importModule: async () => ({}) },
    ).catch((e: unknown) => (e as Error).message);
    expect(nothing).toBe(
      'Error loading app. Attribute "default" not found in module "main". It exports nothing: export the app (`export default { fetch }`, or the node handler); tsuv listens for it, so the module should not start a server itself (Deno.serve(), Bun.serve(), listen()).',
    );
  });
  test("a module that throws gives its message, and the stack only as detail", async () => {
    const error = await load("throws").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppLoadError);
    expect((error as AppLoadError).message).toMatch(
      /^Error loading app\. Module "throws" failed to load: boom at import \(at \S*\/throws\.ts:1:\d+\)$/,
    );
    expect((error as AppLoadError).detail).toContain("throws.ts");
    expect((error as AppLoadError).exitCode).toBe(3);
  });
  test("factory that is not a function", async () => {
    await expect(load("main:app", { factory: true })).rejects.toThrow(
      "Error loading app factory. The export is an object",
    );
  });
});

describe("toLoadedApp", () => {
  test("an exported http.Server: its request listeners, read per request; refused when listening or without one", async () => {
    const { createServer } = await import("node:http");
    const server = createServer();
    expect(() => toLoadedApp(server, "auto", "srv")).toThrow(`"srv" is a server with no 'request' listener`);
    const seen: string[] = [];
    server.on("request", () => seen.push("first"));
    const app = toLoadedApp(server, "auto", "srv");
    expect(app.interface).toBe("node");
    expect(app.nodeUpgrade).toBeUndefined();
    server.on("request", () => seen.push("added later"));
    (app.node as (...args: unknown[]) => void)({}, {});
    expect(seen).toEqual(["first", "added later"]);
    server.on("upgrade", () => seen.push("upgrade"));
    (toLoadedApp(server, "auto", "srv").nodeUpgrade as (...args: unknown[]) => void)({}, {}, Buffer.alloc(0));
    expect(seen.at(-1)).toBe("upgrade");
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      expect(() => toLoadedApp(server, "auto", "srv")).toThrow(
        /"srv" is a server that already listens \(on port \d+\): its listen\(\) ran as the module loaded/,
      );
    } finally {
      server.close();
    }
  });

  test("Bun.serve's listening options and a Worker's other handlers on the app object are noted as ignored", () => {
    const fetch = () => new Response("x");
    const bunStyle = toLoadedApp({ port: 3000, hostname: "0.0.0.0", development: true, fetch }, "auto", "m");
    expect(bunStyle.ignoredServeOptions).toEqual(["port", "hostname"]);
    expect(toLoadedApp({ fetch, port: undefined }, "auto", "m").ignoredServeOptions).toBeUndefined();
    // A framework's app (its port is not an own property) says nothing.
    class Framework {
      get port() {
        return 3000;
      }
      fetch = fetch;
    }
    expect(toLoadedApp(new Framework(), "auto", "m").ignoredServeOptions).toBeUndefined();
    expect(serveOptionsWarning(["port", "hostname"])).toBe(
      "The app's export sets port and hostname (Bun.serve's options, which `bun app.ts` listens with): tsuv ignores them and listens where --host and --port (or --uds, --fd) say.",
    );
    expect(serveOptionsWarning(["tls"])).toContain(
      "So it serves plain HTTP: serve HTTPS with --ssl-keyfile and --ssl-certfile.",
    );
    expect(serveOptionsWarning(["tls"], true)).not.toContain("plain HTTP");
    expect(toLoadedApp({ fetch, plugins: [() => {}] }, "auto", "m").ignoredServeOptions).toEqual(["plugins"]);
    expect(serveOptionsWarning(["port", "plugins"])).toEndWith(
      "(or --uds, --fd) say. The app's export sets plugins (srvx's, which the srvx CLI runs with its server): tsuv does not run them; do their work in fetch or in the export's middleware list, which tsuv runs.",
    );
    // A Cloudflare Worker's other handlers: said never to be called, with or without options beside.
    const worker = toLoadedApp({ fetch, scheduled() {}, queue() {}, email: "x" }, "auto", "m");
    expect(worker.ignoredServeOptions).toEqual(["scheduled", "queue"]);
    expect(serveOptionsWarning(["scheduled", "queue"])).toBe(
      "The app's export has scheduled() and queue() (a Cloudflare Worker's, which the platform calls): tsuv serves HTTP only and never calls them; run that work on its own schedule (cron, a systemd timer) or in a process of its own.",
    );
    expect(serveOptionsWarning(["port", "scheduled"])).toEndWith(
      "(or --uds, --fd) say. The app's export has scheduled() (a Cloudflare Worker's, which the platform calls): tsuv serves HTTP only and never calls it; run that work on its own schedule (cron, a systemd timer) or in a process of its own.",
    );
    // srvx's options that tsuv's own replace.
    const srvx = toLoadedApp({ fetch, trustProxy: true, gracefulShutdown: false }, "auto", "m");
    expect(srvx.ignoredServeOptions).toEqual(["trustProxy", "gracefulShutdown"]);
    expect(serveOptionsWarning(["trustProxy", "gracefulShutdown"])).toBe(
      "The app's export sets trustProxy (srvx's): tsuv takes the client and scheme from X-Forwarded-For and X-Forwarded-Proto only from the addresses --forwarded-allow-ips names (127.0.0.1 by default, as uvicorn): name your proxy's there. The app's export sets gracefulShutdown (srvx's): a stop waits for requests as --timeout-graceful-shutdown says.",
    );
    // Bun.serve's connection limits: tsuv's own options (or none) decide, and the warning says which.
    const limits = toLoadedApp({ fetch, idleTimeout: 30, maxRequestBodySize: 1024 }, "auto", "m");
    expect(limits.ignoredServeOptions).toEqual(["idleTimeout", "maxRequestBodySize"]);
    expect(serveOptionsWarning(["idleTimeout", "maxRequestBodySize"])).toBe(
      "The app's export sets idleTimeout and maxRequestBodySize (Bun.serve's options, which `bun app.ts` listens with): tsuv ignores them. Idle keep-alive connections close as --timeout-keep-alive says (5 s by default). Request bodies have no size limit, as under uvicorn: set one in the proxy in front (nginx's client_max_body_size).",
    );
  });

  test("a (req, res, next) middleware is told apart from an app that ends its own chain", async () => {
    const { default: express } = await import("express");
    const middleware = (_req: unknown, _res: unknown, _next: unknown) => {};
    expect(toLoadedApp(middleware, "auto", "m").middleware).toBe(true);
    expect(toLoadedApp(express.Router(), "auto", "m").middleware).toBe(true);
    // Express and connect apps (their own listen()) pass an absent next to finalhandler.
    expect(toLoadedApp(express(), "auto", "m").middleware).toBeUndefined();
    expect(toLoadedApp((_req: unknown, res: unknown) => res, "auto", "m").middleware).toBeUndefined();
    // A third parameter that is no continuation is left out, as before: Polka 0.5's handler reads it
    // as the parsed URL; a bound function (Polka 1.0's handler runs its chain in it) shows no names.
    const polkaHandler = {
      handler(_req: unknown, _res: unknown, info: unknown) {
        return info;
      },
    }.handler;
    expect(toLoadedApp(polkaHandler, "auto", "m").middleware).toBeUndefined();
    expect(toLoadedApp(middleware.bind(null), "auto", "m").middleware).toBeUndefined();
    expect(
      toLoadedApp(function done(_req: unknown, _res: unknown, _done: unknown) {}, "auto", "m").middleware,
    ).toBe(true);
  });

  test("a Polka app object: its handler, called with (req, res) only", () => {
    const calls: unknown[][] = [];
    // Polka 0.5's handler(req, res, info), as it is declared (Polka 1.0's, bound, keeps its length).
    const polkaLike = {
      use() {},
      listen() {},
      handler(req: unknown, res: unknown, _info: unknown) {
        calls.push([this, req, res, _info]);
      },
    };
    const app = toLoadedApp(polkaLike, "auto", "m");
    expect(app.interface).toBe("node");
    expect(app.middleware).toBeUndefined();
    (app.node as (...args: unknown[]) => void)("req", "res");
    expect(calls).toEqual([[polkaLike, "req", "res", undefined]]);
    expect(() => toLoadedApp(polkaLike, "fetch", "m")).toThrow(/is an object/);
  });

  test("a Fresh app object: handler() takes nothing and builds the fetch handler, once", async () => {
    let built = 0;
    const freshLike = {
      use() {},
      listen() {},
      handler() {
        built++;
        return async (request: Request) => new Response(`fresh ${new URL(request.url).pathname}`);
      },
    };
    const app = toLoadedApp(freshLike, "auto", "m");
    expect(app.interface).toBe("fetch");
    expect(app.detectedBy).toContain("Fresh");
    const answer = await (app.fetch as (r: Request) => Promise<Response>)(new Request("http://x/a"));
    expect(await answer.text()).toBe("fresh /a");
    expect(built).toBe(1);
  });

  test("a hapi server: its listener's request listeners, initialize() as startup (awaited by early requests), stop() as shutdown", async () => {
    const { createServer } = await import("node:http");
    const listener = createServer();
    const seen: string[] = [];
    listener.on("request", (req: { url: string }) => seen.push(`request ${req.url}`));
    let initialized: () => void = () => {};
    const hapiLike = {
      listener,
      route() {},
      initialize: () => {
        seen.push("initialize");
        return new Promise<void>((resolve) => {
          initialized = resolve;
        });
      },
      stop: async () => {
        seen.push("stop");
      },
    };
    const app = toLoadedApp(hapiLike, "auto", "m");
    expect(app.interface).toBe("node");
    expect(app.detectedBy).toContain("hapi");
    // --lifespan off: no startup ran, so the first request starts the boot and waits for it.
    (app.node as (...args: unknown[]) => void)({ url: "/early" }, {});
    expect(seen).toEqual(["initialize"]);
    initialized();
    await Bun.sleep(0);
    expect(seen).toEqual(["initialize", "request /early"]);
    await app.startup?.();
    await app.shutdown?.();
    expect(seen).toEqual(["initialize", "request /early", "stop"]);
  });

  /** What NestFactory.create() resolves to, as far as tsuv reads it; init() and close() noted in `seen`. */
  const nestShaped = (server: unknown, adapter: object, seen: string[], onClose = async () => {}) => ({
    getHttpServer: () => server,
    getHttpAdapter: () => adapter,
    use() {},
    listen() {},
    init: async () => {
      seen.push("init");
    },
    close: async () => {
      seen.push("close");
      await onClose();
    },
  });

  test("a NestJS application: its HTTP server's request listeners, init() as startup, close() as shutdown", async () => {
    const { createServer } = await import("node:http");
    const server = createServer();
    const seen: string[] = [];
    server.on("request", (req: { url: string }) => seen.push(`request ${req.url}`));
    const nestLike = nestShaped(server, {}, seen);
    const app = toLoadedApp(nestLike, "auto", "m");
    expect(app.detectedBy).toContain("NestJS");
    await app.startup?.();
    (app.node as (...args: unknown[]) => void)({ url: "/x" }, {});
    await app.shutdown?.();
    expect(seen).toEqual(["init", "request /x", "close"]);
  });

  test("a NestJS application on Nest's FastifyAdapter: the Fastify instance is made ready after init(), as its listen() would", async () => {
    const { default: Fastify } = await import("fastify");
    const instance = Fastify();
    const seen: string[] = [];
    instance.addHook("onReady", async () => {
      seen.push("fastify ready");
    });
    instance.get("/x", async () => "from fastify");
    const nestLike = nestShaped(instance.server, { getInstance: () => instance }, seen, () =>
      instance.close(),
    );
    const app = toLoadedApp(nestLike, "auto", "m");
    await app.startup?.();
    expect(seen).toEqual(["init", "fastify ready"]);
    // Served through the server's listeners, as tsuv serves it: a real request, a real answer.
    await new Promise<void>((resolve) => instance.server.listen(0, "127.0.0.1", resolve));
    const { port } = instance.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/x`);
    expect(await response.text()).toBe("from fastify");
    await app.shutdown?.();
    expect(seen).toEqual(["init", "fastify ready", "close"]);
  });

  const fetchFn = (_request: Request) => new Response("x");
  test("object with fetch -> fetch, with hooks", () => {
    const app = toLoadedApp({ fetch: fetchFn, startup() {}, shutdown() {} }, "auto", "m:app");
    expect(app.interface).toBe("fetch");
    expect(app.startup).toBeFunction();
    expect(app.shutdown).toBeFunction();
  });
  test("an object that answers every property (itty-router) has no hooks", () => {
    const routes: unknown[] = [];
    const router: object = new Proxy(
      { fetch: () => new Response("ok") },
      {
        get: (t, p) =>
          p in t ? t[p as "fetch"] : (...args: unknown[]) => routes.push([p, ...args]) && router,
      },
    );
    const app = toLoadedApp(router, "auto", "itty");
    expect(app.interface).toBe("fetch");
    expect([app.startup, app.shutdown, app.websocket]).toEqual([undefined, undefined, undefined]);
    expect(routes).toEqual([]);
  });
  test("Express-shaped function -> node", () => {
    const express = Object.assign((_req: unknown, _res: unknown, _next: unknown) => {}, {
      handle() {},
      use() {},
    });
    expect(toLoadedApp(express, "auto", "m:app").interface).toBe("node");
  });
  test("Koa app object -> node through callback()", () => {
    const handler = (_req: unknown, _res: unknown) => {};
    const koa = { callback: () => handler, listen() {} };
    const app = toLoadedApp(koa, "auto", "m:app");
    expect(app.interface).toBe("node");
    expect(app.node).toBe(handler);
  });
  test("a plain two-parameter function is fetch under auto, node with --interface node", () => {
    const ambiguous = (_a: unknown, _b: unknown) => {};
    expect(toLoadedApp(ambiguous, "auto", "m:app").interface).toBe("fetch");
    expect(toLoadedApp(ambiguous, "node", "m:app").interface).toBe("node");
  });
  test("parameter names decide under auto: a response second or a continuation third is node, (request, env, ctx) is fetch", () => {
    // Written as the app's JavaScript would be (the test file's own functions are transpiled).
    const fromSource = (source: string) =>
      new Function(`return ${source}`)() as (...args: unknown[]) => unknown;
    const detected = (source: string) => toLoadedApp(fromSource(source), "auto", "m:app").interface;
    for (const node of [
      "(req, res) => res.end()",
      "function listener(request, response) { response.end(); }",
      "async (_req, _res) => {}",
      "async function handler(req, reply) {}",
      "function (req,\n  res\n) {}",
      "({ handle(req, res) { res.end(); } }).handle",
      // srvx's toNodeHandler(fetch) and @hono/node-server's getRequestListener(fetch), as they ship.
      "function convertedNodeHandler(nodeReq, nodeRes) {}",
      "async (incoming, outgoing) => {}",
      // Three parameters that say node, or a bundle's one-letter names: node, as by arity before.
      "function (req, res, parsedUrl) {}",
      "function (request, env, next) {}",
      "(e, t, n) => {}",
      "(req, serverResponse) => {}",
      // All taken as a rest and named by the body's first line, as @astrojs/node's middleware
      // handler is written (it also takes connect's (err, req, res, next)).
      "async (...args) => {\n\t\tconst [req, res, next, locals] = args;\n\t}",
      "function (...args) { let [req, res] = args; }",
    ]) {
      expect(`${node}: ${detected(node)}`).toBe(`${node}: node`);
    }
    for (const fetch of [
      "(request, info) => new Response()",
      "(req, server) => new Response()",
      "async function handle(req, ctx) {}",
      "({ url }, res) => {}",
      "(req) => new Response()",
      "(request, resources) => new Response()",
      // A Cloudflare Worker's fetch as a bare function: three parameters, none named for node.
      "async function handler(request, env, ctx) {}",
      "(req, context, _info) => new Response()",
      // A rest the body does not name this way says nothing: fetch, as before.
      "(...args) => app.fetch(...args)",
      "async (...args) => { const [request] = args; }",
      "(...args) => { const [req, res] = other; }",
    ]) {
      expect(`${fetch}: ${detected(fetch)}`).toBe(`${fetch}: fetch`);
    }
  });
  test("a fetch whose second parameter is a RequestInit or React Router's context gets the request alone", async () => {
    const fromSource = (source: string) =>
      new Function(`return ${source}`)() as (...args: unknown[]) => Response;
    const info = { remoteAddr: { hostname: "127.0.0.1", port: 1 } };
    /** What the loaded app's fetch passed on: the count of arguments the handler got. */
    const argumentsSeen = async (app: unknown, iface: "auto" | "fetch" = "auto") =>
      (await toLoadedApp(app, iface, "m:app").fetch?.(new Request("http://x/"), info))?.text();
    const counting = (parameters: string) => `function requestHandler(${parameters}) {
        return new Response(String(arguments.length) + (this && this.own ? " own" : ""));
      }`;
    // Nitro 3's standard output (`(input, init, context)`, which copies a request given an init),
    // React Router's createRequestHandler (`(request, initialContext)`, which refuses any context
    // not its own), and their kin get 1: as an object's fetch (called on its object), as the app
    // itself, and under --interface fetch. Everything else gets what it is called with, 2 here (the
    // request handler adds ctx): Deno's info, Hono's env, a Worker's ctx.
    for (const [parameters, count] of [
      ["input, init, context", 1],
      ["request, initialContext", 1],
      ["request, loadContext", 1],
      ["req, requestInit", 1],
      ["_req, _init, context", 1],
      ["request, info", 2],
      ["req, server", 2],
      ["request, env, ctx", 2],
      ["request, context", 2],
      ["e, t", 2],
    ] as const) {
      const fn = fromSource(counting(parameters));
      expect(`${parameters}: ${await argumentsSeen({ fetch: fn, own: true })}`).toBe(
        `${parameters}: ${count} own`,
      );
      expect(`${parameters}: ${await argumentsSeen(fn)}`).toBe(`${parameters}: ${count}`);
      expect(`${parameters}: ${await argumentsSeen(fn, "fetch")}`).toBe(`${parameters}: ${count}`);
    }
    expect(
      toLoadedApp({ fetch: fromSource(counting("request, initialContext")) }, "auto", "m").detectedBy,
    ).toBe("object with fetch(), called with the request alone");
  });
  test("a two-parameter function with a bundle's one-letter names is fetch, marked as a guess", () => {
    const minified = new Function("return (e, t) => t.end('x')")() as (...args: unknown[]) => unknown;
    expect(toLoadedApp(minified, "auto", "m:app")).toMatchObject({
      interface: "fetch",
      interfaceGuessed: true,
    });
    expect(toLoadedApp(minified, "node", "m:app").interfaceGuessed).toBeUndefined();
    expect(toLoadedApp(minified, "fetch", "m:app").interfaceGuessed).toBeUndefined();
    const named = new Function("return (request, info) => new Response('x')")() as (
      ...args: unknown[]
    ) => unknown;
    expect(toLoadedApp(named, "auto", "m:app").interfaceGuessed).toBeUndefined();
  });
  test("not an app: says what was found", () => {
    expect(() => toLoadedApp(42, "auto", "main:notAnApp")).toThrow(
      'Error loading app. "main:notAnApp" is a number (42); expected',
    );
    expect(() => toLoadedApp({ a: 1 }, "auto", "main:x")).toThrow("is an object with keys a;");
    // fastify-cli's app template, a plugin: refused with the way out, under auto only.
    const plugin = new Function("return async function (fastify, opts) { fastify.get('/', () => 'x'); }")();
    expect(() => toLoadedApp(plugin, "auto", "main:x")).toThrow(
      '"main:x" is a Fastify plugin (fastify, opts), the shape fastify-cli serves, not an app: export a Fastify instance that registers it instead',
    );
    expect(toLoadedApp(plugin, "fetch", "main:x").interface).toBe("fetch");
    // h3 v1's createApp(), as its keys are: its handler takes an h3 event only h3 can make.
    const h3v1 = { use() {}, resolve() {}, handler() {}, stack: [], options: {} };
    expect(() => toLoadedApp(h3v1, "auto", "main:x")).toThrow(
      '"main:x" is an h3 v1 app (createApp()): export toWebHandler(app) (or toNodeListener(app)) from h3 instead',
    );
    const pending = Promise.resolve({ fetch: () => new Response("ok") });
    expect(() => toLoadedApp(pending, "auto", "main:x")).toThrow(
      '"main:x" is a Promise (export what it resolves to: `export default await createApp()`); expected',
    );
  });
});

test("an Elysia app: tsuv's server goes in its `server`, its listen()'s WebSocket handlers are offered", () => {
  const got: unknown[] = [];
  const elysia = {
    "~adapter": { name: "bun" },
    server: null as object | null,
    config: { websocket: { idleTimeout: 30 } },
    fetch: () => new Response("ok"),
  };
  const loaded = toLoadedApp(elysia, "auto", "main");
  expect(loaded.websocket).toBeUndefined();
  const stand = {};
  loaded.setServer?.(stand);
  expect(elysia.server).toBe(stand);
  const handlers = loaded.frameworkWebSocket as unknown as Record<string, (...args: unknown[]) => unknown>;
  expect((handlers as Record<string, unknown>).idleTimeout).toBe(30);
  // Each handler calls the one of its name in the socket's data, as Elysia's .ws() routes put them.
  const ws = { data: { message: (...args: unknown[]) => got.push(args) } };
  handlers.message?.(ws, "hi");
  handlers.open?.(ws);
  expect(got).toEqual([[ws, "hi"]]);
  // Anything else with fetch and a `server` is not taken for Elysia.
  expect(
    toLoadedApp({ server: null, fetch: () => new Response() }, "auto", "main").setServer,
  ).toBeUndefined();
});
