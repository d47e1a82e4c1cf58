/**
 * Interface detection: what an app module exports (a fetch app object, a framework's app, a
 * node:http server, a request listener) -> the LoadedApp a server serves, with the hooks, WebSocket
 * handlers and listening options it carries. The `auto` rules are toLoadedApp's.
 */
import { describe, type LoadedApp } from "./app.ts";
import { isNodeServer, nodeServerApp, serverOwnerApp, serverOwnerOf, upgradeOf } from "./app-node-servers.ts";
import {
  hasMinifiedPair,
  looksLikeExpress,
  looksLikeFastifyPlugin,
  looksLikeFetchWithContext,
  looksLikeMiddleware,
  looksLikeNodeListener,
  parameterCount,
  takesRequestAlone,
} from "./app-parameters.ts";
import { denoAddr, isPlainObject, middlewareOf, withErrorHook, withMiddleware } from "./app-serve-options.ts";
import { bunRoutesOf, withBunRoutes } from "./bun-routes.ts";
import { AppLoadError } from "./errors.ts";
import type { FetchHandler, NodeRequestListener, WebSocketHooks } from "./runtime/adapter.ts";
import { HANDLERS } from "./websocket-native.ts";

/**
 * The keys of Bun.serve's options that tsuv's own options replace: where and how to listen, and
 * two connection limits (said at start-up: load-app.ts's serveOptionsWarning).
 */
export const SERVE_OPTION_KEYS = [
  "port",
  "hostname",
  "unix",
  "tls",
  "idleTimeout",
  "maxRequestBodySize",
] as const;

/**
 * A Cloudflare Worker's handlers beside fetch (cron triggers, queues, email, tail): the platform
 * calls them; tsuv serves HTTP only and never does, said at start-up rather than left to be found
 * when the cron job has not run for a week.
 */
export const WORKER_HANDLER_KEYS = ["scheduled", "queue", "email", "tail"] as const;

/**
 * srvx's options that tsuv's own replace, said at start-up as Bun.serve's are: whom to believe in
 * X-Forwarded-* (--forwarded-allow-ips) and how long a stop waits (--timeout-graceful-shutdown).
 */
const SRVX_OPTION_KEYS = ["trustProxy", "gracefulShutdown"] as const;

/** A Polka app (`polka().get(...)`): its handler(req, res) is what its own listen() serves. */
function isPolka(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.handler === "function" &&
    holder.handler.length > 0 &&
    typeof holder.use === "function" &&
    typeof holder.listen === "function"
  );
}

/**
 * A Fresh 2 app (`new App().use(...).get(...)`, exported as `app`): its handler() takes nothing and
 * builds the fetch handler, as `export default { fetch: app.handler() }` and its listen() use it.
 * Taken for a Polka app, its handler(req, res) returned that function and the request hung.
 */
function isFresh(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.handler === "function" &&
    holder.handler.length === 0 &&
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
 * The app's fetch as tsuv calls it, `this` bound where it has an owner: with `(request, info, ctx)`,
 * or with the request alone where its second parameter says it is not for the info
 * (takesRequestAlone: Nitro's `(input, init)`, React Router's `(request, initialContext)`).
 */
function asFetch(fn: FetchHandler, owner?: object): { fetch: FetchHandler; calledWith: string } {
  const generic = fn as (...args: unknown[]) => ReturnType<FetchHandler>;
  if (takesRequestAlone(generic))
    return {
      fetch: (request) => generic.call(owner, request),
      calledWith: ", called with the request alone",
    };
  return { fetch: owner === undefined ? fn : fn.bind(owner), calledWith: "" };
}

/**
 * Decide the interface. `auto` rules, in order:
 * 1. an object with a `fetch` method -> fetch (Hono, h3, Elysia, Bun/Deno style), or with a
 *    handler() that takes nothing and makes one (Fresh 2) -> fetch;
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
  const answersAnything = typeof holder["tsuv: no such property"] === "function";
  const hooks = answersAnything
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
    // Bun.serve's, Deno.serve's and srvx's options beside fetch (routes, error, middleware, onListen)
    // are read from an object literal only: a framework's app (Elysia's error(), Hono's routes) has
    // its own meanings.
    // Nor from one that answers any property (itty-router's): its `error` would add a route, and
    // return the router, a thenable that never settles, for the failed request to wait on.
    const serveOptions = iface !== "node" && isPlainObject(target) && !answersAnything;
    const routes = serveOptions ? bunRoutesOf(holder) : undefined;
    if ((typeof holder.fetch === "function" || routes) && iface !== "node") {
      const own =
        typeof holder.fetch === "function" ? asFetch(holder.fetch as FetchHandler, target) : undefined;
      let fetch = routes ? withBunRoutes(routes, own?.fetch, moduleLabel) : (own?.fetch as FetchHandler);
      const middleware = serveOptions ? middlewareOf(holder) : undefined;
      if (middleware) fetch = withMiddleware(fetch, middleware);
      if (serveOptions && typeof holder.error === "function") {
        fetch = withErrorHook(fetch, holder.error as (error: unknown) => unknown, target);
      }
      const ignored: string[] = SERVE_OPTION_KEYS.filter(
        (key) => Object.hasOwn(holder, key) && holder[key] !== undefined,
      );
      if (serveOptions && Array.isArray(holder.plugins) && holder.plugins.length > 0) ignored.push("plugins");
      if (serveOptions) {
        ignored.push(...SRVX_OPTION_KEYS.filter((key) => holder[key] !== undefined));
        ignored.push(...WORKER_HANDLER_KEYS.filter((key) => typeof holder[key] === "function"));
      }
      const onListen = serveOptions && typeof holder.onListen === "function" ? holder.onListen : undefined;
      const loaded: LoadedApp = {
        interface: "fetch",
        fetch,
        ...hooks,
        detectedBy: `${routes ? `object with ${routes.key} (Bun.serve's)` : "object with fetch()"}${own?.calledWith ?? ""}`,
        ...(ignored.length > 0 ? { ignoredServeOptions: ignored } : {}),
        ...(onListen ? { onListen: (address) => onListen.call(target, denoAddr(address)) } : {}),
      };
      if (!isElysia(holder)) return loaded;
      refuseListeningElysia(holder, moduleLabel);
      return { ...loaded, ...elysiaServer(holder) };
    }
    if (isNodeServer(holder) && iface !== "fetch") return nodeServerApp(holder, moduleLabel, hooks);
    const owner = iface === "fetch" ? null : serverOwnerOf(holder);
    if (owner) return serverOwnerApp(owner, moduleLabel);
    if (isFresh(holder) && iface !== "node") {
      const fetch = (holder.handler as () => unknown).call(target);
      if (typeof fetch === "function")
        return {
          interface: "fetch",
          fetch: fetch as FetchHandler,
          ...hooks,
          detectedBy: "object whose handler() makes the fetch handler (Fresh)",
        };
    }
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
    const asFetchApp = (detectedBy: string): LoadedApp => {
      const { fetch, calledWith } = asFetch(fn as FetchHandler);
      return { interface: "fetch", fetch, ...hooks, detectedBy: `${detectedBy}${calledWith}` };
    };
    if (iface === "node") return asNode("--interface node");
    if (iface === "fetch") return asFetchApp("--interface fetch");
    if (looksLikeExpress(fn) || (parameterCount(fn) >= 3 && !looksLikeFetchWithContext(fn)))
      return asNode("function with Express shape or (req, res, next)");
    if (looksLikeNodeListener(fn))
      return asNode("function (req, res): its second parameter names a response");
    if (looksLikeFastifyPlugin(fn)) {
      throw new AppLoadError(
        `Error loading app. "${moduleLabel}" is a Fastify plugin (fastify, opts), the shape fastify-cli serves, not an app: export a Fastify instance that registers it instead (\`export default Fastify().register(plugin)\`); tsuv runs its ready() and close().`,
      );
    }
    return {
      ...asFetchApp("function (request, info)"),
      ...(hasMinifiedPair(fn) ? { interfaceGuessed: true } : {}),
    };
  }
  throw notAnApp();
}
