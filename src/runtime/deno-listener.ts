/**
 * One Deno.serve listener that stays listening. Deno.serve (2.9.6) ends its accept loop at the first
 * accept error, and the open-file limit gives one as soon as a burst of connections reaches it
 * (EMFILE, "Too many open files (os error 24)"; denoland/deno#10148, closed, still so): it closes
 * the listener and every connection it holds, and `finished` rejects. The worker would live on,
 * answering its healthchecks, with nothing listening (measured with `ulimit -n 64` and 150
 * connections: the port refused connections from then on, for one worker and for two of each class).
 * Node sheds such connections and accepts again; Bun leaves them in the backlog; uvicorn (asyncio)
 * logs the error and accepts again. Here the same address is bound again after RELISTEN_DELAY_MS,
 * asyncio's own pause after an accept error (ACCEPT_RETRY_DELAY), and hyper's (sleep_on_errors).
 */
import type { ListenerLossStage, ListenTarget, ServeOptions } from "./adapter.ts";

export const RELISTEN_DELAY_MS = 1000;

/** The part of Deno's HttpServer used here (declared locally so tsc and deno check agree). */
export interface DenoHttpServer {
  readonly addr: { transport: string; hostname?: string; port?: number; path?: string };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** Deno.serve on `target`, cut by `signal` (each listener gets a signal of its own). */
export type DenoBind = (target: ListenTarget, signal: AbortSignal) => DenoHttpServer;

const ignore = () => {};

export class DenoListener {
  #server: DenoHttpServer;
  #abort = new AbortController();
  /** Where to bind again: the first bind's address, its port resolved (port 0 stays the same port). */
  #again: ListenTarget;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    target: ListenTarget,
    private readonly bind: DenoBind,
    /** Told when the listener is lost, and when it is listening again. */
    private readonly events: Pick<ServeOptions, "onListenerLost" | "onListenerRestored">,
  ) {
    this.#server = bind(target, this.#abort.signal);
    const port = this.#server.addr.port;
    this.#again = target.kind === "tcp" && port !== undefined ? { ...target, port } : target;
    this.#watch(this.#server);
  }

  get addr(): DenoHttpServer["addr"] {
    return this.#server.addr;
  }

  /** Resolves once the current listener has ended, whether it shut down or failed. */
  get finished(): Promise<void> {
    return this.#server.finished.then(ignore, ignore);
  }

  /** Graceful: Deno.serve's shutdown() (it resolves on a listener that failed too). No more binds. */
  shutdown(): Promise<void> {
    this.stopRebinding();
    return this.#server.shutdown();
  }

  /** Cut every connection of the current listener (safe on one that failed). No more binds. */
  abort(): void {
    this.stopRebinding();
    this.#abort.abort();
  }

  /** The server is closing: a listener that fails from now on is not bound again. */
  stopRebinding(): void {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #watch(server: DenoHttpServer): void {
    server.finished.catch((error: unknown) => {
      if (this.#stopped || server !== this.#server) return;
      this.#retryLater(error, "accept");
    });
  }

  #retryLater(error: unknown, stage: ListenerLossStage): void {
    this.events.onListenerLost?.(error, RELISTEN_DELAY_MS, stage);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#stopped) return;
      const abort = new AbortController();
      try {
        this.#server = this.bind(this.#again, abort.signal);
      } catch (bindError) {
        this.#retryLater(bindError, "bind");
        return;
      }
      this.#abort = abort;
      this.#watch(this.#server);
      this.events.onListenerRestored?.();
    }, RELISTEN_DELAY_MS);
  }
}
