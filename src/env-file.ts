/**
 * --env-file: a dotenv file loaded into the environment before the app is imported. Parsing is
 * node:util's parseEnv, which Node (20.12+), Bun and Deno all provide. Variables already set in
 * the environment win, as with `node --env-file` and uvicorn's python-dotenv default.
 */
import { readFileSync } from "node:fs";
import { ConfigError, errorMessage } from "./errors.ts";
import { lazyBuiltin } from "./runtime/builtin.ts";

/** node:util on first use: in the Node bundle a static import is paid by every start, with or without --env-file. */
const util = lazyBuiltin<typeof import("node:util")>("node:util");

export function loadEnvFile(path: string, env: Record<string, string | undefined>): number {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") throw new ConfigError(`--env-file: file not found: ${path}`);
    throw new ConfigError(`--env-file: cannot read ${path}: ${errorMessage(error)}`);
  }
  const parsed = util().parseEnv(text) as Record<string, string>;
  let loaded = 0;
  for (const [key, value] of Object.entries(parsed)) {
    if (env[key] === undefined) {
      env[key] = value;
      loaded++;
    }
  }
  return loaded;
}
