/**
 * THE option table. Every tsuv option is declared here once, as a citty ArgsDef entry plus a
 * little metadata of ours; the CLI parser, the Config type, the TSUV_* environment variables,
 * `--help` and docs/settings.md are all derived from it.
 */
import type { ArgDef } from "citty";

/** How a raw string (from argv or the environment) becomes a typed value. */
export type ValueKind = "string" | "int" | "float" | "bool" | "enum" | "list";

export type OptionSpec = ArgDef & {
  kind: ValueKind;
  /** Section in the docs and help. */
  group: "App" | "Socket" | "Workers" | "Reload" | "Logging" | "HTTP" | "Limits" | "TLS" | "WebSocket";
  /** Lower bound for numbers. */
  min?: number;
  /** Upper bound for numbers. */
  max?: number;
  /** Separator used when a `list` option comes from the environment. */
  envSeparator?: string;
  /** The env var the default falls back to before the built-in default (uvicorn's $WEB_CONCURRENCY). */
  envFallback?: string;
  /**
   * A boolean flag that also takes uvicorn's `--flag BOOLEAN` form (`--flag false`, `--flag=0`),
   * where uvicorn's option is a valued one, not a `--flag/--no-flag` pair.
   */
  takesBooleanValue?: true;
  /**
   * uvicorn's values of this option that choose something Python (a WebSocket library, ASGI):
   * refused, as its flags with no meaning here are (option-hints.ts), saying why and what to use.
   */
  uvicornValues?: Readonly<Record<string, string>>;
};

/** A boolean written as a pair, `--access-log / --no-access-log`: on by default, or says it switches both ways. */
export function isNegatable(spec: OptionSpec): boolean {
  return (
    spec.type === "boolean" &&
    (spec.default === true || spec.description?.startsWith("Enable/disable") === true)
  );
}

/**
 * The longest duration option, in seconds (24.8 days): a timer runs for at most 2^31-1 ms, and a
 * longer one fires at once on every runtime (Node says "Timeout duration was set to 1"), so
 * `--timeout-graceful-shutdown 99999999`, meant as "wait", cut every request in flight at once.
 */
export const LONGEST_TIMER_SECONDS = 2_147_483;

const PYTHON_INTERFACE: string =
  "is a Python interface (uvicorn's); tsuv serves fetch apps (Request -> Response) and node apps ((req, res)): use auto (the default), fetch or node";
const PYTHON_WEBSOCKETS: string =
  "is one of uvicorn's Python WebSocket libraries; tsuv uses the runtime's own WebSockets: use auto (the default), none or bun";

// A plain `as const` literal, not built by a helper function: JSR (`deno publish`) needs every type
// in the public API (Config derives from this table) to be readable without inference across calls.
// `satisfies` still checks each entry against OptionSpec.
export const OPTIONS = {
  app: {
    type: "positional",
    kind: "string",
    group: "App",
    required: false,
    description:
      "The app to serve, as path[:attribute], e.g. main:app, src/server.ts, or uvicorn's dotted app.main:app (app/main.ts).",
    valueHint: "APP",
  },
  host: {
    type: "string",
    kind: "string",
    group: "Socket",
    default: "127.0.0.1",
    description: "Bind socket to this host. Use 0.0.0.0 or :: to listen on all interfaces.",
  },
  port: {
    type: "string",
    kind: "int",
    group: "Socket",
    default: "8000",
    min: 0,
    envFallback: "PORT",
    description:
      "Bind socket to this port. Defaults to the $PORT environment variable if set (as Heroku, Cloud Run and Render set it), or 8000. 0 picks a free port (the log shows it).",
  },
  uds: {
    type: "string",
    kind: "string",
    group: "Socket",
    description: "Bind to a unix domain socket.",
  },
  fd: {
    type: "string",
    kind: "int",
    group: "Socket",
    min: 0,
    description: "Serve on an inherited listening socket, e.g. from systemd socket activation.",
  },
  backlog: {
    type: "string",
    kind: "int",
    group: "Socket",
    default: "2048",
    min: 1,
    description:
      "Maximum number of connections to hold in backlog. Not on Bun (Bun.serve has no such option: 512), nor on Deno with --uds (1024).",
  },
  workers: {
    type: "string",
    kind: "int",
    group: "Workers",
    min: 1,
    envFallback: "WEB_CONCURRENCY",
    description:
      "Number of worker instances. Defaults to the $WEB_CONCURRENCY environment variable if available, or 1. Not valid with --reload.",
  },
  "worker-class": {
    type: "enum",
    kind: "enum",
    group: "Workers",
    options: ["process", "thread"],
    default: "process",
    description: "Worker implementation to use when running multiple workers.",
  },
  "timeout-worker-healthcheck": {
    type: "string",
    kind: "float",
    group: "Workers",
    default: "5",
    min: 0.1,
    max: LONGEST_TIMER_SECONDS,
    description: "Seconds a worker may go without answering a healthcheck before it is replaced.",
  },
  reload: { type: "boolean", kind: "bool", group: "Reload", description: "Enable auto-reload." },
  "reload-dir": {
    type: "string",
    kind: "list",
    group: "Reload",
    envSeparator: ",",
    description: "Directory to watch for changes (repeatable). Defaults to the working directory.",
  },
  "reload-include": {
    type: "string",
    kind: "list",
    group: "Reload",
    envSeparator: ",",
    description: "Glob pattern of files to watch (repeatable).",
  },
  "reload-exclude": {
    type: "string",
    kind: "list",
    group: "Reload",
    envSeparator: ",",
    description: "Glob pattern of files to ignore (repeatable).",
  },
  "reload-delay": {
    type: "string",
    kind: "float",
    group: "Reload",
    default: "0.25",
    min: 0,
    max: LONGEST_TIMER_SECONDS,
    description: "Seconds to wait between checks for changes; also the debounce window.",
  },
  "env-file": {
    type: "string",
    kind: "string",
    group: "App",
    description:
      "A dotenv file loaded into the environment before the app is imported, read as python-dotenv (uvicorn) reads it, variable expansion included; variables already set win. Its TSUV_* variables, and PORT, WEB_CONCURRENCY and FORWARDED_ALLOW_IPS, count as the environment's. Read again for the new workers of a SIGHUP restart and the next child of --reload.",
  },
  "log-level": {
    type: "enum",
    kind: "enum",
    group: "Logging",
    options: ["critical", "error", "warning", "info", "debug", "trace"],
    default: "info",
    description: "Log level.",
  },
  "log-format": {
    type: "enum",
    kind: "enum",
    group: "Logging",
    options: ["text", "json"],
    default: "text",
    description: "Log line format: uvicorn-style text, or JSON lines for log shippers.",
  },
  "access-log": {
    type: "boolean",
    kind: "bool",
    group: "Logging",
    default: true,
    description:
      "Enable/disable the access log (stdout; the lines of one event-loop turn are written together, at most a few ms late).",
  },
  "use-colors": {
    type: "boolean",
    kind: "bool",
    group: "Logging",
    description: "Enable/disable colored logging. Default: on for a TTY unless NO_COLOR is set.",
  },
  "proxy-headers": {
    type: "boolean",
    kind: "bool",
    group: "HTTP",
    default: true,
    description:
      "Enable/disable X-Forwarded-For and X-Forwarded-Proto to populate the client address and scheme.",
  },
  "forwarded-allow-ips": {
    type: "string",
    kind: "string",
    group: "HTTP",
    envFallback: "FORWARDED_ALLOW_IPS",
    description:
      "Comma-separated IPs, CIDRs or '*' trusted to send proxy headers. Defaults to $FORWARDED_ALLOW_IPS or 127.0.0.1.",
  },
  "root-path": {
    type: "string",
    kind: "string",
    group: "HTTP",
    description:
      "For an app mounted below a URL path by a proxy that strips it (e.g. /api): put back in front of every request path the app sees, as uvicorn's root_path.",
  },
  "server-header": {
    type: "boolean",
    kind: "bool",
    group: "HTTP",
    default: true,
    description: "Enable/disable the default 'server: tsuv' header.",
  },
  "date-header": {
    type: "boolean",
    kind: "bool",
    group: "HTTP",
    default: true,
    description: "Enable/disable the default 'date' header (Bun and Deno always write one).",
  },
  header: {
    type: "string",
    kind: "list",
    group: "HTTP",
    envSeparator: "\n",
    valueHint: "NAME:VALUE",
    description: "Custom default response header (repeatable). From the environment: one per line.",
  },
  "limit-concurrency": {
    type: "string",
    kind: "int",
    group: "Limits",
    min: 1,
    description: "Maximum concurrent requests and connections before responding 503.",
  },
  "limit-max-requests": {
    type: "string",
    kind: "int",
    group: "Limits",
    min: 1,
    description:
      "Maximum requests a worker serves before it is replaced (under a supervisor, its replacement starts first) and exits gracefully.",
  },
  "limit-max-requests-jitter": {
    type: "string",
    kind: "int",
    group: "Limits",
    default: "0",
    min: 0,
    description:
      "Random extra requests (0..N) added to --limit-max-requests per worker, to stagger restarts.",
  },
  "timeout-keep-alive": {
    type: "string",
    kind: "float",
    group: "Limits",
    default: "5",
    min: 0,
    max: LONGEST_TIMER_SECONDS,
    description:
      "Close keep-alive connections idle for this many seconds. Bun: 255 at most (Bun.serve's longest idle timeout). Not on Deno: Deno.serve has no such timeout, idle connections stay open until the client closes them (denoland/deno#32497).",
  },
  "timeout-graceful-shutdown": {
    type: "string",
    kind: "float",
    group: "Limits",
    min: 0,
    max: LONGEST_TIMER_SECONDS,
    description:
      "Seconds to wait for in-flight requests on shutdown before cutting them off. Default: wait (30 s cap).",
  },
  "ssl-keyfile": { type: "string", kind: "string", group: "TLS", description: "TLS key file." },
  "ssl-certfile": {
    type: "string",
    kind: "string",
    group: "TLS",
    description: "TLS certificate file.",
  },
  "ssl-keyfile-password": {
    type: "string",
    kind: "string",
    group: "TLS",
    description: "Password to decrypt the TLS key.",
  },
  "ssl-ca-certs": {
    type: "string",
    kind: "string",
    group: "TLS",
    description: "CA certificates file: the CAs that client certificates are verified against.",
  },
  "ssl-ciphers": {
    type: "string",
    kind: "string",
    group: "TLS",
    description:
      "OpenSSL cipher list for TLS 1.2 and older, as uvicorn's (Python's set_ciphers); TLS 1.3 suites stay the runtime's. Default: the runtime's list. Node.js and Bun (Deno.serve has no cipher option).",
  },
  "ssl-cert-reqs": {
    type: "enum",
    kind: "enum",
    group: "TLS",
    options: ["0", "1", "2"],
    default: "0",
    description:
      "Client certificates, as uvicorn's (Python's ssl.CERT_*): 0 not asked for; 1 asked for, verified if sent; 2 required and verified. 1 and 2 need --ssl-ca-certs. Node.js: all; Bun: 0 or 2; Deno: 0 (Deno.serve cannot ask for them, denoland/deno#26825).",
  },
  "app-dir": {
    type: "string",
    kind: "string",
    group: "App",
    default: ".",
    description: "Look for the app in this directory.",
  },
  factory: {
    type: "boolean",
    kind: "bool",
    group: "App",
    description: "Treat APP as a factory: call it with no arguments to get the app.",
  },
  interface: {
    type: "enum",
    kind: "enum",
    group: "App",
    options: ["auto", "fetch", "node"],
    default: "auto",
    description: "App interface: fetch (Request -> Response) or node ((req, res) on node:http).",
    uvicornValues: {
      asgi3: PYTHON_INTERFACE,
      asgi2: PYTHON_INTERFACE,
      wsgi: PYTHON_INTERFACE,
    },
  },
  lifespan: {
    type: "enum",
    kind: "enum",
    group: "App",
    options: ["auto", "on", "off"],
    default: "auto",
    description: "Run the app's startup()/shutdown() hooks: auto (if present), on (required), off.",
  },
  ws: {
    type: "enum",
    kind: "enum",
    group: "WebSocket",
    options: ["auto", "none", "bun"],
    default: "auto",
    description:
      "WebSocket support: auto (the app's websocket hooks, crossws), bun (its websocket object as Bun.serve's own handlers, for server.upgrade() in fetch; Bun only) or none.",
    uvicornValues: {
      websockets: PYTHON_WEBSOCKETS,
      "websockets-sansio": PYTHON_WEBSOCKETS,
      wsproto: PYTHON_WEBSOCKETS,
    },
  },
  "ws-max-size": {
    type: "string",
    kind: "int",
    group: "WebSocket",
    default: "16777216",
    min: 1,
    description: "Largest WebSocket message in bytes; larger ones close the socket with 1009.",
  },
  "ws-ping-interval": {
    type: "string",
    kind: "float",
    group: "WebSocket",
    default: "20",
    min: 0,
    max: LONGEST_TIMER_SECONDS,
    description: "Seconds between WebSocket pings.",
  },
  "ws-ping-timeout": {
    type: "string",
    kind: "float",
    group: "WebSocket",
    default: "20",
    min: 0,
    max: LONGEST_TIMER_SECONDS,
    description: "Seconds to wait for a pong before dropping the peer.",
  },
  "ws-per-message-deflate": {
    type: "boolean",
    kind: "bool",
    // uvicorn's is `--ws-per-message-deflate BOOLEAN`: a command written for it works as is.
    takesBooleanValue: true,
    group: "WebSocket",
    default: true,
    description:
      "Enable/disable WebSocket per-message-deflate compression where the runtime supports it. uvicorn's form, --ws-per-message-deflate false, works too.",
  },
  version: {
    type: "boolean",
    kind: "bool",
    group: "App",
    description: "Print the version and exit.",
  },
  help: {
    type: "boolean",
    kind: "bool",
    group: "App",
    alias: "h",
    description: "Show this message and exit.",
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type ValueOf<S extends OptionSpec> = S["kind"] extends "int" | "float"
  ? number
  : S["kind"] extends "bool"
    ? boolean
    : S["kind"] extends "list"
      ? string[]
      : S extends { options: readonly (infer U)[] }
        ? U
        : string;

type HasDefault<S> = S extends { default: unknown } ? true : S extends { kind: "list" } ? true : false;

/** Option values as the code sees them: camelCase keys, typed, optional where there is no default. */
export type OptionValues = {
  [K in OptionName as HasDefault<(typeof OPTIONS)[K]> extends true ? CamelCase<K> : never]: ValueOf<
    (typeof OPTIONS)[K]
  >;
} & {
  [K in OptionName as HasDefault<(typeof OPTIONS)[K]> extends true ? never : CamelCase<K>]?: ValueOf<
    (typeof OPTIONS)[K]
  >;
};

export function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `worker-class` -> `TSUV_WORKER_CLASS`. */
export function envVarName(name: string): string {
  return `TSUV_${name.replace(/-/g, "_").toUpperCase()}`;
}

/** An option's aliases as the command line writes them (`-h`; a longer alias `--name`). */
export function aliasFlags(spec: OptionSpec): string[] {
  const aliases = "alias" in spec && spec.alias ? ([] as string[]).concat(spec.alias) : [];
  return aliases.map((alias) => (alias.length === 1 ? `-${alias}` : `--${alias}`));
}
