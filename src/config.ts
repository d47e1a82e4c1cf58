/**
 * Config: argv + environment -> validated, typed settings, in labelled steps: parse and resolve
 * from the environment (src/parse-options.ts), then validate and check prerequisites (here).
 * Throws UsageError (exit 2) for bad flags and values, ConfigError (exit 1) for configuration the
 * runtime or filesystem refuses.
 */
import { ConfigError, UsageError } from "./errors.ts";
import { invalidFieldValue, TOKEN } from "./http-fields.ts";
import { validateForwardedAllowIps } from "./middleware/proxy-headers.ts";
import { normalizeRootPath } from "./middleware/root-path.ts";
import { unknownEnvWarnings } from "./option-hints.ts";
import { envVarName, OPTIONS, type OptionName, type OptionValues } from "./options.ts";
import { originOf, parseOptions, sourceOf } from "./parse-options.ts";
import type { RuntimeInfo } from "./runtime/detect.ts";
import {
  cipherSupport,
  clientCertSupport,
  fdSupport,
  listenSupport,
  nativeWebSocketSupport,
  processModeSupport,
  type Refusal,
  reloadSupport,
  type SocketSharing,
  threadModeSupport,
} from "./runtime/support.ts";

export interface Config extends OptionValues {
  /** Workers resolved ($WEB_CONCURRENCY, else 1). */
  workers: number;
  /** Proxy addresses trusted for X-Forwarded-*, resolved ($FORWARDED_ALLOW_IPS, else 127.0.0.1). */
  forwardedAllowIps: string;
  /** Custom default headers, parsed. */
  headers: [string, string][];
  /** --root-path without a trailing slash; "" when there is none. */
  rootPath: string;
  /** How workers share the socket, when there is more than one worker. */
  socketSharing: SocketSharing | null;
  /** The argv this Config came from; workers re-resolve the same Config from it. */
  argv: string[];
}

const NAMES = Object.keys(OPTIONS) as OptionName[];

/**
 * The TSUV_* variables tsuv reads: one per option, and two that are not options: the boot message
 * a supervisor hands a process worker (runtime/plumbing.ts) and the folder of Node's TypeScript
 * cache (runtime/node-ts-cache.ts).
 */
const KNOWN_ENV: ReadonlySet<string> = new Set([
  ...NAMES.map(envVarName),
  "TSUV_WORKER_BOOT",
  "TSUV_CACHE_DIR",
]);

function parseHeaders(raw: string[], source: string): [string, string][] {
  return raw.map((entry) => {
    const colon = entry.indexOf(":");
    const name = colon === -1 ? "" : entry.slice(0, colon).trim();
    if (!name || !TOKEN.test(name)) {
      throw new UsageError(`Invalid value for '${source}': '${entry}' is not NAME:VALUE.`);
    }
    const value = entry.slice(colon + 1).trim();
    // Said here, the same on every runtime, before anything starts: each runtime's Headers said it
    // in its own words once a worker was up, or not at all (Node then answered every request 500).
    if (invalidFieldValue(value) || /[^\0-\xff]/.test(value)) {
      throw new UsageError(
        `Invalid value for '${source}': ${JSON.stringify(entry)} has a character no header value may hold (a control character, or one above U+00FF).`,
      );
    }
    return [name.toLowerCase(), value];
  });
}

/**
 * A unix socket's path must fit sockaddr_un's sun_path with its terminating NUL: 107 bytes on Linux,
 * 103 on macOS. Node does not refuse a longer one: it binds a socket at the path cut to fit (left
 * behind), and failed afterwards with a confusing `ENOENT ... chmod` of the full path; Bun says
 * ENAMETOOLONG and Deno "path must be shorter than SUN_LEN". Checked here, the same on all three.
 */
function checkSocketPathLength(path: string, os: string): void {
  const max = os === "darwin" ? 103 : 107;
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > max) {
    throw new ConfigError(
      `--uds: the socket path is ${bytes} bytes long; a unix socket path can be at most ${max} bytes: ${path}`,
    );
  }
}

export interface ResolveDeps {
  runtime: RuntimeInfo;
  /** Filesystem checks, injectable for tests. */
  exists?: (path: string) => boolean;
  /** Warnings found while resolving (e.g. workers ignored with reload). */
  warn?: (message: string) => void;
  /** The app is a value given to the library's run(), not an import string (uvicorn.run(app)). */
  appGiven?: boolean;
}

/** uvicorn's words, for `uvicorn.run(app, workers=2)` with an app object. */
export const IMPORT_STRING_NEEDED =
  "You must pass the application as an import string to enable 'reload' or 'workers': each worker, and each reload, imports it afresh (run(\"main.ts:app\", ...)).";

/** Step 3 and 4: validate combinations and the runtime's prerequisites. */
export function resolveConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  deps: ResolveDeps,
): Config {
  const values = parseOptions(argv, env);
  for (const warning of unknownEnvWarnings(env, KNOWN_ENV)) deps.warn?.(warning);
  const workers = values.workers ?? 1;
  const config: Config = {
    ...values,
    workers,
    forwardedAllowIps: values.forwardedAllowIps ?? "127.0.0.1",
    headers: parseHeaders(values.header, sourceOf("header", argv, env)),
    rootPath: normalizeRootPath(values.rootPath, sourceOf("root-path", argv, env)),
    socketSharing: null,
    argv,
  };

  if (config.proxyHeaders)
    validateForwardedAllowIps(config.forwardedAllowIps, sourceOf("forwarded-allow-ips", argv, env));
  if (config.uds && config.fd !== undefined)
    throw new UsageError("Options '--uds' and '--fd' are mutually exclusive.");
  if (Boolean(config.sslKeyfile) !== Boolean(config.sslCertfile)) {
    throw new UsageError("Options '--ssl-keyfile' and '--ssl-certfile' must be given together.");
  }
  /** An option that only means something when tsuv serves TLS. */
  const needsTls = (option: string) => {
    if (!config.sslKeyfile)
      throw new UsageError(`Option ${option} needs '--ssl-keyfile' and '--ssl-certfile'.`);
  };
  if (config.sslCertReqs !== "0") {
    const option = `'--ssl-cert-reqs ${config.sslCertReqs}'`;
    needsTls(option);
    if (!config.sslCaCerts) {
      throw new UsageError(
        `Option ${option} needs '--ssl-ca-certs': the CA certificates that client certificates are verified against.`,
      );
    }
    supported(clientCertSupport(deps.runtime, config.sslCertReqs));
  }
  if (config.sslCiphers !== undefined) {
    needsTls("'--ssl-ciphers'");
    supported(cipherSupport(deps.runtime));
  }
  // Before the runtime's prerequisites for them: this is what the user must change first.
  if (deps.appGiven && (config.reload || workers > 1)) throw new ConfigError(IMPORT_STRING_NEEDED);
  if (config.reload && workers > 1) deps.warn?.('"workers" flag is ignored when reloading is enabled.');
  /** Set by its flag or TSUV_* variable: what the user asked for (not a default, nor $PORT and its like). */
  const askedFor = (name: OptionName) => {
    const origin = originOf(name, argv, env);
    return origin === "flag" || origin === "env";
  };
  if (!config.reload) {
    // uvicorn warns too ("Current configuration will not reload as not all conditions are met").
    const reloadOnly = RELOAD_OPTIONS.filter(askedFor);
    if (reloadOnly.length > 0)
      deps.warn?.(
        `${reloadOnly.map((name) => `--${name}`).join(", ")} ${reloadOnly.length > 1 ? "have" : "has"} no effect without --reload: this server will not reload.`,
      );
  }
  const listensOnTcp = !config.uds && config.fd === undefined;
  if (
    listensOnTcp &&
    originOf("port", argv, env) === "envFallback" &&
    originOf("host", argv, env) === "default"
  ) {
    // A platform that sets PORT (Heroku, Cloud Run, Render, Railway) connects from outside the
    // container; gunicorn binds 0.0.0.0 then. tsuv keeps uvicorn's loopback default, and says so.
    deps.warn?.(
      `Listening on port ${config.port} from $PORT, on ${config.host} only (the default --host): a platform that sets PORT connects from outside the container, where ${config.host} cannot be reached. Add --host 0.0.0.0 (or TSUV_HOST=0.0.0.0) to accept those connections.`,
    );
  }
  if (!listensOnTcp) {
    // Asked for (not $PORT, which a platform sets for everyone) and dropped: --uds and --fd listen
    // on that one socket only (uvicorn says nothing).
    const unused = (["host", "port"] as const).filter(askedFor);
    if (unused.length > 0)
      deps.warn?.(
        `${unused.map((name) => `--${name}`).join(" and ")} ${unused.length > 1 ? "are" : "is"} not used: ${config.uds ? `tsuv listens on the unix socket --uds ${config.uds}` : `tsuv serves on the inherited socket --fd ${config.fd}`} and nothing else.`,
      );
  }
  const idleTimeout = deps.runtime.capabilities.idleConnectionTimeout;
  const keepAliveLimit = typeof idleTimeout === "object" ? idleTimeout.maxSeconds : null;
  if (keepAliveLimit !== null && config.timeoutKeepAlive > keepAliveLimit) {
    // Said, not refused: serving is still right. But a load balancer tuned to close idle
    // connections first (its idle timeout under this one, as AWS advises) now may not.
    deps.warn?.(
      `--timeout-keep-alive ${config.timeoutKeepAlive}: ${deps.runtime.displayName}'s server closes an idle connection after ${keepAliveLimit} s at most, so idle connections close after ${keepAliveLimit} s. A load balancer in front must close its idle connections first (its idle timeout under ${keepAliveLimit} s), or it may send a request on one as it closes and answer 502.`,
    );
  }
  if (idleTimeout === "never" && askedFor("timeout-keep-alive")) {
    deps.warn?.(
      `--timeout-keep-alive has no effect on ${deps.runtime.displayName}: its server has no idle timeout, so a kept-alive connection stays open until the client closes it (denoland/deno#32497).`,
    );
  }
  if (!config.dateHeader && deps.runtime.capabilities.writesDateHeader) {
    // Bun.serve and Deno.serve date every response themselves, and neither can be told not to.
    deps.warn?.(
      `--no-date-header has no effect on ${deps.runtime.displayName}: its server writes the date itself.`,
    );
  }

  const backlogs = deps.runtime.capabilities.fixedBacklog;
  const fixedBacklog = backlogs[config.uds ? "unix" : "tcp"];
  if (fixedBacklog !== null && config.backlog !== fixedBacklog && askedFor("backlog")) {
    // Said, not refused: it serves as well, with the runtime's queue length instead.
    const where = config.uds && backlogs.tcp === null ? [" with --uds", " for a unix socket"] : ["", ""];
    deps.warn?.(
      `--backlog ${config.backlog} has no effect on ${deps.runtime.displayName}${where[0]}: its server takes no backlog${where[1]} and listens with ${fixedBacklog}.`,
    );
  }

  const exists = deps.exists;
  if (exists) {
    for (const [flag, path] of [
      ["--env-file", config.envFile],
      ["--ssl-keyfile", config.sslKeyfile],
      ["--ssl-certfile", config.sslCertfile],
      ["--ssl-ca-certs", config.sslCaCerts],
    ] as const) {
      if (path && !exists(path)) throw new ConfigError(`${flag}: file not found: ${path}`);
    }
    if (config.uds) {
      const dir = config.uds.includes("/") ? config.uds.slice(0, config.uds.lastIndexOf("/")) || "/" : ".";
      if (!exists(dir)) throw new ConfigError(`--uds: directory does not exist: ${dir}`);
    }
  }

  supported(listenSupport(deps.runtime));
  if (config.uds) checkSocketPathLength(config.uds, deps.runtime.os);
  if (config.fd !== undefined) supported(fdSupport(deps.runtime));
  if (config.ws === "bun") supported(nativeWebSocketSupport(deps.runtime));
  if (config.reload) supported(reloadSupport(deps.runtime));
  if (config.workerClass === "thread") {
    config.socketSharing = supported(threadModeSupport(deps.runtime)).sharing;
  } else if (workers > 1 && !config.reload) {
    config.socketSharing = supported(processModeSupport(deps.runtime)).sharing;
  }
  return config;
}

/** What the runtime can do, or exit 1 with the reason detect.ts gives for what it cannot. */
function supported<T extends { ok: true }>(support: T | Refusal): T {
  if (!support.ok) throw new ConfigError(support.reason);
  return support;
}

/** The options that only --reload reads. */
const RELOAD_OPTIONS = ["reload-dir", "reload-include", "reload-exclude", "reload-delay"] as const;

/** True when the server runs in a child process: reload, or several process-class workers (as the seed). */
export function useSubprocess(config: Pick<Config, "reload" | "workers" | "workerClass">): boolean {
  return Boolean(config.reload || (config.workers > 1 && config.workerClass === "process"));
}

/** Seconds a stopping thread worker may drain: the graceful timeout, else the healthcheck timeout (seed). */
export function threadShutdownTimeout(
  config: Pick<Config, "timeoutGracefulShutdown" | "timeoutWorkerHealthcheck">,
): number {
  return config.timeoutGracefulShutdown ?? config.timeoutWorkerHealthcheck;
}
