/**
 * --env-file: a dotenv file loaded into the environment before the app is imported, read the way
 * uvicorn reads it (python-dotenv 1.2.4's `load_dotenv(path)`), so an .env file moved over from a
 * uvicorn deployment means the same thing here:
 * - `KEY=value`, `export KEY=value`, `'KEY'=value`; `#` comment lines; an unquoted value ends at
 *   ` #` (a comment) and loses trailing blanks; `KEY= # comment` is empty, `KEY=#x` is `#x`.
 * - Single-quoted values keep everything but `\\` and `\'`; double-quoted values decode `\n`, `\t`,
 *   `\"`, `\\` and the other C escapes; in both a backslash keeps the character after it from ending
 *   the value; both may span lines.
 * - Line ends are read as Python's open() reads a text file: `\r\n` and `\r` are `\n`, inside
 *   quoted values too (a PEM key in a file saved with Windows line ends is the same key).
 * - Blanks are Python's (`\s` of a str pattern: U+001C-U+001F and U+0085 too, U+FEFF not).
 * - `${NAME}` and `${NAME:-default}` expand in every value, from the environment first, then the
 *   file's own earlier variables (a bare `NAME` line counts as set, to nothing), then the default
 *   (python-dotenv's resolve_variables with override off).
 * - Variables already set in the environment win; a line that does not parse is skipped with a
 *   warning naming its line (python-dotenv: "could not parse statement starting at line N", though
 *   its N is the first of the blank lines before the statement, if any).
 * - On purpose unlike python-dotenv: a byte order mark at the file's start (Windows editors write
 *   one) is skipped, where python-dotenv makes it part of the first name (`\uFEFFA`, so `A` is not set).
 * node:util's parseEnv, used before, does none of the expansion and skips bad lines silently.
 */
import { readFileSync } from "node:fs";
import { ConfigError, errorMessage } from "./errors.ts";
import type { Logger } from "./logging.ts";
import { resolvePath } from "./runtime/index.ts";

/** One `KEY=value` statement: value null for a bare `KEY` (python-dotenv sets nothing for it). */
interface Binding {
  key: string;
  value: string | null;
}

export interface ParsedEnvFile {
  bindings: Binding[];
  /** 1-based lines where a statement that could not be parsed starts. */
  errors: number[];
}

/** Python's whitespace (str.isspace, what `\s` matches in a str pattern), for a character class. */
const S = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/** Python's whitespace but line ends: python-dotenv's `[^\S\r\n]`. */
const BLANK = `[${S.replace("\\t-\\r", "\\t\\x0b\\x0c")}]`;
const sticky = (source: string) => new RegExp(source, "y");

// python-dotenv's parser.py, one sticky regex per token.
const MULTILINE_WHITESPACE = sticky(`[${S}]*`);
const WHITESPACE = sticky(`${BLANK}*`);
const EXPORT = sticky(`(?:export${BLANK}+)?`);
const SINGLE_QUOTED_KEY = /'([^']+)'/y;
const UNQUOTED_KEY = sticky(`([^=#${S}]+)`);
const EQUAL_SIGN = sticky(`(=${BLANK}*)`);
const SINGLE_QUOTED_VALUE = /'((?:\\.|[^'\\])*)'/sy;
const DOUBLE_QUOTED_VALUE = /"((?:\\.|[^"\\])*)"/sy;
const UNQUOTED_VALUE = /([^\r\n]*)/y;
const COMMENT = sticky(`(?:${BLANK}*#[^\\r\\n]*)?`);
const END_OF_LINE = sticky(`${BLANK}*(?:\\r\\n|\\n|\\r|$)`);
const REST_OF_LINE = /[^\r\n]*(?:\r|\n|\r\n)?/y;
const INLINE_COMMENT = new RegExp(`[${S}]+#.*`, "s");
const TRAILING_BLANKS = new RegExp(`[${S}]+$`);
const DOUBLE_QUOTE_ESCAPES = /\\[\\'"abfnrtv]/g;
const SINGLE_QUOTE_ESCAPES = /\\[\\']/g;
const POSIX_VARIABLE = /\$\{([^}:]*)(?::-([^}]*))?\}/g;

const C_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

class ParseError extends Error {}

class Reader {
  position = 0;
  constructor(readonly text: string) {}

  done(): boolean {
    return this.position >= this.text.length;
  }

  peek(count: number): string {
    return this.text.slice(this.position, this.position + count);
  }

  /** Match `regex` here (it must be sticky) or throw; returns its groups. */
  read(regex: RegExp): RegExpExecArray {
    regex.lastIndex = this.position;
    const match = regex.exec(this.text);
    if (match === null) throw new ParseError();
    this.position = regex.lastIndex;
    return match;
  }

  /** The 1-based line `position` is on. */
  line(position: number): number {
    let line = 1;
    for (let i = 0; i < position; i++) {
      if (this.text[i] === "\n") line++;
    }
    return line;
  }
}

function readKey(reader: Reader): string {
  return (reader.peek(1) === "'" ? reader.read(SINGLE_QUOTED_KEY) : reader.read(UNQUOTED_KEY))[1] as string;
}

function readValue(reader: Reader): string {
  const first = reader.peek(1);
  if (first === "'") {
    return (reader.read(SINGLE_QUOTED_VALUE)[1] as string).replace(
      SINGLE_QUOTE_ESCAPES,
      (sequence) => sequence[1] as string,
    );
  }
  if (first === '"') {
    return (reader.read(DOUBLE_QUOTED_VALUE)[1] as string).replace(
      DOUBLE_QUOTE_ESCAPES,
      (sequence) => C_ESCAPES[sequence[1] as string] as string,
    );
  }
  if (first === "" || first === "\n" || first === "\r") return "";
  // An unquoted value ends at a comment, and loses trailing blanks.
  return (reader.read(UNQUOTED_VALUE)[1] as string).replace(INLINE_COMMENT, "").replace(TRAILING_BLANKS, "");
}

/** The statements of a dotenv file, in order, and the lines that did not parse. */
export function parseEnvFile(file: string): ParsedEnvFile {
  const text = (file.startsWith("\uFEFF") ? file.slice(1) : file).replace(/\r\n?/g, "\n");
  const reader = new Reader(text);
  const bindings: Binding[] = [];
  const errors: number[] = [];
  while (!reader.done()) {
    reader.read(MULTILINE_WHITESPACE);
    if (reader.done()) break;
    const start = reader.position;
    try {
      if (reader.peek(1) === "#") {
        reader.read(REST_OF_LINE);
        continue;
      }
      reader.read(EXPORT);
      const key = readKey(reader);
      reader.read(WHITESPACE);
      let value: string | null = null;
      if (reader.peek(1) === "=") {
        const equalSign = reader.read(EQUAL_SIGN)[1] as string;
        // `KEY= # comment` is empty; `KEY=#x` is `#x`.
        value = equalSign.length > 1 && reader.peek(1) === "#" ? "" : readValue(reader);
      }
      reader.read(COMMENT);
      reader.read(END_OF_LINE);
      bindings.push({ key, value });
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      // The rest of the line from where the statement failed, not from its start, as python-dotenv
      // skips: a quote never closed before the next one of its kind took the lines between as its
      // value, and a statement that fails after it loses them all (each is read as a statement of
      // its own if skipping starts back at the first line).
      reader.read(REST_OF_LINE);
      errors.push(reader.line(start));
    }
  }
  return { bindings, errors };
}

/**
 * The values to set, `${...}` expanded: the environment first, then what the file set before,
 * then the default (python-dotenv's resolve_variables with override off).
 */
export function resolveEnvFile(
  bindings: readonly Binding[],
  env: Record<string, string | undefined>,
): Map<string, string | null> {
  const resolved = new Map<string, string | null>();
  for (const { key, value } of bindings) {
    if (value === null) {
      resolved.set(key, null);
      continue;
    }
    resolved.set(
      key,
      value.replace(
        POSIX_VARIABLE,
        (_match, name: string, fallback: string | undefined) =>
          env[name] ?? (resolved.has(name) ? (resolved.get(name) ?? "") : (fallback ?? "")),
      ),
    );
  }
  return resolved;
}

function readEnvFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") throw new ConfigError(`--env-file: file not found: ${path}`);
    throw new ConfigError(`--env-file: cannot read ${path}: ${errorMessage(error)}`);
  }
}

/**
 * The variables this process took from an env file, so that --reload can tell them from the real
 * environment when it reads the file again (reloadEnvFile).
 */
const setFromFile = new Set<string>();

/**
 * The names the process was started with, when the runtime's environment holds more (Bun loads
 * ./.env and its siblings itself, with its own rules: `$word` in `"pa$word"` expanded, `\\` kept),
 * or null. A variable outside it is not the real environment's, so the file's value replaces it.
 */
export type StartedWith = ReadonlySet<string> | null | undefined;

function applyEnvFile(
  text: string,
  path: string,
  env: Record<string, string | undefined>,
  warn: (message: string) => void,
  startedWith: StartedWith,
): number {
  const { bindings, errors } = parseEnvFile(text);
  for (const line of errors)
    warn(`--env-file: could not parse statement starting at line ${line} of ${path}`);
  let loaded = 0;
  // `${NAME}` expands from the real environment, not from what Bun loaded from its own .env files.
  const real = startedWith
    ? Object.fromEntries(Object.entries(env).filter(([key]) => startedWith.has(key)))
    : env;
  for (const [key, value] of resolveEnvFile(bindings, real)) {
    if (value === null) continue;
    if (env[key] === undefined || (startedWith && !startedWith.has(key) && env[key] !== value)) {
      env[key] = value;
      setFromFile.add(key);
      loaded++;
    } else if (env[key] === value) {
      // Already the file's value: Bun loads ./.env itself before any script runs, so on Bun the
      // variables of the usual `--env-file .env` are all set by then and only look like the real
      // environment. Counted as the file's, so that a reload can change or remove them.
      setFromFile.add(key);
    }
  }
  return loaded;
}

/** Load `path` into `env` (variables already set win); returns how many it set. */
export function loadEnvFile(
  path: string,
  env: Record<string, string | undefined>,
  warn: (message: string) => void = () => {},
  startedWith?: StartedWith,
): number {
  return applyEnvFile(readEnvFile(path), path, env, warn, startedWith);
}

/**
 * --reload: read the env file again before a new child starts, so that an edited .env applies to the
 * new code. The variables the file set last time are taken out first (a value changed or removed in
 * the file is changed or removed), while the real environment still wins as at the first load. A file
 * that cannot be read throws (ConfigError) and leaves `env` as it was.
 */
export function reloadEnvFile(
  path: string,
  env: Record<string, string | undefined>,
  warn: (message: string) => void = () => {},
  startedWith?: StartedWith,
): number {
  const text = readEnvFile(path);
  for (const key of setFromFile) delete env[key];
  setFromFile.clear();
  return applyEnvFile(text, path, env, warn, startedWith);
}

/**
 * Read --env-file again before new workers start (a --reload restart, a SIGHUP's rolling restart),
 * so an edited file applies to them; one that cannot be read keeps the values read before. A
 * relative path is found from the start directory as named (start-directory.ts: $PWD through a
 * deploy's `current` symlink), as the new workers' code is, not from the release it named at start.
 */
export function rereadEnvFile(
  path: string,
  env: Record<string, string | undefined>,
  logger: Pick<Logger, "debug" | "warning">,
  startedWith?: StartedWith,
): void {
  try {
    const loaded = reloadEnvFile(resolvePath(path), env, (message) => logger.warning(message), startedWith);
    logger.debug(`Loaded ${loaded} variable(s) from ${path}.`);
  } catch (error) {
    logger.warning(`${errorMessage(error)}; keeping the values read before.`);
  }
}
