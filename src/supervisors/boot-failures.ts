/**
 * Bookkeeping for workers that cannot get ready: how many died in a row in a slot before they were
 * ready, and, once the server has booted, when a failed slot gets its next try. The supervisor
 * decides what a failure means (before boot: stop everything; after: retry); this says how many
 * and when. Keyed by worker: a slot's count passes from each worker to its replacement.
 */
import type { WorkerHandle } from "./worker-handle.ts";

/** Workers that die this many times in a row before ever being ready are a startup failure. */
export const MAX_BOOT_DEATHS = 5;
/** Once serving, a worker that cannot start is retried after this, doubling up to the next. */
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 30_000;

export class BootFailures {
  /** Workers in a row that died in this worker's slot before they were ready (absent: none). */
  readonly #deathsBefore = new WeakMap<WorkerHandle, number>();
  /** When a failed worker's slot gets its next try (absent: not scheduled). */
  readonly #retryAt = new WeakMap<WorkerHandle, number>();
  /** Workers started by a retry: one that gets ready resets the backoff. */
  readonly #retried = new WeakSet<WorkerHandle>();
  #delayMs = RETRY_FIRST_MS;

  /** Is this failed worker's slot waiting for its retry (its failure already reported)? */
  waiting(worker: WorkerHandle): boolean {
    return this.#retryAt.has(worker);
  }

  /** The deaths in a row in `worker`'s slot, counting its own (one already waiting counts as many). */
  deathsWith(worker: WorkerHandle): number {
    return this.waiting(worker) ? MAX_BOOT_DEATHS : (this.#deathsBefore.get(worker) ?? 0) + 1;
  }

  /** `next` replaces a worker that died before ready, the `deaths`th in a row in its slot. */
  replaced(next: WorkerHandle, deaths: number): void {
    this.#deathsBefore.set(next, deaths);
  }

  /** Schedule `worker`'s slot for a retry; the wait (ms) the first time, undefined after. */
  schedule(worker: WorkerHandle, now: number): number | undefined {
    if (this.waiting(worker)) return undefined;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, RETRY_MAX_MS);
    this.#retryAt.set(worker, now + delay);
    return delay;
  }

  /** Has `worker`'s retry come (it must have been scheduled)? */
  due(worker: WorkerHandle, now: number): boolean {
    return now >= (this.#retryAt.get(worker) ?? Number.POSITIVE_INFINITY);
  }

  /** `next` is a retry: one more death before ready goes straight back to the backoff. */
  retrying(next: WorkerHandle): void {
    this.#retried.add(next);
    this.#deathsBefore.set(next, MAX_BOOT_DEATHS - 1);
  }

  /** A worker is ready: if it was a retry, the slot works again and the backoff starts over. */
  ready(worker: WorkerHandle): void {
    if (this.#retried.delete(worker)) this.#delayMs = RETRY_FIRST_MS;
  }
}
