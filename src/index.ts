/**
 * The library API, as `uvicorn.run`: serve an app from code.
 *
 *   import { run } from "tsuv";
 *   await run("main:app", { workers: 2, workerClass: "thread" });
 */
import { type Config, resolveConfig } from "./config.ts";
import { loadEnvFile } from "./env-file.ts";
import { TsuvError } from "./errors.ts";
import { loggerFromConfig } from "./logging.ts";
import { OPTIONS, type OptionValues } from "./options.ts";
import { run as runConfig } from "./run.ts";
import { loadAdapter, processIO } from "./runtime/index.ts";

export type { Config } from "./config.ts";
export { EXIT, TsuvError } from "./errors.ts";
export type { OptionValues } from "./options.ts";
export { VERSION } from "./version.ts";

/** Turn options given in code into the argv form every worker re-resolves its Config from. */
export function optionsToArgv(app: string, options: Partial<OptionValues> = {}): string[] {
  const argv = [app];
  for (const [key, value] of Object.entries(options)) {
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (!(name in OPTIONS) || value === undefined) throw new TsuvError(`Unknown option: ${key}`, 2);
    if (typeof value === "boolean") argv.push(value ? `--${name}` : `--no-${name}`);
    else if (Array.isArray(value)) for (const item of value) argv.push(`--${name}`, String(item));
    else argv.push(`--${name}`, String(value));
  }
  return argv;
}

/** Serve `app` ("path:attr") until shut down; resolves with the exit code. */
export async function run(app: string, options: Partial<OptionValues> = {}): Promise<number> {
  const adapter = await loadAdapter();
  const io = processIO();
  const config: Config = resolveConfig(optionsToArgv(app, options), adapter.env, {
    runtime: adapter.info,
    exists: io.exists,
  });
  const logger = loggerFromConfig(config, io);
  if (config.envFile) loadEnvFile(config.envFile, adapter.env, (message) => logger.warning(message));
  return runConfig(config, adapter, logger);
}
