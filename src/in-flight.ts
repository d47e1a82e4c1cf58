/**
 * The requests being answered, in arrival order, for the drain's list of what is still running.
 *
 * A linked list rather than a Set: a Set that fills and empties with each burst of requests is
 * reallocated by V8 as it grows and shrinks (perf on Node 20 under wrk -c50, json: the table
 * rebuilt from Set#delete was ~0.5% of a request's CPU); an entry here is one small object, dropped
 * with the request.
 */
export interface InFlightEntry<T> {
  readonly value: T;
  prev: InFlightEntry<T> | null;
  next: InFlightEntry<T> | null;
}

export class InFlight<T> implements Iterable<T> {
  #head: InFlightEntry<T> | null = null;
  #tail: InFlightEntry<T> | null = null;

  /** Adds `value` at the end; the entry returned is what delete() takes. */
  add(value: T): InFlightEntry<T> {
    const entry: InFlightEntry<T> = { value, prev: this.#tail, next: null };
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    return entry;
  }

  /** Removes `entry`; one already removed is left alone (unlinked, it has no neighbours and is not the head). */
  delete(entry: InFlightEntry<T>): void {
    if (entry.prev === null && this.#head !== entry) return;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev;
    entry.prev = null;
    entry.next = null;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let entry = this.#head; entry; entry = entry.next) yield entry.value;
  }
}
