/**
 * Process workers (uvicorn's Multiprocess): N child processes, each this same tsuv re-run as a
 * worker, share the socket (Node: the parent-bound fd, inherited; Bun, Deno: reusePort). Health is
 * a ping over IPC answered from the child's event loop, so a handler stuck in `while (true) {}`
 * fails it (uvicorn answers from a side thread and misses that); an unhealthy child is SIGKILLed
 * and replaced.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../logging.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { DEFAULT_DRAIN_CAP_SECONDS } from "../server.ts";
import { Supervisor, type SupervisorDeps, type WorkerClass } from "./supervisor.ts";

/** Slack after the child's own drain limit, for its shutdown hook and exit. */
export const PROCESS_STOP_GRACE_SECONDS = 1;

/**
 * Seconds a stopping child may take before SIGKILL: its own drain limit (--timeout-graceful-shutdown,
 * else the server's 30 s cap) plus a little, so the child cuts its requests and runs its shutdown hook
 * itself. (Threads use the seed's shorter default instead: see threadShutdownTimeout.)
 */
export function processShutdownTimeout(config: Pick<Config, "timeoutGracefulShutdown">): number {
  return (config.timeoutGracefulShutdown ?? DEFAULT_DRAIN_CAP_SECONDS) + PROCESS_STOP_GRACE_SECONDS;
}

const child = (pid: number | undefined) => `Child process [${pid ?? "?"}]`;

export const PROCESS_WORKERS: WorkerClass = {
  kind: "process",
  singular: "process",
  plural: "processes",
  start: (adapter, boot, shared) => adapter.spawnProcess(boot, shared),
  name: (worker) => child(worker.pid),
  died: (worker) => `${child(worker.pid)} died`,
  unhealthy: (worker) =>
    `${child(worker.pid)} failed healthcheck; killing it and starting a replacement process.`,
  restarted: (worker) => `${child(worker.pid)} restarted`,
  stopping: (worker) => `Terminated child process [${worker.pid ?? "?"}]`,
  waiting: (worker) => `Waiting for child process [${worker.pid ?? "?"}]`,
  healthy: (worker, timeoutMs) => worker.heartbeat.pingAnswered(timeoutMs),
  onUnhealthy: "kill",
  stopTimeoutSeconds: (config) => processShutdownTimeout(config),
};

export class Multiprocess extends Supervisor {
  constructor(config: Config, adapter: RuntimeAdapter, logger: Logger, deps: SupervisorDeps = {}) {
    super(config, adapter, logger, PROCESS_WORKERS, deps);
  }
}
