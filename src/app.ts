/**
 * App loading: "path[:attr]" -> a module path and an attribute chain, the import (through the
 * runtime adapter, so TypeScript loads everywhere), --factory, and interface detection.
 * Every failure is an AppLoadError (exit 3) with uvicorn's one-line wording.
 */
import { AppLoadError, errorMessage } from "./errors.ts";
import type {
  FetchHandler,
  NodeRequestListener,
  NodeUpgradeListener,
  WebSocketHooks,
} from "./runtime/adapter.ts";
import { HANDLERS } from "./websocket-native.ts";

export type InterfaceName = "fetch" | "node";

/** crossws hooks an app may carry beside fetch (served by src/websocket.ts). */
export type { WebSocketHooks } from "./runtime/adapter.ts";

export interface LoadedApp {
  interface: InterfaceName;
  fetch?: FetchHandler;
  node?: NodeRequestListener;
  startup?: () => unknown;
  shutdown?: () => unknown;
  websocket?: WebSocketHooks;
  /**
   * A node-interface app's own `upgrade(req, socket, head)` (e.g. `ws` in noServer mode), set as a
   * property of the app: attached to the node:http server's 'upgrade' event.
   */
  nodeUpgrade?: NodeUpgradeListener;
  /**
   * An app that keeps its runtime's server in a property its own listen() sets (Elysia's
   * `app.server`, null under tsuv): where to put the adapter's stand-in for it
   * (RunningServer.appServer), so `server.requestIP()` and `server.upgrade()` work.
   */
  setServer?(server: object): void;
  /**
   * The Bun.serve WebSocket handlers the app's framework passes in its own listen() (Elysia's, which
   * call the handlers each socket carries in `ws.data`): served under --ws bun when the app exports
   * no `websocket` of its own.
   */
  frameworkWebSocket?: WebSocketHooks;
  /**
   * The hooks the app's framework runs when its own listen() has started the server and when its
   * stop() has closed it (Elysia's onStart and onStop, each called with the app): tsuv runs them once
   * it listens and after its drain. Read when run, so hooks added after the import count too.
   */
  frameworkHooks?: { started(): (() => unknown)[]; stopped(): (() => unknown)[] };
  /** How `auto` decided, for the debug log. */
  detectedBy: string;
  /**
   * Listening options of Bun.serve's (srvx's, Deno.serve's) that the app object carries (`port`,
   * `hostname`, `unix`, `tls`): `bun app.ts` listens with them; tsuv, as uvicorn, listens where its
   * own options say, so they are ignored, and said to be (load-app.ts).
   */
  ignoredServeOptions?: string[];
  /**
   * The export is an HTTPS server (https.createServer({ key, cert }, app)): tsuv serves its request
   * listeners from its own listener, which has the server's key and certificate only when tsuv is
   * given them too (--ssl-*): said at start-up (load-app.ts).
   */
  ignoredHttpsServer?: boolean;
}

/** The keys of Bun.serve's options that say where and how to listen. */
const SERVE_OPTION_KEYS = ["port", "hostname", "unix", "tls"] as const;

export interface AppSpec {
  /** The module part, as written (for messages): "main", "src/app.ts". */
  module: string;
  /** Attribute chain; empty means the default export. */
  attrs: string[];
}

const EXTENSIONS = [".ts", ".js", ".mjs"];
const KNOWN_EXTENSION = /\.(?:[cm]?[jt]s|[jt]sx)$/;

export function parseAppSpec(spec: string): AppSpec {
  // A Windows drive letter ("C:\app.ts") is not an attribute separator.
  const start = /^[A-Za-z]:[\\/]/.test(spec) ? 2 : 0;
  const colon = spec.indexOf(":", start);
  const module = colon === -1 ? spec : spec.slice(0, colon);
  const attr = colon === -1 ? "" : spec.slice(colon + 1);
  const attrs = attr === "" ? [] : attr.split(".");
  if (!module || (colon !== -1 && (attr === "" || attrs.some((part) => !/^[A-Za-z_$][\w$]*$/.test(part))))) {
    throw new AppLoadError(
      `Error loading app. Import string "${spec}" must be in format "<module>:<attribute>".`,
    );
  }
  return { module, attrs };
}

/** Candidate files for a module spec: as is when it has an extension, else .ts, .js, .mjs in order. */
export function moduleCandidates(
  module: string,
  appDir: string,
  resolvePath: (...parts: string[]) => string,
): string[] {
  const base = resolvePath(appDir, module);
  if (KNOWN_EXTENSION.test(module)) return [base];
  return EXTENSIONS.map((ext) => base + ext);
}

/**
 * The import's own error as one line. The app file exists (checked before importing), so a
 * "module not found" here is about something the app imports, and naming it is the whole point:
 * uvicorn re-raises such an error instead of saying the app module is missing. Multi-line messages
 * (esbuild's "Transform failed with 1 error:" and its location) are folded; Bun's syntax errors
 * carry their location apart from the message, and Deno's come coloured even into a pipe.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what is being removed.
const ANSI_COLOUR = /\u001b\[[0-9;]*m/g;

function loadFailure(error: unknown): string {
  // Bun reports a file with several syntax errors as an AggregateError ("2 errors building
  // "/srv/app.ts"") whose BuildMessages carry the text and the position: say the first.
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (error instanceof AggregateError && Array.isArray(errors) && errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    return `${loadFailure(errors[0])}${more}`;
  }
  let message = errorMessage(error).replace(ANSI_COLOUR, "").replace(/\s+/g, " ").trim();
  const position = (error as { position?: { file?: string; line?: number; column?: number } } | null)
    ?.position;
  if (position?.file && position.line !== undefined && !message.includes(position.file)) {
    message += ` (${position.file}:${position.line}:${position.column ?? 0})`;
  } else if (!position && !/:\d+:\d+/.test(message)) {
    // A module that throws: where, as uvicorn's traceback would say (the stack stays a debug detail).
    const where = throwSite(error);
    if (where) message += ` (at ${where})`;
  }
  return message;
}

/** This file's directory: tsuv's own code (src/, or dist/ for the bundle), whose frames are not the app's. */
const TSUV_DIR = import.meta.url.replace(/^file:\/\//, "").replace(/\/[^/]*$/, "/");

/** The first stack frame in the app's code, as `path:line:column`, or undefined. */
function throwSite(error: unknown): string | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return undefined;
  for (const line of stack.split("\n")) {
    const match = /^\s*at (?:.*\()?((?:file:\/\/)?(?:\/|[A-Za-z]:[\\/])[^()]*?:\d+:\d+)\)?\s*$/.exec(line);
    if (!match?.[1]) continue;
    const where = match[1].replace(/^file:\/\//, "");
    if (where.startsWith(TSUV_DIR) || where.includes("/node_modules/")) continue;
    return where;
  }
  return undefined;
}

export interface LoadAppDeps {
  importModule(path: string): Promise<Record<string, unknown>>;
  exists(path: string): boolean;
  resolvePath(...parts: string[]): string;
}

export interface LoadAppOptions {
  app: string;
  appDir: string;
  factory?: boolean;
  interface: "auto" | "fetch" | "node";
}

/**
 * Import the module and walk to the app object. The app comes back boxed: an async function that
 * returned it bare would adopt it if it is a thenable, and some apps are, by accident (itty-router's
 * Router is a Proxy that answers every property, `then` included, with a route-adding function, so
 * awaiting it never settles and the process exits 0 with nothing said).
 */
export async function importApp(options: LoadAppOptions, deps: LoadAppDeps): Promise<{ target: unknown }> {
  const spec = parseAppSpec(options.app);
  const moduleName = spec.module.replace(KNOWN_EXTENSION, "");
  const path = moduleCandidates(spec.module, options.appDir, deps.resolvePath).find((candidate) =>
    deps.exists(candidate),
  );
  if (!path) {
    // uvicorn says no more, but a mistyped --app-dir is the likelier cause when it is not there.
    const appDir = deps.resolvePath(options.appDir);
    const hint = deps.exists(appDir) ? "" : ` (--app-dir ${appDir} does not exist)`;
    throw new AppLoadError(`Error loading app. Could not import module "${moduleName}"${hint}.`);
  }

  let mod: Record<string, unknown>;
  try {
    mod = await deps.importModule(path);
  } catch (error) {
    const stack = error instanceof Error ? error.stack : undefined;
    throw new AppLoadError(
      `Error loading app. Module "${moduleName}" failed to load: ${loadFailure(error)}`,
      stack,
    );
  }

  let target: unknown = mod;
  const chain = spec.attrs.length ? spec.attrs : ["default"];
  for (const attr of chain) {
    const holder = target as Record<string, unknown> | null | undefined;
    if (holder === null || holder === undefined || !(attr in Object(holder))) {
      const name = spec.attrs.length ? spec.attrs.join(".") : "default";
      throw new AppLoadError(
        `Error loading app. Attribute "${name}" not found in module "${moduleName}".${target === mod ? exportsHint(mod) : ""}`,
      );
    }
    target = holder[attr];
  }

  if (options.factory) {
    if (typeof target !== "function") {
      throw new AppLoadError(`Error loading app factory. The export is ${describe(target)}, not a function.`);
    }
    try {
      // Only a promise is awaited: a thenable app (see above) would never settle.
      const made = (target as () => unknown)();
      target = made instanceof Promise ? await made : made;
    } catch (error) {
      throw new AppLoadError(
        `Error loading app factory. ${errorMessage(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
    }
  }
  return { target };
}

/**
 * What the module does export, after "Attribute not found": its names, or, when it exports
 * nothing, the usual cause, a module that starts its own server (Deno.serve(), Bun.serve(), an
 * Express app's listen()) instead of exporting the app.
 */
function exportsHint(mod: Record<string, unknown>): string {
  const names = Object.keys(mod);
  if (names.length === 0) {
    return " It exports nothing: export the app (`export default { fetch }`, or the node handler); tsuv listens for it, so the module should not start a server itself (Deno.serve(), Bun.serve(), listen()).";
  }
  const shown = names.slice(0, 8).join(", ");
  return ` It exports: ${shown}${names.length > 8 ? ", ..." : ""}.`;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return `a function with ${value.length} parameter(s)`;
  // `export default createApp()` of an async factory: its own keys are none, so "an empty object".
  if (typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
    return "a Promise (export what it resolves to: `export default await createApp()`)";
  }
  if (typeof value === "object") {
    const keys = Object.keys(value as object).slice(0, 5);
    return keys.length ? `an object with keys ${keys.join(", ")}` : "an empty object";
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

function looksLikeExpress(fn: { length: number } & Record<string, unknown>): boolean {
  return typeof fn.handle === "function" && typeof fn.use === "function";
}

/**
 * The parameter list of a two-parameter function, as its source says it: `(req, res)`,
 * `function listener(request, response)`, a method `handle(req, res)`. Only plain names; anything else (destructuring,
 * defaults, a class, native code) is null.
 */
const TWO_PLAIN_PARAMS = /^(?:async\s*)?(?:function\b\s*\*?\s*)?[\w$]*\s*\(\s*([\w$]+)\s*,\s*([\w$]+)\s*\)/;

/** A response object's names, for node:http's second parameter (Express's, Nitro's, Polka's). */
const RESPONSE_NAME = /^_*(?:res|resp|response|reply|serverResponse)$/i;

/**
 * `(req, res) => res.end(...)`: a node:http request listener written as a plain function (React
 * Router's createRequestListener, Nitro's node-listener, a hand-written one). By arity alone it is
 * indistinguishable from a fetch handler `(request, info)`; its second parameter's name tells.
 */
function looksLikeNodeListener(fn: (...args: unknown[]) => unknown): boolean {
  if (fn.length !== 2) return false;
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return false;
  }
  const params = TWO_PLAIN_PARAMS.exec(source);
  return params !== null && RESPONSE_NAME.test(params[2] as string);
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
 * A Fastify instance (`export default Fastify()`): a thenable (`await app` waits for its plugins),
 * so it was refused as a Promise. Served through its own http.Server's listeners (`app.server`,
 * made with the instance and never listening here), with `ready()` (its plugins and routes) as the
 * app's startup and `close()` (its onClose hooks) as its shutdown.
 */
function isFastify(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.ready === "function" &&
    typeof holder.routing === "function" &&
    typeof holder.close === "function" &&
    typeof holder.server === "object" &&
    holder.server !== null &&
    isNodeServer(holder.server as Record<string, unknown>)
  );
}

function fastifyApp(holder: Record<string, unknown>, moduleLabel: string): LoadedApp {
  let ready: Promise<unknown> | undefined;
  const whenReady = () => {
    ready ??= Promise.resolve((holder.ready as () => unknown).call(holder));
    return ready;
  };
  const app = nodeServerApp(holder.server as Record<string, unknown>, moduleLabel, {
    startup: whenReady,
    shutdown: () => (holder.close as () => unknown).call(holder),
    websocket: undefined,
  });
  // Fastify boots in ready(), which --lifespan off does not call: the first requests wait for it.
  const serve = app.node as NodeRequestListener;
  let booted = false;
  const node: NodeRequestListener = (req, res) => {
    if (booted) return serve(req, res);
    whenReady().then(
      () => {
        booted = true;
        serve(req, res);
      },
      (error) => res.destroy(error),
    );
  };
  return { ...app, node, detectedBy: "a Fastify instance (its server's listeners; ready() and close())" };
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
 * 2. an object with `callback()` and `listen()` (a Koa app) -> node, through `app.callback()`;
 * 3. a function with Express's `handle` and `use`, or taking 3+ parameters (req, res, next) -> node;
 * 4. any other function -> fetch. A plain `(req, res)` function is ambiguous: pass
 *    `--interface node` for it (Koa's `app.callback()` result is such a function).
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
      return isElysia(holder) ? { ...loaded, ...elysiaServer(holder) } : loaded;
    }
    if (isNodeServer(holder) && iface !== "fetch") return nodeServerApp(holder, moduleLabel, hooks);
    if (isFastify(holder) && iface !== "fetch") return fastifyApp(holder, moduleLabel);
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
    });
    if (iface === "node") return asNode("--interface node");
    if (iface === "fetch")
      return { interface: "fetch", fetch: fn as FetchHandler, ...hooks, detectedBy: "--interface fetch" };
    if (looksLikeExpress(fn) || fn.length >= 3)
      return asNode("function with Express shape or (req, res, next)");
    if (looksLikeNodeListener(fn))
      return asNode("function (req, res): its second parameter names a response");
    return {
      interface: "fetch",
      fetch: fn as FetchHandler,
      ...hooks,
      detectedBy: "function (request, info)",
    };
  }
  throw notAnApp();
}
