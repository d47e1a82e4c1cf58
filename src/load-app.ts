/**
 * The app as a server loads it: imported and its interface detected (app.ts), and what in it tsuv
 * replaces said at start-up: Bun.serve's listening options on its export, an exported HTTPS
 * server's key and certificate, a server of its own started as it loaded (RuntimeAdapter.watchListenCalls).
 */
import { callFactory, type GivenApp, importApp, type LoadedApp } from "./app.ts";
import { SERVE_OPTION_KEYS, toLoadedApp, WORKER_HANDLER_KEYS } from "./app-shapes.ts";
import type { Config } from "./config.ts";
import { AppLoadError } from "./errors.ts";
import type { Logger } from "./logging.ts";
import type { RuntimeAdapter } from "./runtime/adapter.ts";
// Not node:fs or node:path: on Deno any node:* module costs ~30 ms of start-up (runtime/paths.ts).
import { pathExists, resolvePath } from "./runtime/index.ts";

const SERVE_HTTPS_WITH = "serve HTTPS with --ssl-keyfile and --ssl-certfile";

/**
 * What the export sets that tsuv replaces and that is said in a sentence of its own (srvx's
 * options), in the order said; Bun.serve's options share one sentence (serveOptionsWarning).
 */
const OWN_SENTENCES: Readonly<Record<string, string>> = {
  // srvx's plugins: its CLI runs them with its Server, which tsuv has not.
  plugins:
    "The app's export sets plugins (srvx's, which the srvx CLI runs with its server): tsuv does not run them; do their work in fetch or in the export's middleware list, which tsuv runs.",
  trustProxy:
    "The app's export sets trustProxy (srvx's): tsuv takes the client and scheme from X-Forwarded-For and X-Forwarded-Proto only from the addresses --forwarded-allow-ips names (127.0.0.1 by default, as uvicorn): name your proxy's there.",
  gracefulShutdown:
    "The app's export sets gracefulShutdown (srvx's): a stop waits for requests as --timeout-graceful-shutdown says.",
};

/** The start-up warning for LoadedApp.ignoredServeOptions; `servesTls`: tsuv was given --ssl-*. */
export function serveOptionsWarning(allKeys: readonly string[], servesTls = false): string {
  const handlers = allKeys.filter((key) => (WORKER_HANDLER_KEYS as readonly string[]).includes(key));
  const workers =
    handlers.length > 0
      ? `The app's export has ${listed(handlers.map((key) => `${key}()`))} (a Cloudflare Worker's, which the platform calls): tsuv serves HTTP only and never calls ${handlers.length === 1 ? "it" : "them"}; run that work on its own schedule (cron, a systemd timer) or in a process of its own.`
      : "";
  const own = Object.entries(OWN_SENTENCES)
    .filter(([key]) => allKeys.includes(key))
    .map(([, sentence]) => sentence);
  const extra = [...own, workers].filter(Boolean).join(" ");
  const keys = allKeys.filter((key) => (SERVE_OPTION_KEYS as readonly string[]).includes(key));
  if (keys.length === 0) return extra;
  const named = listed(keys);
  const listening = keys.some(
    (key) => key === "port" || key === "hostname" || key === "unix" || key === "tls",
  );
  const where = listening ? " and listens where --host and --port (or --uds, --fd) say" : "";
  const tls = keys.includes("tls") && !servesTls ? ` So it serves plain HTTP: ${SERVE_HTTPS_WITH}.` : "";
  const idle = keys.includes("idleTimeout")
    ? " Idle keep-alive connections close as --timeout-keep-alive says (5 s by default)."
    : "";
  // An app that set a limit to refuse large uploads must not lose it silently.
  const body = keys.includes("maxRequestBodySize")
    ? " Request bodies have no size limit, as under uvicorn: set one in the proxy in front (nginx's client_max_body_size)."
    : "";
  const bun = `The app's export sets ${named} (Bun.serve's options, which \`bun app.ts\` listens with): tsuv ignores them${where}.${tls}${idle}${body}`;
  return extra ? `${bun} ${extra}` : bun;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length === 1 ? (items[0] as string) : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The start-up warning for LoadedApp.ignoredHttpsServer, when tsuv was not given --ssl-*. */
export const HTTPS_SERVER_WARNING = `The app's export is an HTTPS server (https.createServer): tsuv serves its request listeners from its own listener, without the server's key and certificate, so it serves plain HTTP: ${SERVE_HTTPS_WITH}.`;

const OWN_LISTEN_WARNING =
  "The app started a server of its own as it loaded (as `app.listen(3000)` at the end of an Express app does, or a Bun.serve() or Deno.serve() beside the export): it serves beside tsuv's, unsupervised and without a graceful shutdown. Remove the call, or make it only when the file is run directly (if (import.meta.main)).";

/**
 * A module that ran a server as it loaded and gives no app (nothing exported where the app was
 * looked for, or not an app) is a server's entry: the error says so, with the way out, where "is
 * an empty object" or "Attribute "default" not found" alone left the user to guess.
 */
function asServerEntry(error: unknown, listenCalls: number): unknown {
  if (listenCalls === 0 || !(error instanceof AppLoadError)) return error;
  return new AppLoadError(`${error.message} ${OWN_SERVER_NOT_APP}`, error.detail);
}

const OWN_SERVER_NOT_APP =
  "It started a server of its own as it loaded: it is a server's entry, not an app. Export the app without starting a server; a framework's build has an entry for that (Nitro's and Nuxt's node-listener preset: `.output/server/index.mjs:listener`; SvelteKit's adapter-node: `build/handler.js:handler`).";

/** The start-up warning for LoadedApp.interfaceGuessed; `inCode`: the library's run(), whose options are written as code. */
export function guessedInterfaceWarning(app: string, inCode = false): string {
  const option = (value: string) => (inCode ? `interface: "${value}"` : `--interface ${value}`);
  return `"${app}" is a function of two parameters whose names do not say what it is (minified?): it is served as a fetch handler (request, info). If it is a node:http listener (req, res), serve it with ${option("node")}; ${option("fetch")} says it is not.`;
}

/** What messages call an app given as a value (the library's run(app)), which has no import string. */
const GIVEN_APP_LABEL = "the app given to run()";

/**
 * `sayWarnings` false: the warnings are another worker's to say (WorkerBoot.appWarnings). `given`:
 * the app itself, from the library's run(), served as it is (its factory called with --factory).
 */
export async function loadApp(
  config: Config,
  adapter: RuntimeAdapter,
  logger: Logger,
  sayWarnings = true,
  given?: GivenApp,
): Promise<LoadedApp> {
  const label = given ? GIVEN_APP_LABEL : (config.app ?? "");
  let listenCalls = 0;
  let target: unknown;
  if (given) {
    ({ target } = config.factory ? await callFactory(given.app, "It") : { target: given.app });
  } else {
    const stopWatching = adapter.watchListenCalls?.();
    let failed: { error: unknown } | undefined;
    try {
      ({ target } = await importApp(
        {
          app: config.app ?? "",
          appDir: resolvePath(config.appDir),
          factory: config.factory,
          interface: config.interface,
        },
        { importModule: (path) => adapter.importModule(path), exists: pathExists, resolvePath },
      ));
    } catch (error) {
      failed = { error };
    }
    listenCalls = stopWatching?.() ?? 0;
    if (failed) throw asServerEntry(failed.error, listenCalls);
  }
  let app: LoadedApp;
  try {
    app = toLoadedApp(target, config.interface, label);
  } catch (error) {
    throw asServerEntry(error, listenCalls);
  }
  logger.debug(`Detected the ${app.interface} interface (${app.detectedBy}).`);
  if (!sayWarnings) return app;
  const servesTls = Boolean(config.sslKeyfile);
  if (app.ignoredServeOptions) logger.warning(serveOptionsWarning(app.ignoredServeOptions, servesTls));
  if (app.ignoredHttpsServer && !servesTls) logger.warning(HTTPS_SERVER_WARNING);
  if (listenCalls > 0) logger.warning(OWN_LISTEN_WARNING);
  if (app.interfaceGuessed) logger.warning(guessedInterfaceWarning(label, given !== undefined));
  return app;
}
