/**
 * The library API, as `uvicorn.run`: serve an app from code.
 *
 *   import { run } from "tsuv";
 *   await run("main:app", { workers: 2, workerClass: "thread" });
 *   await run(app, { port: 3000 });   // the app itself: one server
 */
import { TsuvError } from "./errors.ts";
import { OPTIONS, type OptionValues } from "./options.ts";
import { defaultSupervisors } from "./run.ts";
import { loadAdapter, processIO } from "./runtime/index.ts";
import { respawnOwnEntry } from "./runtime/plumbing.ts";
import { startServing } from "./start.ts";

export type { Config } from "./config.ts";
export { EXIT, TsuvError } from "./errors.ts";
export type { OptionValues } from "./options.ts";
export { VERSION } from "./version.ts";

/** Turn options given in code into the argv form every worker re-resolves its Config from. */
export function optionsToArgv(app: string | undefined, options: Partial<OptionValues> = {}): string[] {
  const argv = app === undefined ? [] : [app];
  for (const [key, value] of Object.entries(options)) {
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (!(name in OPTIONS) || value === undefined) throw new TsuvError(`Unknown option: ${key}`, 2);
    if (typeof value === "boolean") argv.push(value ? `--${name}` : `--no-${name}`);
    else if (Array.isArray(value)) for (const item of value) argv.push(`--${name}`, String(item));
    else argv.push(`--${name}`, String(value));
  }
  return argv;
}

/**
 * Serve `app` until shut down; resolves with the exit code. `app` is an import string ("path:attr",
 * as on the command line), or, as uvicorn.run takes, the app itself (a `{ fetch }` object, a
 * framework's app, a node:http listener; its factory with `factory: true`) for one server in this
 * process: workers and --reload import the app afresh, so they need the string (a TsuvError with
 * exit code 1 says so, as uvicorn does).
 */
export async function run(app: string | object, options: Partial<OptionValues> = {}): Promise<number> {
  const given = typeof app === "string" ? undefined : { app };
  const argv = optionsToArgv(typeof app === "string" ? app : undefined, options);
  const adapter = await loadAdapter();
  // This process runs the caller's script: workers and --reload children run tsuv's command.
  respawnOwnEntry();
  return startServing(argv, adapter, processIO(), defaultSupervisors, given);
}
