/**
 * Config: argv + environment -> validated, typed settings, in labelled steps (parse, resolve
 * from the environment, validate, check prerequisites). Throws UsageError (exit 2) for bad flags
 * and values, ConfigError (exit 1) for configuration the runtime or filesystem refuses.
 */
import { ConfigError, UsageError } from "./errors.ts";
import { validateForwardedAllowIps } from "./middleware/proxy-headers.ts";
import { normalizeRootPath } from "./middleware/root-path.ts";
import { unknownEnvWarnings, unknownOptionMessage } from "./option-hints.ts";
import {
  aliasFlags,
  camelCase,
  envVarName,
  isNegatable,
  OPTIONS,
  type OptionName,
  type OptionSpec,
  type OptionValues,
} from "./options.ts";
import type { RuntimeInfo } from "./runtime/detect.ts";
import {
  cipherSupport,
  clientCertSupport,
  fdSupport,
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
 * cache (runtime/node-ts-hooks.ts).
 */
const KNOWN_ENV: ReadonlySet<string> = new Set([
  ...NAMES.map(envVarName),
  "TSUV_WORKER_BOOT",
  "TSUV_CACHE_DIR",
]);
const SPEC: Record<string, OptionSpec> = OPTIONS;

/** Long flags the table accepts, including `--no-X` for booleans and aliases. */
function knownFlags(): Map<string, OptionName> {
  const flags = new Map<string, OptionName>();
  for (const name of NAMES) {
    const spec = SPEC[name] as OptionSpec;
    if (spec.type === "positional") continue;
    flags.set(`--${name}`, name);
    if (spec.type === "boolean") flags.set(`--no-${name}`, name);
    for (const alias of aliasFlags(spec)) flags.set(alias, name);
  }
  return flags;
}

/** What the command line says: the last value of each option named, lists in order, positionals. */
interface ParsedArgv {
  values: Map<OptionName, string | boolean>;
  lists: Map<OptionName, string[]>;
  positionals: string[];
}

/** What parseValue reads as a boolean, for a `takesBooleanValue` flag's next word. */
const BOOLEAN_WORD = /^(?:1|0|true|false|yes|no|on|off)$/i;

/**
 * The command line, strictly: unknown flags, missing values and values given to booleans are
 * errors (citty's parser is lenient by design and took them silently). Values are read here too,
 * rather than by citty's parseArgs: that one loads node:util, ~10-15 ms of Bun 1.4.5 start-up with
 * citty itself (performance.now() around the imports), for a job this pass already did. The option
 * table keeps citty's shape (src/options.ts); the help text is src/help.ts.
 *
 * `--name value` and `--name=value`; `--flag` / `--no-flag`; the last of a repeated option wins, as
 * in uvicorn (click), except list options, which collect every value; after `--` all is positional.
 */
function scanArgv(argv: string[]): ParsedArgv {
  const flags = knownFlags();
  const values = new Map<OptionName, string | boolean>();
  const lists = new Map<OptionName, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const flag = eq === -1 ? token : token.slice(0, eq);
    const name = flags.get(flag);
    if (name === undefined) throw new UsageError(unknownOptionMessage(flag, flags.keys()));
    const spec = SPEC[name] as OptionSpec;
    if (spec.type === "boolean") {
      const negated = flag === `--no-${name}`;
      if (spec.takesBooleanValue && !negated) {
        // uvicorn's `--flag BOOLEAN`: a value after `=`, or a next word that is a boolean.
        const next = argv[i + 1];
        const raw =
          eq !== -1 ? token.slice(eq + 1) : next !== undefined && BOOLEAN_WORD.test(next) ? next : null;
        if (raw !== null && eq === -1) i++;
        values.set(name, raw === null ? true : (parseValue(name, raw, flag) as boolean));
        continue;
      }
      if (eq !== -1) {
        const pair = isNegatable(spec) ? `: use --${name} or --no-${name}` : "";
        throw new UsageError(`Option '${flag}' does not take a value${pair}.`);
      }
      values.set(name, !negated);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value.length > 2)) {
        throw new UsageError(`Option '${flag}' requires an argument.`);
      }
      i++;
    }
    if (spec.kind === "list") lists.set(name, [...(lists.get(name) ?? []), value]);
    else values.set(name, value);
  }
  return { values, lists, positionals };
}

function parseValue(name: OptionName, raw: string, source: string): unknown {
  const spec = SPEC[name] as OptionSpec;
  const bad = (what: string) => new UsageError(`Invalid value for '${source}': '${raw}' is not ${what}.`);
  /** click's wording (uvicorn's parser): `x>=1`, `x<=9`, `0<=x<=2147483`. */
  const outOfRange = (value: number): UsageError | undefined => {
    const { min, max } = spec;
    if ((min === undefined || value >= min) && (max === undefined || value <= max)) return undefined;
    const range = min === undefined ? `x<=${max}` : max === undefined ? `x>=${min}` : `${min}<=x<=${max}`;
    return bad(`in the range ${range}`);
  };
  switch (spec.kind) {
    case "int": {
      if (!/^-?\d+$/.test(raw.trim())) throw bad("a valid integer");
      const value = Number.parseInt(raw, 10);
      const refused = outOfRange(value);
      if (refused) throw refused;
      if (name === "port" && value > 65535) throw bad("a valid port (0-65535)");
      return value;
    }
    case "float": {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(value)) throw bad("a valid number");
      const refused = outOfRange(value);
      if (refused) throw refused;
      return value;
    }
    case "bool": {
      const lowered = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(lowered)) return true;
      if (["0", "false", "no", "off", ""].includes(lowered)) return false;
      throw bad("a boolean (true/false)");
    }
    case "enum": {
      const choices = ("options" in spec ? spec.options : []) as string[];
      if (!choices.includes(raw)) throw bad(`one of ${choices.map((c) => `'${c}'`).join(", ")}`);
      return raw;
    }
    case "list":
      return raw
        .split(spec.envSeparator ?? ",")
        .map((part) => part.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

/**
 * A TSUV_* value, or undefined where the variable is unset or empty. Empty counts as unset, as with
 * click's UVICORN_* variables: compose's `TSUV_HOST=${HOST}` with HOST unset must not bind every
 * interface (host "") or turn the access log off (a boolean's ""), it means "not given".
 */
function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name];
  return value === "" ? undefined : value;
}

/** Step 1 and 2: argv and TSUV_* environment -> raw typed values (CLI wins over env over default). */
export function parseOptions(argv: string[], env: Record<string, string | undefined>): OptionValues {
  const { values: fromCli, lists, positionals } = scanArgv(argv);
  if (positionals.length > 1) throw new UsageError(`Got unexpected extra argument (${positionals[1]})`);

  const values: Record<string, unknown> = {};
  for (const name of NAMES) {
    const spec = SPEC[name] as OptionSpec;
    const key = camelCase(name);
    const envName = envVarName(name);
    if (spec.kind === "list") {
      const fromCli = lists.get(name);
      const fromEnv = envValue(env, envName);
      values[key] = fromCli ?? (fromEnv !== undefined ? parseValue(name, fromEnv, envName) : []);
      continue;
    }
    if (spec.type === "positional") {
      values[key] = positionals[0] ?? envValue(env, envName);
      continue;
    }
    const raw = fromCli.get(name);
    if (raw !== undefined) {
      values[key] = typeof raw === "boolean" ? raw : parseValue(name, raw, `--${name}`);
      continue;
    }
    const fromEnv = envValue(env, envName);
    if (fromEnv !== undefined) {
      values[key] = parseValue(name, fromEnv, envName);
      continue;
    }
    const fallbackName = spec.envFallback;
    const fallback = fallbackName ? envValue(env, fallbackName) : undefined;
    if (fallbackName && fallback !== undefined) {
      values[key] = parseValue(name, fallback, fallbackName);
      continue;
    }
    if ("default" in spec && spec.default !== undefined) {
      values[key] =
        spec.type === "boolean" ? spec.default : parseValue(name, String(spec.default), `--${name}`);
    }
  }
  return values as OptionValues;
}

/**
 * Where an option's value came from, as its error names it: the flag, its TSUV_* variable, or the
 * plain variable it falls back to (FORWARDED_ALLOW_IPS). For checks made after parseOptions.
 */
function sourceOf(name: OptionName, argv: string[], env: Record<string, string | undefined>): string {
  const flag = `--${name}`;
  const end = argv.indexOf("--");
  const given = end === -1 ? argv : argv.slice(0, end);
  if (given.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) return flag;
  const envName = envVarName(name);
  if (envValue(env, envName) !== undefined) return envName;
  return (SPEC[name] as OptionSpec).envFallback ?? flag;
}

function parseHeaders(raw: string[], source: string): [string, string][] {
  return raw.map((entry) => {
    const colon = entry.indexOf(":");
    const name = colon === -1 ? "" : entry.slice(0, colon).trim();
    if (!name || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new UsageError(`Invalid value for '${source}': '${entry}' is not NAME:VALUE.`);
    }
    return [name.toLowerCase(), entry.slice(colon + 1).trim()];
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
}

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
  if (config.reload && workers > 1) deps.warn?.('"workers" flag is ignored when reloading is enabled.');
  const keepAliveLimit = deps.runtime.capabilities.keepAliveLimitSeconds;
  if (keepAliveLimit !== null && config.timeoutKeepAlive > keepAliveLimit) {
    // Said, not refused: serving is still right. But a load balancer tuned to close idle
    // connections first (its idle timeout under this one, as AWS advises) now may not.
    deps.warn?.(
      `--timeout-keep-alive ${config.timeoutKeepAlive}: ${deps.runtime.displayName}'s server closes an idle connection after ${keepAliveLimit} s at most, so idle connections close after ${keepAliveLimit} s. A load balancer in front must close its idle connections first (its idle timeout under ${keepAliveLimit} s), or it may send a request on one as it closes and answer 502.`,
    );
  }
  if (!config.dateHeader && deps.runtime.capabilities.writesDateHeader) {
    // Bun.serve and Deno.serve date every response themselves, and neither can be told not to.
    deps.warn?.(
      `--no-date-header has no effect on ${deps.runtime.displayName}: its server writes the date itself.`,
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
