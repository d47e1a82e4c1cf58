/**
 * Signal queueing for supervisors, as uvicorn's: the handler only appends to a queue, and the
 * supervisor's loop handles queued signals between its checks, so a handler never races a restart.
 */
import type { RuntimeAdapter, SignalName } from "../runtime/adapter.ts";

/** Every signal a supervisor listens to (uvicorn's SIGNALS; unsupported ones are skipped by the adapter). */
export const SIGNALS: readonly SignalName[] = [
  "SIGINT",
  "SIGTERM",
  "SIGBREAK",
  "SIGHUP",
  "SIGUSR1",
  "SIGUSR2",
  "SIGTTIN",
  "SIGTTOU",
];

export class SignalQueue {
  readonly queue: SignalName[] = [];
  private unsubscribe: (() => void)[] = [];

  /** Start queueing the supervisor signals. */
  listen(adapter: Pick<RuntimeAdapter, "onSignal">): void {
    for (const signal of SIGNALS)
      this.unsubscribe.push(adapter.onSignal(signal, () => this.queue.push(signal)));
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** Take every queued signal, oldest first. */
  drain(): SignalName[] {
    return this.queue.splice(0, this.queue.length);
  }
}
