/**
 * Interface detection: what an app module exports (a fetch app object, a framework's app, a
 * node:http server, a request listener) -> the LoadedApp a server serves, with the hooks, WebSocket
 * handlers and listening options it carries. The `auto` rules are toLoadedApp's.
 */
import { describe, type LoadedApp } from "./app.ts";
import { AppLoadError } from "./errors.ts";
import type {
  FetchHandler,
  NodeRequestListener,
  NodeUpgradeListener,
  WebSocketHooks,
} from "./runtime/adapter.ts";
import { HANDLERS } from "./websocket-native.ts";

/** The keys of Bun.serve's options that say where and how to listen. */
const SERVE_OPTION_KEYS = ["port", "hostname", "unix", "tls"] as const;

function looksLikeExpress(fn: { length: number } & Record<string, unknown>): boolean {
  return typeof fn.handle === "function" && typeof fn.use === "function";
}

/**
 * The head of a function's source up to its parameter list: `(req, res)`, `function listener(request,
 * response)`, a method `handle(req, res)`. What a class, native code (a bound function) or an
 * arrow with one bare parameter says does not match.
 */
const PARAMETER_LIST = /^(?:async\s*)?(?:function\b\s*\*?\s*)?[\w$]*\s*\(([^)]*)\)/;
const PLAIN_NAME = /^[\w$]+$/;

/**
 * A function's parameter names as its source writes them, or null when they are not all plain names
 * (destructuring, defaults, rest) or the source does not show them (native code, a class).
 */
function parameterNames(fn: (...args: unknown[]) => unknown): string[] | null {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return null;
  }
  const list = PARAMETER_LIST.exec(source)?.[1];
  if (list === undefined) return null;
  const names = list.split(",").map((name) => name.trim());
  return names.every((name) => PLAIN_NAME.test(name)) ? names : null;
}

/**
 * A response object's names, for node:http's second parameter (Express's, Nitro's, Polka's), also
 * prefixed as adapters name it: srvx's toNodeHandler returns (nodeReq, nodeRes), @hono/node-server's
 * getRequestListener (incoming, outgoing); both were called as fetch handlers (500 on every request).
 */
const RESPONSE_NAME =
  /^_*(?:(?:node|server|http|raw)_?(?:res|resp|response)|res|resp|response|reply|outgoing)$/i;

/** A connect-style middleware's continuation, its third parameter. */
const NEXT_NAME = /^_*(?:next|done|callback|cb)$/i;

/**
 * `(req, res) => res.end(...)`: a node:http request listener written as a plain function (React
 * Router's createRequestListener, Nitro's node-listener, a hand-written one). By arity alone it is
 * indistinguishable from a fetch handler `(request, info)`; its second parameter's name tells.
 */
function looksLikeNodeListener(fn: (...args: unknown[]) => unknown): boolean {
  if (fn.length !== 2) return false;
  const names = parameterNames(fn);
  return names?.length === 2 && RESPONSE_NAME.test(names[1] as string);
}

/**
 * A connect-style middleware `(req, res, next)` (serve-static, an Express Router, SvelteKit's
 * handler) rather than a whole app: its third parameter is named as a continuation and it has no
 * listen() of its own (Express and connect apps, which end their chain themselves when next is
 * absent). By name, because a third parameter can be anything else: Polka 0.5's `handler(req, res,
 * info)` reads it as the parsed URL, and Polka 1.0's bound handler runs its chain in it.
 */
function looksLikeMiddleware(fn: ((...args: unknown[]) => unknown) & Record<string, unknown>): boolean {
  if (fn.length < 3 || typeof fn.listen === "function") return false;
  const third = parameterNames(fn)?.[2];
  return third !== undefined && NEXT_NAME.test(third);
}

/**
 * `(request, env, ctx)`: a fetch handler written as a Cloudflare Worker's fetch is (tsuv passes
 * the request's info and an execution context with waitUntil). Served as node by its arity alone,
 * every request was a 500 ('Invalid URL'). Only when every name is readable and none says node:
 * the second not a response, the third not a continuation, none minified to one letter (a bundled
 * `(e, t, n)` middleware stays node, as before).
 */
function looksLikeFetchWithContext(fn: (...args: unknown[]) => unknown): boolean {
  const names = parameterNames(fn);
  if (names === null || names.length < 3 || names.some((name) => name.replace(/^_+/, "").length < 2))
    return false;
  return !RESPONSE_NAME.test(names[1] as string) && !NEXT_NAME.test(names[2] as string);
}

/**
 * `export default async function (fastify, opts)`: fastify-cli's app template, a plugin that
 * fastify-cli registers on an instance it makes. Taken for a fetch handler, every request called
 * the plugin with a Request and failed; only the app's own Fastify can make the instance.
 */
function looksLikeFastifyPlugin(fn: (...args: unknown[]) => unknown): boolean {
  const first = parameterNames(fn)?.[0];
  return first !== undefined && /^_*fastify$/i.test(first);
}

/** `app.upgrade = (req, socket, head) => ...` on a node-interface app. */
function upgradeOf(holder: Record<string, unknown>): NodeUpgradeListener | undefined {
  const upgrade = holder.upgrade;
  return typeof upgrade === "function" ? (upgrade.bind(holder) as NodeUpgradeListener) : undefined;
}

/** The part of a node:http (or https) Server read here. */
interface NodeServerLike {
  listen: (...args: unknown[]) => unknown;
  listeners(event: string): ((...args: unknown[]) => unknown)[];
  listening?: boolean;
  address(): unknown;
}

function isNodeServer(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.listen === "function" &&
    typeof holder.listeners === "function" &&
    typeof holder.address === "function"
  );
}

/** `value` when it is a node:http server (a framework's `server` or `listener` property), else null. */
function asNodeServer(value: unknown): Record<string, unknown> | null {
  if (typeof value !== "object" || value === null) return null;
  return isNodeServer(value as Record<string, unknown>) ? (value as Record<string, unknown>) : null;
}

/**
 * An http.Server the app made and exported (`export default http.createServer(app)`; socket.io
 * and ws attach to one): served through its own 'request' and 'upgrade' listeners, read as each
 * event comes, so what attaches later (engine.io replaces the request listeners) counts. One that
 * already listens (its listen() ran at import) is refused: it would serve beside tsuv, and in a
 * second worker fail on the port in use.
 */
function nodeServerApp(
  holder: Record<string, unknown>,
  moduleLabel: string,
  hooks: Pick<LoadedApp, "startup" | "shutdown" | "websocket">,
): LoadedApp {
  const server = holder as unknown as NodeServerLike;
  if (server.listening) {
    const address = server.address() as { port?: number } | string | null;
    const where = typeof address === "string" ? address : `port ${address?.port}`;
    throw new AppLoadError(
      `Error loading app. "${moduleLabel}" is a server that already listens (on ${where}): its listen() ran as the module loaded. tsuv listens for it: export the server without calling listen(), or call it only when run directly.`,
    );
  }
  if (server.listeners("request").length === 0) {
    throw new AppLoadError(
      `Error loading app. "${moduleLabel}" is a server with no 'request' listener: create it with its handler (http.createServer(handler)).`,
    );
  }
  const emit =
    (event: string) =>
    (...args: unknown[]): void => {
      for (const listener of server.listeners(event)) listener.apply(server, args);
    };
  return {
    interface: "node",
    node: emit("request") as NodeRequestListener,
    ...hooks,
    nodeUpgrade:
      server.listeners("upgrade").length > 0 ? (emit("upgrade") as NodeUpgradeListener) : undefined,
    detectedBy: "a node:http server (its 'request' listeners)",
    // An own ALPNProtocols is what an https (tls) Server has and an http one lacks on Node, Bun and
    // Deno alike; Bun's https.Server is neither a tls.Server nor has setSecureContext.
    ...("ALPNProtocols" in server ? { ignoredHttpsServer: true } : {}),
  };
}

/**
 * A framework instance that makes its own http.Server and boots before serving: tsuv serves that
 * server's listeners (the server never listens here), runs the boot as the app's startup and the
 * close as its shutdown, and under `--lifespan off` (which runs no startup) the first requests wait
 * for the boot, since routes a plugin adds do not exist before it.
 */
interface ServerOwner {
  /** The framework's http.Server, made with the instance. */
  server: Record<string, unknown>;
  boot(): unknown;
  close(): unknown;
  detectedBy: string;
}

/**
 * A Fastify instance (`export default Fastify()`): a thenable (`await app` waits for its plugins),
 * so it was refused as a Promise. `app.server`; ready() boots (plugins, routes), close() runs its
 * onClose hooks.
 */
function fastifyOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { ready, routing, close, server } = holder;
  if (typeof ready !== "function" || typeof routing !== "function" || typeof close !== "function")
    return null;
  const nodeServer = asNodeServer(server);
  if (!nodeServer) return null;
  return {
    server: nodeServer,
    boot: () => ready.call(holder),
    close: () => close.call(holder),
    detectedBy: "a Fastify instance (its server's listeners; ready() and close())",
  };
}

/**
 * A hapi server (`export default Hapi.server()`): `server.listener`; initialize() boots (caches,
 * onPreStart extensions) without listening, stop() runs onPreStop/onPostStop and stops the caches.
 */
function hapiOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { initialize, stop, route, listener } = holder;
  if (typeof initialize !== "function" || typeof stop !== "function" || typeof route !== "function")
    return null;
  const nodeServer = asNodeServer(listener);
  if (!nodeServer) return null;
  return {
    server: nodeServer,
    boot: () => initialize.call(holder),
    close: () => stop.call(holder),
    detectedBy: "a hapi server (its listener's listeners; initialize() and stop())",
  };
}

/**
 * A NestJS application (`await NestFactory.create(AppModule)`, from an async --factory or a top-level
 * await): its HTTP adapter's server (`getHttpServer()`, made with the application); init() registers
 * the routes and runs onModuleInit/onApplicationBootstrap, close() the shutdown hooks.
 */
function nestOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { getHttpServer, getHttpAdapter, init, close } = holder;
  if (
    typeof getHttpServer !== "function" ||
    typeof getHttpAdapter !== "function" ||
    typeof init !== "function" ||
    typeof close !== "function"
  )
    return null;
  const server = asNodeServer(getHttpServer.call(holder));
  if (!server) return null;
  return {
    server,
    boot: async () => {
      await init.call(holder);
      // Nest's FastifyAdapter leaves the Fastify instance to its listen() to make ready (its hook
      // lists are built then: every request was a TypeError in fastify/lib/hooks.js before). Nest's
      // serverless recipe calls ready() too; an Express instance has none.
      const instance = (
        getHttpAdapter.call(holder) as { getInstance?: () => unknown } | null
      )?.getInstance?.();
      const fastify =
        typeof instance === "object" && instance !== null
          ? fastifyOwner(instance as Record<string, unknown>)
          : null;
      await fastify?.boot();
    },
    close: () => close.call(holder),
    detectedBy: "a NestJS application (its HTTP server's listeners; init() and close())",
  };
}

function serverOwnerApp(owner: ServerOwner, moduleLabel: string): LoadedApp {
  let booting: Promise<unknown> | undefined;
  let booted = false;
  // Once booted (by the startup hook, or by the first request under --lifespan off), requests go
  // straight to the server's listeners.
  const boot = () => {
    booting ??= Promise.resolve(owner.boot()).then(() => {
      booted = true;
    });
    return booting;
  };
  const app = nodeServerApp(owner.server, moduleLabel, {
    startup: boot,
    shutdown: owner.close,
    websocket: undefined,
  });
  const serve = app.node as NodeRequestListener;
  const node: NodeRequestListener = (req, res) => {
    if (booted) return serve(req, res);
    boot().then(
      () => serve(req, res),
      (error) => res.destroy(error),
    );
  };
  return { ...app, node, detectedBy: owner.detectedBy };
}

/** A Polka app (`polka().get(...)`): its handler(req, res) is what its own listen() serves. */
function isPolka(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.handler === "function" &&
    typeof holder.use === "function" &&
    typeof holder.listen === "function"
  );
}

function optionalHook(holder: Record<string, unknown>, name: string): (() => unknown) | undefined {
  const hook = holder[name];
  return typeof hook === "function" ? () => (hook as () => unknown).call(holder) : undefined;
}

const NO_HOOKS = { startup: undefined, shutdown: undefined, websocket: undefined };

/** An Elysia app: its runtime adapter object, and the `server` its listen() would set. */
function isElysia(holder: Record<string, unknown>): boolean {
  const adapter = holder["~adapter"] as { name?: unknown } | undefined;
  return typeof adapter?.name === "string" && "server" in holder;
}

/**
 * `export default new Elysia().get(...).listen(3000)`, Elysia's quick-start with an export added:
 * its own Bun.serve ran as the module loaded and served beside tsuv's port, unannounced (a second
 * worker's import binds it again). Refused, as a node:http server that already listens is.
 */
function refuseListeningElysia(holder: Record<string, unknown>, moduleLabel: string): void {
  const server = holder.server as { port?: unknown; url?: unknown } | null | undefined;
  if (server === null || server === undefined) return;
  const where =
    typeof server.port === "number" ? `port ${server.port}` : String(server.url ?? "its own server");
  throw new AppLoadError(
    `Error loading app. "${moduleLabel}" is an Elysia app that already listens (on ${where}): its listen() ran as the module loaded. tsuv listens for it: export the app without calling listen(), or call it only when run directly (if (import.meta.main)).`,
  );
}

/**
 * Elysia under tsuv: its `server` (what `context.server` and `.ws()` routes use) is the adapter's
 * stand-in, its WebSocket handlers are those its listen() gives Bun.serve: each calls the handler
 * of that name that the `.ws()` route put in the socket's data (Elysia 1.4's elysia/ws), and its
 * onStart/onStop hooks run when its listen() and stop() would run them.
 */
function elysiaServer(
  holder: Record<string, unknown>,
): Pick<LoadedApp, "setServer" | "frameworkWebSocket" | "frameworkHooks"> {
  type DataSocket = { data?: Record<string, ((...args: unknown[]) => unknown) | undefined> };
  const call =
    (name: string) =>
    (ws: DataSocket, ...args: unknown[]) =>
      ws.data?.[name]?.(ws, ...args);
  const config = (holder.config as { websocket?: Record<string, unknown> } | undefined)?.websocket;
  // Elysia 1.4 keeps each lifecycle's hooks in `app.event[name]` as `{ fn, scope }`, plugins' included.
  type Hook = { fn?: unknown };
  const hooks = (name: "start" | "stop") => () => {
    const list = (holder.event as Record<string, Hook[] | undefined> | undefined)?.[name] ?? [];
    return list.flatMap(({ fn }) => (typeof fn === "function" ? [() => fn(holder)] : []));
  };
  return {
    frameworkHooks: { started: hooks("start"), stopped: hooks("stop") },
    setServer: (server) => {
      holder.server = server;
    },
    frameworkWebSocket: {
      ...config,
      ...Object.fromEntries(HANDLERS.map((name) => [name, call(name)])),
    } as unknown as WebSocketHooks,
  };
}

/**
 * Decide the interface. `auto` rules, in order:
 * 1. an object with a `fetch` method -> fetch (Hono, h3, Elysia, Bun/Deno style);
 * 2. an object with `callback()` and `listen()` (a Koa app) -> node, through `app.callback()`; one
 *    with `handler()`, `use()` and `listen()` (a Polka app) -> node, through its handler;
 * 3. a node:http server (its own listeners), or a Fastify instance, hapi server or NestJS
 *    application (its server's) -> node;
 * 4. a function with Express's `handle` and `use`, or taking 3+ parameters (req, res, next) -> node,
 *    unless their names say fetch (`(request, env, ctx)`: looksLikeFetchWithContext);
 * 5. a two-parameter function whose second parameter is named as a response (`(req, res)`) -> node;
 * 6. any other function -> fetch. `--interface node` or `fetch` decides for any function.
 */
export function toLoadedApp(
  target: unknown,
  iface: "auto" | "fetch" | "node",
  moduleLabel: string,
): LoadedApp {
  const holder = (target ?? {}) as Record<string, unknown>;
  // An object that answers any property name with a function (itty-router's Router, a Proxy that
  // adds a route for whatever is called on it) has no hooks: its "startup" would add a route and
  // return the router, a thenable that never settles, and the server would exit 0 mid-startup.
  const hooks =
    typeof holder["tsuv: no such property"] === "function"
      ? NO_HOOKS
      : {
          startup: optionalHook(holder, "startup"),
          shutdown: optionalHook(holder, "shutdown"),
          websocket:
            typeof holder.websocket === "object" && holder.websocket
              ? (holder.websocket as WebSocketHooks)
              : undefined,
        };
  const notAnApp = () =>
    new AppLoadError(
      `Error loading app. "${moduleLabel}" is ${describe(target)}; expected a fetch handler, an object with fetch(), or a node (req, res) handler.`,
    );

  if (typeof target === "object" && target !== null) {
    if (typeof holder.fetch === "function" && iface !== "node") {
      const fetch = holder.fetch as FetchHandler;
      const ignored = SERVE_OPTION_KEYS.filter(
        (key) => Object.hasOwn(holder, key) && holder[key] !== undefined,
      );
      const loaded: LoadedApp = {
        interface: "fetch",
        fetch: fetch.bind(target),
        ...hooks,
        detectedBy: "object with fetch()",
        ...(ignored.length > 0 ? { ignoredServeOptions: ignored } : {}),
      };
      if (!isElysia(holder)) return loaded;
      refuseListeningElysia(holder, moduleLabel);
      return { ...loaded, ...elysiaServer(holder) };
    }
    if (isNodeServer(holder) && iface !== "fetch") return nodeServerApp(holder, moduleLabel, hooks);
    const owner = iface === "fetch" ? null : (fastifyOwner(holder) ?? hapiOwner(holder) ?? nestOwner(holder));
    if (owner) return serverOwnerApp(owner, moduleLabel);
    if (isPolka(holder) && iface !== "fetch") {
      const handler = holder.handler as NodeRequestListener;
      return {
        interface: "node",
        // Two arguments, as its own listen() calls it: a third is Polka's parsed URL (0.5) or chain (1.0).
        node: (req, res) => handler.call(target, req, res),
        ...hooks,
        detectedBy: "object with handler(), use() and listen() (Polka)",
      };
    }
    if (typeof holder.callback === "function" && iface !== "fetch") {
      const node = (holder.callback as () => NodeRequestListener).call(target);
      if (typeof node === "function")
        return {
          interface: "node",
          node,
          ...hooks,
          nodeUpgrade: upgradeOf(holder),
          detectedBy: "object with callback() (Koa)",
        };
    }
    throw notAnApp();
  }
  if (typeof target === "function") {
    const fn = target as ((...args: unknown[]) => unknown) & Record<string, unknown>;
    const asNode = (detectedBy: string): LoadedApp => ({
      interface: "node",
      node: fn,
      ...hooks,
      nodeUpgrade: upgradeOf(fn),
      detectedBy,
      ...(looksLikeMiddleware(fn) ? { middleware: true } : {}),
    });
    if (iface === "node") return asNode("--interface node");
    if (iface === "fetch")
      return { interface: "fetch", fetch: fn as FetchHandler, ...hooks, detectedBy: "--interface fetch" };
    if (looksLikeExpress(fn) || (fn.length >= 3 && !looksLikeFetchWithContext(fn)))
      return asNode("function with Express shape or (req, res, next)");
    if (looksLikeNodeListener(fn))
      return asNode("function (req, res): its second parameter names a response");
    if (looksLikeFastifyPlugin(fn)) {
      throw new AppLoadError(
        `Error loading app. "${moduleLabel}" is a Fastify plugin (fastify, opts), the shape fastify-cli serves, not an app: export a Fastify instance that registers it instead (\`export default Fastify().register(plugin)\`); tsuv runs its ready() and close().`,
      );
    }
    return {
      interface: "fetch",
      fetch: fn as FetchHandler,
      ...hooks,
      detectedBy: "function (request, info)",
    };
  }
  throw notAnApp();
}
