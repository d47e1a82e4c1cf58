/**
 * Picks how to serve, as uvicorn.main.run: one Server in this process, or a supervisor of
 * process or thread workers (or the reloader). Returns the exit code; never exits itself.
 */
import type { GivenApp } from "./app.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./logging.ts";
import type { RuntimeAdapter } from "./runtime/adapter.ts";
import { Server } from "./server.ts";

export interface Supervisor {
  run(): Promise<number>;
}

export type SupervisorFactory = (config: Config, adapter: RuntimeAdapter, logger: Logger) => Supervisor;

export interface Supervisors {
  multiprocess: SupervisorFactory;
  multithread: SupervisorFactory;
  reload: SupervisorFactory;
}

/**
 * The real supervisors, imported on demand so a single server loads none of them (nor, on Deno,
 * reads them: split specifiers, see runtime/index.ts loadAdapter).
 */
export const defaultSupervisors: Supervisors = {
  multiprocess: lazy(
    async () =>
      ((await import("./supervisors/multiprocess" + ".ts")) as typeof import("./supervisors/multiprocess.ts"))
        .Multiprocess,
  ),
  multithread: lazy(
    async () =>
      ((await import("./supervisors/multithread" + ".ts")) as typeof import("./supervisors/multithread.ts"))
        .Multithread,
  ),
  reload: lazy(
    async () =>
      ((await import("./supervisors/reload" + ".ts")) as typeof import("./supervisors/reload.ts"))
        .ChangeReload,
  ),
};

function lazy(
  load: () => Promise<new (config: Config, adapter: RuntimeAdapter, logger: Logger) => Supervisor>,
) {
  return (config: Config, adapter: RuntimeAdapter, logger: Logger): Supervisor => ({
    run: async () => new (await load())(config, adapter, logger).run(),
  });
}

export function pickMode(config: Config): "reload" | "multiprocess" | "multithread" | "single" {
  if (config.reload) return "reload";
  if (config.workers > 1) return config.workerClass === "thread" ? "multithread" : "multiprocess";
  return "single";
}

export async function run(
  config: Config,
  adapter: RuntimeAdapter,
  logger: Logger,
  supervisors: Supervisors = defaultSupervisors,
  /** Only for one server in this process: a worker imports the app itself (start.ts). */
  given?: GivenApp,
): Promise<number> {
  const mode = pickMode(config);
  if (mode !== "single") return supervisors[mode](config, adapter, logger).run();
  return serveSingle(config, adapter, logger, given);
}

/**
 * One server in this process: SIGINT/SIGTERM stop it gracefully, a second SIGINT forces. SIGHUP
 * stops it gracefully too. By default it would end the process at once, cutting every request in
 * flight (uvicorn's single server, which leaves SIGHUP alone, too); it comes from `systemctl
 * reload`, logrotate's postrotate, a terminal closing. With no supervisor there is nothing to
 * restart the server, so it stops, and says how to get a rolling restart instead. Under `nohup`
 * SIGHUP stays ignored: a listener would undo that.
 */
export async function serveSingle(
  config: Config,
  adapter: RuntimeAdapter,
  logger: Logger,
  given?: GivenApp,
): Promise<number> {
  const unsubscribe: (() => void)[] = [];
  // Not before the app's import is done (ServerHooks.onLoaded): until then a signal's default
  // action ends the process (as in older uvicorn, whose Server.serve imported the app before
  // installing its handlers). A listener here would be the only thing to act on it, from an event
  // loop that an import stuck in a loop never gives back (measured: SIGINT and SIGTERM then did
  // nothing, on every runtime).
  const listenForSignals = () => {
    const stop = (force: boolean) => () => server.requestShutdown(force);
    unsubscribe.push(
      adapter.onSignal("SIGINT", stop(true)),
      adapter.onSignal("SIGTERM", stop(false)),
      adapter.onSignal("SIGBREAK", stop(false)),
    );
    // Read after those: Deno resets an ignored SIGHUP when its first signal listener comes.
    if (adapter.hangupIgnored?.() !== false) return;
    unsubscribe.push(
      adapter.onSignal("SIGHUP", () => {
        // An app that listens for SIGHUP itself (reopening its log files for logrotate) kept
        // serving before tsuv listened too: it still does. Counted where the runtime can (not Deno).
        if ((adapter.signalListenerCount?.("SIGHUP") ?? 0) > 0) return;
        logger.info(
          "Received SIGHUP: a single server cannot restart itself, so it stops gracefully. With --workers 2 or more, SIGHUP restarts the workers one at a time.",
        );
        server.requestShutdown(false);
      }),
    );
  };
  const server = new Server(config, adapter, logger, { hooks: { onLoaded: listenForSignals }, given });
  try {
    return await server.serve();
  } finally {
    for (const off of unsubscribe) off();
    logger.flush();
  }
}
