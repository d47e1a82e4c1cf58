/**
 * Work an app hands off to finish after its answer (sending analytics, flushing a cache write):
 * `request.waitUntil(promise)`, as srvx's servers put it on every request and h3's
 * `event.waitUntil()` calls it, and `ctx.waitUntil(promise)` on the third argument of the app's
 * fetch, Cloudflare's ExecutionContext shape, which Hono's `c.executionCtx` is. Without them such an
 * app got nothing (h3) or a TypeError (Hono: "This context has no ExecutionContext"), and its
 * hand-offs were cut by a graceful shutdown. A graceful shutdown now waits for them after the
 * requests, within --timeout-graceful-shutdown, as uvicorn waits for background tasks; a
 * rejection is logged as an exception of the app's.
 */
import { requestBasePrototype } from "./request-ip.ts";
import type { FetchHandler, RequestInfo } from "./runtime/adapter.ts";

/** The app's fetch as it is called: Cloudflare's (request, env, ctx), env being the request info. */
export type FetchWithContext = (request: Request, info: RequestInfo, ctx: object) => ReturnType<FetchHandler>;

export class BackgroundTasks {
  private readonly pending = new Set<Promise<void>>();
  private whenIdle: (() => void) | undefined;

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Track `promise` until it settles. Bound: handed out as is. */
  readonly waitUntil = (promise: unknown): void => {
    const task: Promise<void> = Promise.resolve(promise)
      .then(
        () => undefined,
        (error) => this.onError(error),
      )
      .finally(() => {
        this.pending.delete(task);
        if (this.pending.size > 0) return;
        const idle = this.whenIdle;
        this.whenIdle = undefined;
        idle?.();
      });
    this.pending.add(task);
  };

  /** Cloudflare's ExecutionContext, given to the app's fetch as its third argument: one for all. */
  readonly executionContext = {
    waitUntil: this.waitUntil,
    /** Cloudflare's fall-back-to-origin on an exception; a server has no origin behind it. */
    passThroughOnException(): void {},
    props: {},
  };

  /** `fetch` called with executionContext as its third argument, as the request handler calls it. */
  passContext(fetch: FetchHandler): FetchHandler {
    const withContext = fetch as FetchWithContext;
    return (request, info) => withContext(request, info, this.executionContext);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once none is pending (at once when none is); every caller is answered. */
  settled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.whenIdle;
      this.whenIdle = () => {
        before?.();
        resolve();
      };
    });
  }
}

/** The tasks `request.waitUntil` hands to: those of the server serving in this realm. */
let current: BackgroundTasks | undefined;

function waitUntil(this: unknown, promise: unknown): void {
  current?.waitUntil(promise);
}

/**
 * `request.waitUntil` as one method on the base of the runtime's Request prototype chain (as
 * request.ip is: nothing per request), unless the runtime has one of its own; it hands to `tasks`.
 */
export function installRequestWaitUntil(tasks: BackgroundTasks): void {
  current = tasks;
  const base = requestBasePrototype();
  if (Object.hasOwn(base, "waitUntil")) return;
  Object.defineProperty(base, "waitUntil", {
    value: waitUntil,
    configurable: true,
    enumerable: false,
    writable: true,
  });
}

/** The drain's wait for them, once the requests are done, said as uvicorn says it (none: no line). */
export function waitForBackgroundTasks(
  tasks: BackgroundTasks | undefined,
  logger: { info(message: string): void },
): Promise<void> {
  if (tasks === undefined || tasks.size === 0) return Promise.resolve();
  logger.info(`Waiting for background tasks to complete. (${tasks.size} handed to waitUntil)`);
  return tasks.settled();
}
