/**
 * Logging: uvicorn's text format (optionally colored) or JSON lines, error log on stderr and
 * access log on stdout. Pure: the writers are injected, nothing here touches a runtime global.
 *
 * Every line is formatted here and goes straight to its writer, after one level check made
 * before any string work. No logging library sits between: the formats are uvicorn's, so one
 * would only dispatch, and consola's dispatch calls clearTimeout on every line, which on Deno
 * 2.8+ loads Node's timers, 10-14 ms of start-up (runtime/web-timer.ts). The access log is
 * batched (line-batch.ts); every other line is written at once, after the batch.
 *
 * A writer that throws (closed pipe) never breaks a request: like Python's logging, the line is dropped.
 */
import type { Config } from "./config.ts";
import { statusPhrase } from "./http-status.ts";
import { type LineBatch, lineBatch } from "./line-batch.ts";

export type LogLevel = "critical" | "error" | "warning" | "info" | "debug" | "trace";

/**
 * `colorMessage`, when given, replaces `message` in colored text output: uvicorn's `color_message`,
 * e.g. `Started server process [${ansi.cyan(pid)}]` or `Uvicorn running on ${ansi.bold(url)}`.
 */
export interface Logger {
  critical(message: string, colorMessage?: string): void;
  error(message: string, colorMessage?: string): void;
  warning(message: string, colorMessage?: string): void;
  info(message: string, colorMessage?: string): void;
  debug(message: string, colorMessage?: string): void;
  trace(message: string, colorMessage?: string): void;
  /** An error with its stack (stack shown at every level: uvicorn logs app exceptions with traceback). */
  exception(message: string, error: unknown): void;
  /** Access log: `INFO:     127.0.0.1:38144 - "GET /a?x=1 HTTP/1.1" 200 OK` on stdout. */
  access(client: string, method: string, target: string, httpVersion: string, status: number): void;
  readonly accessEnabled: boolean;
  enabled(level: LogLevel): boolean;
  /** Same logger with a tag (e.g. worker id) for JSON output. */
  child(fields: Record<string, string | number>): Logger;
  /** Write the access lines still batched (line-batch.ts); other lines are never held. */
  flush(): void;
}

export interface LoggerOptions {
  level: LogLevel;
  format: "text" | "json";
  useColors: boolean;
  accessLog: boolean;
  /**
   * Receives one record without its trailing newline (the writer adds it). An exception's record
   * spans several lines (message, then the stack) and comes in one call, so it is never interleaved.
   */
  stdout: (line: string) => void;
  /** Same, for the error log. */
  stderr: (line: string) => void;
  /** Added to every JSON line as "pid" when given. */
  pid?: number;
  /** Runs the access-log flush after this event-loop turn (line-batch.ts); setTimeout(0) if not given. */
  schedule?: (flush: () => void) => void;
}

/** Python logging's numeric levels (TRACE is uvicorn's 5). */
const RANK: Record<LogLevel, number> = {
  trace: 5,
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  critical: 50,
};

/** uvicorn's level-name colors (click.style fg codes). */
const LEVEL_COLOR: Record<LogLevel, number> = {
  trace: 34,
  debug: 36,
  info: 32,
  warning: 33,
  error: 31,
  critical: 91,
};

const style = (code: number, text: string): string => `\x1b[${code}m${text}\x1b[0m`;

/** click.style equivalents for building a `colorMessage`. */
export const ansi = {
  bold: (text: string | number): string => style(1, String(text)),
  cyan: (text: string | number): string => style(36, String(text)),
  green: (text: string | number): string => style(32, String(text)),
  yellow: (text: string | number): string => style(33, String(text)),
  red: (text: string | number): string => style(31, String(text)),
};

/** `INFO:     `: name + ':' padded to 9 columns, then uvicorn's format separator space. */
function levelPrefix(level: LogLevel, colors: boolean): string {
  const name = level.toUpperCase();
  const pad = " ".repeat(Math.max(0, 8 - name.length) + 1);
  return `${colors ? style(LEVEL_COLOR[level], name) : name}:${pad}`;
}

const LEVELS: LogLevel[] = ["trace", "debug", "info", "warning", "error", "critical"];
const PREFIXES: Record<"plain" | "color", Record<LogLevel, string>> = {
  plain: Object.fromEntries(LEVELS.map((l) => [l, levelPrefix(l, false)])) as Record<LogLevel, string>,
  color: Object.fromEntries(LEVELS.map((l) => [l, levelPrefix(l, true)])) as Record<LogLevel, string>,
};

/** uvicorn's status-class colors: 1xx bright white, 2xx green, 3xx yellow, 4xx red, 5xx bright red. */
const STATUS_CLASS_COLOR: Record<number, number> = { 1: 97, 2: 32, 3: 33, 4: 31, 5: 91 };

/** `200 OK`, colored by class when asked; an unknown code keeps uvicorn's trailing space (`599 `). */
function statusText(status: number, colors: boolean): string {
  const text = `${status} ${statusPhrase(status)}`;
  const color = colors ? STATUS_CLASS_COLOR[Math.floor(status / 100)] : undefined;
  return color === undefined ? text : style(color, text);
}

/** Status strings are the same few every time: build each once per logger. */
function statusCache(colors: boolean): (status: number) => string {
  const cache = new Map<number, string>();
  return (status) => {
    let text = cache.get(status);
    if (text === undefined) {
      text = statusText(status, colors);
      if (cache.size < 1000) cache.set(status, text);
    }
    return text;
  };
}

/** An error as uvicorn would print a traceback: the stack, then any causes. */
/**
 * The client as uvicorn's access log names it: `host:port`, or nothing for a peer without an
 * address (a unix socket; uvicorn's client is None there and its line starts with ` - `).
 */
export function clientLabel(hostname: string, port: number): string {
  return hostname === "" ? "" : `${hostname}:${port}`;
}

export function formatError(error: unknown, depth = 0): string {
  let text: string;
  if (error instanceof Error) {
    text = typeof error.stack === "string" && error.stack ? error.stack : `${error.name}: ${error.message}`;
    if (error.cause !== undefined && depth < 4) text += `\nCaused by: ${formatError(error.cause, depth + 1)}`;
  } else {
    try {
      text = String(error);
    } catch {
      text = Object.prototype.toString.call(error);
    }
  }
  return text;
}

/** Keys a child's fields may not shadow in a JSON line. */
const RESERVED = new Set([
  "time",
  "level",
  "message",
  "pid",
  "exception",
  "client",
  "method",
  "path",
  "http_version",
  "status",
]);

/** `,"pid":1,"worker":2`: the constant tail of every JSON line, serialized once per logger. */
function jsonFields(fields: Record<string, string | number>): string {
  let out = "";
  for (const [key, value] of Object.entries(fields)) {
    if (RESERVED.has(key) && key !== "pid") continue;
    out += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return out;
}

interface Formatter {
  line(level: LogLevel, message: string, error?: unknown): string;
  access(client: string, method: string, target: string, httpVersion: string, status: number): string;
}

function textFormatter(colors: boolean): Formatter {
  const prefixes = colors ? PREFIXES.color : PREFIXES.plain;
  const info = prefixes.info;
  const status = statusCache(colors);
  return {
    line: (level, message, error) =>
      error === undefined
        ? `${prefixes[level]}${message}`
        : `${prefixes[level]}${message}\n${formatError(error)}`,
    access: colors
      ? (client, method, target, httpVersion, code) =>
          `${info}${client} - "\x1b[1m${method} ${quoteTarget(target)} HTTP/${httpVersion}\x1b[0m" ${status(code)}`
      : (client, method, target, httpVersion, code) =>
          `${info}${client} - "${method} ${quoteTarget(target)} HTTP/${httpVersion}" ${status(code)}`,
  };
}

/** What may not stand raw in the quoted request of an access line: controls, space, `"`, non-ASCII. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_IN_TARGET = /[\u0000-\u0020"\u007f-\uffff]/;

/**
 * The request target as the text access line shows it (JSON escapes it its own way): percent-encoded where it is not plain ASCII, as
 * uvicorn quotes the path. Deno hands over the path as the client sent it (a `"` or raw UTF-8
 * included), which would let a client end the quoted field and write the rest of the line.
 */
export function quoteTarget(target: string): string {
  if (!UNSAFE_IN_TARGET.test(target)) return target;
  let out = "";
  for (const char of target) {
    const code = char.codePointAt(0) as number;
    if (code > 0x20 && code !== 0x22 && code < 0x7f) out += char;
    else if (code >= 0xd800 && code <= 0xdfff)
      out += "%EF%BF%BD"; // a lone surrogate: U+FFFD
    else out += encodeURIComponent(char);
  }
  return out;
}

/** Characters JSON.stringify would escape (lone surrogates included; a valid pair just takes the slow path). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string's JSON form without the quotes; skips JSON.stringify (~35-60 ns) for clean input (~5-20 ns). */
function escapeJson(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/** One ISO timestamp per millisecond: toISOString costs 170-500 ns, and access lines come in bursts. */
let isoMs = -1;
let isoText = "";
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

function jsonFormatter(fields: string): Formatter {
  const status = statusCache(false);
  return {
    line: (level, message, error) =>
      `{"time":"${isoNow()}","level":"${level}","message":"${escapeJson(message)}"${fields}${
        error === undefined ? "" : `,"exception":"${escapeJson(formatError(error))}"`
      }}`,
    access: (client, method, target, httpVersion, code) => {
      const c = escapeJson(client);
      const m = escapeJson(method);
      const t = escapeJson(target);
      const v = escapeJson(httpVersion);
      // The message holds the request line in quotes, escaped here as JSON needs.
      return `{"time":"${isoNow()}","level":"info","message":"${c} - \\"${m} ${t} HTTP/${v}\\" ${status(code)}"${fields},"client":"${c}","method":"${m}","path":"${t}","http_version":"${v}","status":${code}}`;
    },
  };
}

function build(
  options: LoggerOptions,
  fields: Record<string, string | number>,
  accessBatch: LineBatch,
): Logger {
  const threshold = RANK[options.level] ?? RANK.info;
  const allFields = options.pid === undefined ? fields : { pid: options.pid, ...fields };
  const format =
    options.format === "json" ? jsonFormatter(jsonFields(allFields)) : textFormatter(options.useColors);
  const { stderr } = options;

  /** A server, lifecycle or exception record, on stderr. */
  const write = (level: LogLevel, message: string, error?: unknown): void => {
    const line = format.line(level, message, error);
    // The access lines before this one go first, as they would unbatched (e.g. `2>&1`).
    accessBatch.flush();
    try {
      stderr(line);
    } catch {}
  };

  const colorMessages = options.format === "text" && options.useColors;
  const emit = (level: LogLevel) => {
    const rank = RANK[level];
    return (message: string, colorMessage?: string): void => {
      if (rank < threshold) return;
      write(level, colorMessages && colorMessage !== undefined ? colorMessage : message);
    };
  };

  const accessEnabled = options.accessLog && RANK.info >= threshold;
  const formatAccess = format.access;

  return {
    critical: emit("critical"),
    error: emit("error"),
    warning: emit("warning"),
    info: emit("info"),
    debug: emit("debug"),
    trace: emit("trace"),
    exception(message: string, error: unknown): void {
      if (RANK.error < threshold) return;
      // A thrown `undefined` still gets its "traceback" line, as uvicorn prints one.
      write("error", message, error === undefined ? "undefined" : error);
    },
    access: accessEnabled
      ? (client, method, target, httpVersion, status) =>
          accessBatch.push(formatAccess(client, method, target, httpVersion, status))
      : () => {},
    accessEnabled,
    enabled: (level: LogLevel) => RANK[level] >= threshold,
    child: (more) => build(options, { ...fields, ...more }, accessBatch),
    flush: accessBatch.flush,
  };
}

export function createLogger(options: LoggerOptions): Logger {
  // One batch for the logger and its children: they share stdout, and so its order.
  return build(options, {}, lineBatch(options.stdout, options.schedule));
}

export interface LoggerIO {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Whether the output is a terminal (colors default on). */
  isTTY: boolean;
  /** $NO_COLOR is set to a non-empty value (colors default off). */
  noColor: boolean;
  pid?: number;
  /** LoggerOptions.schedule (on Deno a web timer: runtime/web-timer.ts). */
  schedule?: (flush: () => void) => void;
  /** Where the writers drop lines they could not write (Node.js: a stalled reader, a full disk): the logger says how many. */
  onDroppedLines?: (handler: DroppedLinesHandler) => void;
}

/**
 * Told, once a stream takes lines again, how many were dropped and why: `reason` ends the sentence
 * "Dropped N log line(s): stdout ..." (runtime/node-output.ts).
 */
export type DroppedLinesHandler = (stream: "stdout" | "stderr", count: number, reason: string) => void;

/** `--use-colors` / `--no-use-colors` win; otherwise colors on a TTY unless NO_COLOR. */
export function loggerFromConfig(
  config: Pick<Config, "logLevel" | "logFormat" | "accessLog" | "useColors">,
  io: LoggerIO,
): Logger {
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    useColors: config.useColors ?? (io.isTTY && !io.noColor),
    accessLog: config.accessLog,
    stdout: io.stdout,
    stderr: io.stderr,
    pid: io.pid,
    schedule: io.schedule,
  });
  io.onDroppedLines?.((stream, count, reason) =>
    logger.warning(`Dropped ${count} log line(s): ${stream} ${reason}.`),
  );
  return logger;
}
