/**
 * Does the app listen for SIGTERM or SIGINT itself? Such a listener (process.on, at import or in
 * its startup hook; often "close the database, then process.exit(0)") runs as soon as the signal
 * arrives, beside tsuv's graceful shutdown, and its exit cut every request in flight (measured: a
 * 2 s request got no answer on Node 20). uvicorn replaces an app's handlers while it serves, so the
 * same app lost nothing there. tsuv says so once, with where such work belongs.
 */
import type { SignalName } from "./runtime/adapter.ts";

/** The signals an app listens for to clean up before it exits. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const satisfies readonly SignalName[];

/** The app's own SIGTERM and SIGINT listeners, counted from before its import to after its startup hook. */
export interface AppStopListeners {
  /**
   * The warning for what the app added since the first count, if anything. `detectedBy` is the
   * loaded app's (LoadedApp), for a framework whose own switch adds the listeners.
   */
  warning(detectedBy?: string): string | undefined;
}

/**
 * NestJS's enableShutdownHooks() listens for the signals, runs the app's shutdown lifecycle at once
 * and raises the signal again; tsuv calls the app's close() after the requests in flight, which runs
 * the same hooks (seen twice with @nestjs/core 12.6.3 when both ran).
 */
const NEST_HINT =
  " A NestJS app: leave out app.enableShutdownHooks(); tsuv calls the app's close(), which runs its onModuleDestroy and onApplicationShutdown hooks, after the requests in flight.";

/**
 * Counts the process's SIGTERM and SIGINT listeners now (before the app is imported); warning()
 * counts again (after the startup hook). `count` is RuntimeAdapter.signalListenerCount, which leaves
 * tsuv's own listeners out (a single server's, added once the app is imported, and those of another
 * server that the library's run() started in the same process): absent where listeners cannot be
 * counted (Deno), and not given in a thread worker, where signals never reach the app.
 */
export function checkAppStopListeners(count: ((signal: SignalName) => number) | undefined): AppStopListeners {
  if (!count) return { warning: () => undefined };
  const before = STOP_SIGNALS.map((signal) => count(signal));
  return {
    warning(detectedBy) {
      const added = STOP_SIGNALS.filter((signal, i) => count(signal) > (before[i] ?? 0));
      if (added.length === 0) return undefined;
      const hint = detectedBy?.includes("NestJS") ? NEST_HINT : "";
      return `The app listens for ${added.join(" and ")} itself: its listener runs as soon as the signal arrives, beside tsuv's graceful shutdown, and a process.exit() there cuts the requests in flight. Put that work in the app's shutdown() hook, which runs after they finish.${hint}`;
    },
  };
}
