/**
 * Writes docs/settings.md from the option table (src/options.ts), so the docs cannot drift from
 * the CLI. `--check` fails (exit 1) instead of writing when the file is out of date: CI runs that.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { optionSynopsis } from "../src/help.ts";
import { envVarName, OPTIONS, type OptionSpec } from "../src/options.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const TARGET = join(ROOT, "docs", "settings.md");

/** The option as written on the command line (shared with --help), as code in a table cell. */
function flag(name: string, spec: OptionSpec): string {
  const synopsis = `\`${optionSynopsis(name, spec).replaceAll("|", "\\|")}\``;
  return spec.kind === "list" ? `${synopsis} (repeatable)` : synopsis;
}

function defaultOf(spec: OptionSpec): string {
  if (spec.envFallback) return `$${spec.envFallback}, else built-in`;
  if (spec.default === undefined) return spec.kind === "list" ? "none" : "unset";
  return `\`${String(spec.default)}\``;
}

export function renderSettings(): string {
  const lines = [
    "# Settings",
    "",
    "Generated from `src/options.ts` by `npm run docs`; CI checks it is current. Every option can also",
    "be set from the environment as `TSUV_<NAME>` (upper case, dashes as underscores); the command line",
    "wins, and an empty value counts as unset (as uvicorn's `UVICORN_*`: `TSUV_HOST=` does not bind every",
    "interface). Booleans from the environment accept `1/true/t/yes/y/on` and `0/false/f/no/n/off` in any case, as click does. Repeatable options",
    "from the environment are split on commas (`TSUV_HEADER`: one header per line). A `TSUV_*` variable",
    "that names no setting (`TSUV_WORKER=4`) is ignored with a warning at start-up naming the closest one",
    "(`Did you mean TSUV_WORKERS?`); `TSUV_CACHE_DIR` (Node's TypeScript and compile caches) is the one that is not an option.",
    "",
    "Exit codes: `0` normal shutdown, `1` bad configuration or refused prerequisite, `2` command-line",
    "usage error, `3` the app failed to load or start.",
    "",
    "Node.js note: Node (20 through 26) reads a script argument `--env-file PATH` as its own option and",
    "exits 9 with `node: PATH: not found` before tsuv runs when the file is missing (nodejs/node#54232;",
    "`--env-file=PATH` is read the same way). Set `TSUV_ENV_FILE=PATH` instead to get tsuv's own message",
    "and exit code 1. Bun and Deno do not have this problem. tsuv starts its own Node process workers",
    "with `--` before its script, which ends Node's reading there: a file removed while serving is",
    "warned about at the next SIGHUP (the values read before are kept), as on Bun and Deno, where new",
    "workers used to exit 9 (the restart aborted, a dead worker never replaced).",
    "",
    "Bun note: Bun itself loads `.env`, `.env.$NODE_ENV` and `.env.local` from the working directory",
    "before tsuv starts, and variables already set win over `--env-file`'s, so a `./.env` beats",
    "`--env-file prod.env`. Run `bun --no-env-file src/cli.ts ...` (or set `env = false` in bunfig.toml)",
    "to have only the file you name read, as on Node, Deno and uvicorn. The compiled binary loads no",
    "`.env` of its own.",
    "",
    "`--env-file` is read again before each `--reload` restart (add `--reload-include .env` to restart",
    "when it changes) and, with workers, before each SIGHUP restart: a value changed or removed in the",
    "file is changed or removed for the new workers, and the real environment still wins. The",
    "supervisor's own settings (`--workers`, the timeouts) are read once, at start-up. Thread workers",
    "on Deno share one environment, so the old ones see the new values for the seconds they keep",
    "serving during the restart.",
    "",
  ];
  const groups = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const rows = groups.get(spec.group) ?? [];
    const env =
      spec.type === "positional" || name === "help" || name === "version" ? "" : `\`${envVarName(name)}\``;
    rows.push(`| ${flag(name, spec)} | ${env} | ${defaultOf(spec)} | ${spec.description ?? ""} |`);
    groups.set(spec.group, rows);
  }
  for (const [group, rows] of groups) {
    lines.push(
      `## ${group}`,
      "",
      "| Option | Environment | Default | Description |",
      "|---|---|---|---|",
      ...rows,
      "",
    );
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

if (import.meta.main) {
  const text = renderSettings();
  if (process.argv.includes("--check")) {
    const current = (() => {
      try {
        return readFileSync(TARGET, "utf8");
      } catch {
        return "";
      }
    })();
    if (current !== text) {
      console.error("docs/settings.md is out of date: run `npm run docs`.");
      process.exit(1);
    }
    console.log("docs/settings.md is up to date.");
  } else {
    writeFileSync(TARGET, text);
    console.log(`wrote ${TARGET}`);
  }
}
