/**
 * App loading: "path[:attr]" -> a module path and an attribute chain, the import (through the
 * runtime adapter, so TypeScript loads everywhere) and --factory; what the import gives is made a
 * LoadedApp by app-shapes.ts (interface detection). Every failure is an AppLoadError (exit 3) with
 * uvicorn's one-line wording.
 */
import { AppLoadError, errorMessage } from "./errors.ts";
import { captureNativeResponse } from "./native-response.ts";
import type {
  BoundAddress,
  FetchHandler,
  NodeRequestListener,
  NodeUpgradeListener,
  WebSocketHooks,
} from "./runtime/adapter.ts";

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
   * A connect-style middleware `(req, res, next)` rather than a whole app (serve-static, an Express
   * Router, SvelteKit's handler): it calls next() for a request it does not answer, so tsuv passes a
   * `next` that ends the chain (node-app-handler.ts). An Express or connect app (one with its own
   * listen()) ends its chain itself and gets none, as under its own listen().
   */
  middleware?: boolean;
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
  /**
   * Deno.serve's onListen on an app object written for `deno serve`: called with the address (as
   * Deno gives it) once the server listens, in each worker, as `deno serve --parallel` calls it.
   */
  onListen?(address: BoundAddress): unknown;
  /** How `auto` decided, for the debug log. */
  detectedBy: string;
  /**
   * Listening options of Bun.serve's (srvx's, Deno.serve's) that the app object carries (`port`,
   * `hostname`, `unix`, `tls`, `idleTimeout`, `maxRequestBodySize`; srvx's `plugins`): `bun app.ts`
   * listens with them; tsuv, as uvicorn, listens where its own options say, so they are ignored, and
   * said to be (load-app.ts). Also srvx's `trustProxy` and `gracefulShutdown`, which tsuv's options
   * replace, and a Cloudflare Worker's handlers beside fetch (`scheduled`, `queue`, `email`, `tail`:
   * app-shapes.ts WORKER_HANDLER_KEYS), which tsuv never calls.
   */
  ignoredServeOptions?: string[];
  /**
   * The export is an HTTPS server (https.createServer({ key, cert }, app)): tsuv serves its request
   * listeners from its own listener, which has the server's key and certificate only when tsuv is
   * given them too (--ssl-*): said at start-up (load-app.ts).
   */
  ignoredHttpsServer?: boolean;
  /**
   * A two-parameter function whose names say nothing (a bundle's `(e, t)`), taken for a fetch
   * handler by default: a node:http listener so minified fails every request, so it is said at
   * start-up with the way out, --interface node (load-app.ts).
   */
  interfaceGuessed?: boolean;
}

export interface AppSpec {
  /** The module part, as written (for messages): "main", "src/app.ts". */
  module: string;
  /** Attribute chain; empty means the default export. */
  attrs: string[];
}

/** An APP without an extension, in this order: the first three as ever, then the rest the runtimes load. */
const EXTENSIONS = [".ts", ".js", ".mjs", ".tsx", ".jsx", ".mts", ".cts", ".cjs"];
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

/** A module written as a directory: `.`, `..`, or ending in a path separator. */
const DIRECTORY = /(?:^|[\\/])\.{1,2}$|[\\/]$/;

/** A dotted module name as uvicorn takes it ("app.main", Python's app/main.py): names, no slash. */
const DOTTED_MODULE = /^[\w$-]+(?:\.[\w$-]+)+$/;

/**
 * uvicorn's dotted module path as a path ("app.main" -> "app/main"), or null where `module` is not
 * one: a path, a single name, or a name with an extension ("main.ts" is a file, not main/ts).
 */
export function dottedModulePath(module: string): string | null {
  if (KNOWN_EXTENSION.test(module) || !DOTTED_MODULE.test(module)) return null;
  return module.replaceAll(".", "/");
}

/**
 * Candidate files for a module spec, the first that exists wins: as is when it has an extension;
 * else the module as a file (.ts, .js, .mjs, ...), then as a directory's index (a package, as uvicorn's
 * `app` finds app/__init__.py), and, for a dotted name that is neither, the same for its path form
 * (`app.main` -> app/main.ts, as a uvicorn user writes it). A file named with the dots wins.
 */
export function moduleCandidates(
  module: string,
  appDir: string,
  resolvePath: (...parts: string[]) => string,
): string[] {
  if (KNOWN_EXTENSION.test(module)) return [resolvePath(appDir, module)];
  const indexes = (base: string) => EXTENSIONS.map((ext) => resolvePath(base, `index${ext}`));
  // A directory as written (`.`, `..`, `src/`): its index only, never a file beside it (`tsuv .` in
  // app/ is app/index.ts, not ../app.ts).
  if (DIRECTORY.test(module)) return indexes(resolvePath(appDir, module));
  const dotted = dottedModulePath(module);
  const forms = dotted === null ? [module] : [module, dotted];
  return forms.flatMap((form) => {
    const base = resolvePath(appDir, form);
    return [...EXTENSIONS.map((ext) => base + ext), ...indexes(base)];
  });
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
    // With a trailing slash, only a directory exists (a file there is ENOTDIR).
    const hint = !deps.exists(appDir)
      ? ` (--app-dir ${appDir} does not exist)`
      : deps.exists(`${appDir}/`)
        ? ""
        : ` (--app-dir ${appDir} is not a directory)`;
    throw new AppLoadError(`Error loading app. Could not import module "${moduleName}"${hint}.`);
  }

  let mod: Record<string, unknown>;
  // The runtime's Response, before the app can replace it (native-response.ts).
  captureNativeResponse();
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
  if (spec.attrs.length === 0) target = compiledDefault(target);

  return options.factory ? callFactory(target, "The export") : { target };
}

/**
 * The default export of a CommonJS module compiled from an ES module (tsc's `"module": "commonjs"`,
 * esbuild's and Babel's cjs output: `exports.default = app`, marked `__esModule`): Node and Deno give
 * the whole `module.exports` as the import's default, Bun and bundlers its `default`, the export the
 * source wrote. Taken on every runtime, so `tsuv dist/index.js` serves such a build everywhere.
 */
function compiledDefault(value: unknown): unknown {
  if ((typeof value !== "object" || value === null) && typeof value !== "function") return value;
  // The marker first: an app that answers every property (itty-router's Proxy) has no `true` one.
  const record = value as { __esModule?: unknown; default?: unknown };
  return record.__esModule === true && "default" in record ? record.default : value;
}

/** The app as a value, given to the library's run() in place of an import string (uvicorn.run(app)). */
export interface GivenApp {
  app: unknown;
}

/** --factory: the app is what `factory()` returns (or its promise settles to), boxed as importApp's. */
export async function callFactory(factory: unknown, what: string): Promise<{ target: unknown }> {
  if (typeof factory !== "function") {
    throw new AppLoadError(`Error loading app factory. ${what} is ${describe(factory)}, not a function.`);
  }
  try {
    // Only a promise is awaited: a thenable app (see importApp) would never settle.
    const made = (factory as () => unknown)();
    return { target: made instanceof Promise ? await made : made };
  } catch (error) {
    throw new AppLoadError(
      `Error loading app factory. ${errorMessage(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
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

function isH3v1App(value: Record<string, unknown>): boolean {
  return (
    typeof value.handler === "function" &&
    typeof value.use === "function" &&
    typeof value.resolve === "function" &&
    Array.isArray(value.stack)
  );
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return `a function with ${value.length} parameter(s)`;
  // `export default createApp()` of an async factory: its own keys are none, so "an empty object".
  if (typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
    return "a Promise (export what it resolves to: `export default await createApp()`)";
  }
  // h3 v1's createApp() (Nuxt 3's, and listhen's input): its handler takes h3's event, made by h3's
  // own toNodeListener/toWebHandler, so only the app's h3 can adapt it.
  if (typeof value === "object" && isH3v1App(value as Record<string, unknown>)) {
    return "an h3 v1 app (createApp()): export toWebHandler(app) (or toNodeListener(app)) from h3 instead, or move to h3 v2, whose app has fetch()";
  }
  if (typeof value === "object") {
    const keys = Object.keys(value as object).slice(0, 5);
    return keys.length ? `an object with keys ${keys.join(", ")}` : "an empty object";
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}
