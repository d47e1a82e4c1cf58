/**
 * Reading the options: argv and the TSUV_* environment -> raw typed values, as the option table
 * (src/options.ts) describes them; the command line wins over the environment over the default.
 * Validating combinations and the runtime's prerequisites is src/config.ts's job.
 */
import { UsageError } from "./errors.ts";
import { unknownOptionMessage } from "./option-hints.ts";
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
import { isServiceLink } from "./service-links.ts";

const NAMES = Object.keys(OPTIONS) as OptionName[];
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

/** The words a boolean value may be, in any case: click's (uvicorn's UVICORN_* variables take them). */
const TRUE_WORDS = ["1", "true", "t", "yes", "y", "on"];
const FALSE_WORDS = ["0", "false", "f", "no", "n", "off"];

/** What parseValue reads as a boolean, for a `takesBooleanValue` flag's next word. */
const BOOLEAN_WORD = new RegExp(`^(?:${[...TRUE_WORDS, ...FALSE_WORDS].join("|")})$`, "i");

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

/** A decimal number: `5`, `-0.5`, `.5`, `5.`, `1e3`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

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
      // Decimal only, as Python's float() reads it (click's FLOAT): Number() would also take
      // `0x10`, `0b1` and `0o7`.
      const value = DECIMAL.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(value)) throw bad("a valid number");
      const refused = outOfRange(value);
      if (refused) throw refused;
      return value;
    }
    case "bool": {
      const lowered = raw.trim().toLowerCase();
      if (TRUE_WORDS.includes(lowered)) return true;
      if (FALSE_WORDS.includes(lowered) || lowered === "") return false;
      throw bad("a boolean (true/false)");
    }
    case "enum": {
      const choices = ("options" in spec ? spec.options : []) as string[];
      if (choices.includes(raw)) return raw;
      // Every choice is lower case: `--log-level DEBUG` (Python's and gunicorn's spelling) means debug.
      const lowered = raw.toLowerCase();
      if (choices.includes(lowered)) return lowered;
      const uvicorns = spec.uvicornValues;
      if (uvicorns !== undefined && Object.hasOwn(uvicorns, lowered)) {
        throw new UsageError(`Invalid value for '${source}': '${raw}' ${uvicorns[lowered]}.`);
      }
      throw bad(`one of ${choices.map((c) => `'${c}'`).join(", ")}`);
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
  // A Service named tsuv gives every pod TSUV_PORT=tcp://IP:PORT: not a port (service-links.ts).
  return value === "" || (value !== undefined && isServiceLink(name, value)) ? undefined : value;
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

/** Where an option's value came from: as parseOptions decides, for checks made after it. */
export type Origin = "flag" | "env" | "envFallback" | "default";

export function originOf(name: OptionName, argv: string[], env: Record<string, string | undefined>): Origin {
  const flag = `--${name}`;
  const end = argv.indexOf("--");
  const given = end === -1 ? argv : argv.slice(0, end);
  if (given.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) return "flag";
  if (envValue(env, envVarName(name)) !== undefined) return "env";
  const fallback = (SPEC[name] as OptionSpec).envFallback;
  return fallback && envValue(env, fallback) !== undefined ? "envFallback" : "default";
}

/**
 * Where an option's value came from, as its error names it: the flag, its TSUV_* variable, or the
 * plain variable it falls back to (FORWARDED_ALLOW_IPS).
 */
export function sourceOf(name: OptionName, argv: string[], env: Record<string, string | undefined>): string {
  const origin = originOf(name, argv, env);
  if (origin === "env") return envVarName(name);
  const fallback = (SPEC[name] as OptionSpec).envFallback;
  return origin === "flag" || !fallback ? `--${name}` : fallback;
}
