/**
 * --env-file: a dotenv file loaded into the environment before the app is imported. Parsing is
 * node:util's parseEnv, which Node (20.12+), Bun and Deno all provide. Variables already set in
 * the environment win, as with `node --env-file` and uvicorn's python-dotenv default.
 */
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { ConfigError, errorMessage } from "./errors.ts";

export function loadEnvFile(path: string, env: Record<string, string | undefined>): number {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") throw new ConfigError(`--env-file: file not found: ${path}`);
    throw new ConfigError(`--env-file: cannot read ${path}: ${errorMessage(error)}`);
  }
  const parsed = parseEnv(text) as Record<string, string>;
  let loaded = 0;
  for (const [key, value] of Object.entries(parsed)) {
    if (env[key] === undefined) {
      env[key] = value;
      loaded++;
    }
  }
  return loaded;
}
