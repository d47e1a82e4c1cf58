/**
 * Request limits: --limit-concurrency (over it, uvicorn answers 503 and closes the connection) and
 * --limit-max-requests (+ jitter): a worker that has served its share exits gracefully, and under a
 * supervisor its slot is refilled.
 */
import { newResponse } from "../native-response.ts";

/** Counts in-flight requests against --limit-concurrency; no limit means it always admits. */
export class ConcurrencyLimit {
  readonly limit: number | undefined;
  #active = 0;

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** In-flight requests admitted and not yet released. */
  get active(): number {
    return this.#active;
  }

  /**
   * Admit one request, or refuse it (false: respond with serviceUnavailable() and do not call
   * release()). Every admitted request must be released once, when its response body is done.
   */
  acquire(): boolean {
    if (this.limit !== undefined && this.#active >= this.limit) return false;
    this.#active++;
    return true;
  }

  release(): void {
    if (this.#active > 0) this.#active--;
  }
}

/** uvicorn's over-limit answer, byte for byte, for fetch apps and (as node:http writes it) node apps. */
export const SERVICE_UNAVAILABLE = {
  status: 503,
  body: "Service Unavailable",
  headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
} as const;

/** SERVICE_UNAVAILABLE as a Response: a fresh one each time (bodies are single-use). */
export function serviceUnavailable(): Response {
  const { status, body, headers } = SERVICE_UNAVAILABLE;
  return newResponse(body, { status, headers });
}

/**
 * Counts requests against --limit-max-requests plus a random 0..jitter extra (drawn once, so each
 * worker of a fleet restarts at a different point instead of all at once).
 */
export class MaxRequests {
  /** The effective limit (jitter included), for the log line; undefined when unlimited. */
  readonly limit: number | undefined;
  #served = 0;

  constructor(limit: number | undefined, jitter = 0, random: () => number = Math.random) {
    const extra = jitter > 0 ? Math.min(jitter, Math.floor(random() * (jitter + 1))) : 0;
    this.limit = limit === undefined ? undefined : limit + extra;
  }

  get served(): number {
    return this.#served;
  }

  /** Count one request; true once the limit is reached (and on every call after), so: shut down. */
  count(): boolean {
    this.#served++;
    return this.limit !== undefined && this.#served >= this.limit;
  }
}

/** uvicorn's warning when the limit is reached. */
export function maxRequestsMessage(limit: number): string {
  return `Maximum request limit of ${limit} exceeded. Terminating process.`;
}
