/**
 * From the user's arguments to a running server, the same for the command line (cli.ts) and the
 * library's `run()` (index.ts), as uvicorn's CLI and uvicorn.run share their Config: the options
 * resolved, the --env-file loaded and the options resolved again with it, the warnings said, then
 * run.ts picks how to serve. Throws what the options get wrong (TsuvError, with its exit code);
 * resolves with the exit code of the serving.
 */
import type { GivenApp } from "./app.ts";
import { resolveConfig } from "./config.ts";
import { UsageError } from "./errors.ts";
import { loggerFromConfig } from "./logging.ts";
import { run, type Supervisors } from "./run.ts";
import type { RuntimeAdapter } from "./runtime/adapter.ts";
import type { ProcessIO } from "./runtime/index.ts";
import { VERSION } from "./version.ts";

export async function startServing(
  argv: string[],
  adapter: RuntimeAdapter,
  io: ProcessIO,
  supervisors: Supervisors,
  /** The app itself, given to the library's run() instead of a path (uvicorn.run(app)). */
  given?: GivenApp,
): Promise<number> {
  const warnings: string[] = [];
  const deps = {
    runtime: adapter.info,
    exists: io.exists,
    warn: (message: string) => warnings.push(message),
    appGiven: given !== undefined,
  };
  let config = resolveConfig(argv, adapter.env, deps);
  const { envFile } = config;
  let loaded = 0;
  if (envFile) {
    // Imported only when asked for: it loads node:fs (~20 ms of Deno 2.9.6 start-up).
    const { loadEnvFile } = await import("./env-file.ts");
    const fileWarnings: string[] = [];
    loaded = loadEnvFile(
      envFile,
      adapter.env,
      (message) => fileWarnings.push(message),
      adapter.startedWithEnv?.(),
    );
    // Then the options again, so that the file's TSUV_* variables, PORT, WEB_CONCURRENCY and
    // FORWARDED_ALLOW_IPS count as the environment's do (variables already set still win).
    // Workers read their options from the environment they inherit, file included: a single
    // server ignored what its own workers took (uvicorn reads those two after the file too).
    if (loaded > 0) {
      warnings.length = 0;
      config = resolveConfig(argv, adapter.env, deps);
    }
    warnings.unshift(...fileWarnings);
  }
  if (!given && !config.app) throw new UsageError("Missing argument 'APP'. Try 'tsuv --help' for help.");
  if (!given) disableAutostart(adapter.env);
  const logger = loggerFromConfig(config, io);
  for (const warning of warnings) logger.warning(warning);
  if (envFile) logger.debug(`Loaded ${loaded} variable(s) from ${envFile}.`);
  const { displayName, version, os, arch } = adapter.info;
  logger.info(`Runtime: ${displayName} ${version} (${os}/${arch}), tsuv ${VERSION}`);
  const unreadConfig = config.app ? adapter.unreadAppConfigWarning?.(config.appDir, config.app) : null;
  if (unreadConfig) logger.warning(unreadConfig);
  return await run(config, adapter, logger, supervisors, given);
}

/**
 * Astro's node adapter starts a server of its own as its standalone entry loads, unless
 * ASTRO_NODE_AUTOSTART is "disabled": its switch for serving the entry's `handler` from another
 * server, which tsuv is. Set so here, before any worker starts (a thread worker's process.env is a
 * copy made as it starts, on Deno too), unless the environment or the env file sets it (a Deno
 * allowed to read some variables only may refuse the write: then the app decides, as before).
 */
function disableAutostart(env: Record<string, string | undefined>): void {
  try {
    if (env.ASTRO_NODE_AUTOSTART === undefined) env.ASTRO_NODE_AUTOSTART = "disabled";
  } catch {}
}
