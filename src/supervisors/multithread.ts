/**
 * Thread workers (the seed's Multithread): N Web-Worker-style threads in this process share the
 * socket. Health is a heartbeat from each worker's event loop (once a second, more often for short
 * timeouts); a stale worker is asked to stop, replaced at once, and (beyond the seed, which cannot
 * kill a Python thread) terminated once the shutdown timeout passes.
 */
import { type Config, threadShutdownTimeout } from "../config.ts";
import type { Logger } from "../logging.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { Supervisor, type SupervisorDeps, type WorkerClass } from "./supervisor.ts";

export const THREAD_WORKERS: WorkerClass = {
  kind: "thread",
  singular: "thread",
  plural: "threads",
  start: (adapter, boot) => adapter.startThread(boot),
  name: () => "Worker thread",
  died: () => "Child thread died",
  unhealthy: () =>
    "Worker thread failed healthcheck; starting a replacement thread while the previous thread is still running.",
  restarted: () => "Worker thread restarted",
  // Deno 2.9's terminate() cannot stop a thread stuck in a busy loop (denoland/deno PR #35657): the
  // thread keeps its CPU and its reusePort listener. Say so when it may matter.
  forcedWarning: (runtime) =>
    runtime.name === "deno"
      ? "Deno cannot stop a worker thread that is stuck in a busy loop (denoland/deno PR #35657): if it was, it keeps a CPU and its share of new connections. Use --worker-class process on Deno if handlers can hang."
      : undefined,
  healthy: (worker, timeoutMs) => worker.heartbeat.fresh(timeoutMs),
  onUnhealthy: "drain",
  // The seed's: --timeout-graceful-shutdown, else --timeout-worker-healthcheck.
  stopTimeoutSeconds: (config) => threadShutdownTimeout(config),
};

export class Multithread extends Supervisor {
  constructor(config: Config, adapter: RuntimeAdapter, logger: Logger, deps: SupervisorDeps = {}) {
    super(config, adapter, logger, THREAD_WORKERS, deps);
  }
}
