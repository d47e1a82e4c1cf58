/**
 * Keeps Bun's idle timer off response bodies still going out (Bun 1.4.5, Linux). Bun.serve's
 * `idleTimeout` counts while a streamed body (SSE, long-poll) is silent, and cuts it (see bun.ts).
 * There is no telling a stream body from a string one without spoiling it: reading `response.body`
 * of a string Response turns it into a stream sent as application/octet-stream. So the watch looks
 * afterwards: `server.pendingRequests` (handlers running plus bodies going out) says, once per
 * event-loop turn, whether a body is still going out, and `requestIP(req)` (null once a response
 * is done) which. Those get `timeout(req, KEEP_BODY_SECONDS)` re-armed every second until done, so
 * their connection ends with that keep-alive timeout (not the configured one), but still ends.
 */

/** The shortest timeout that a re-arm every second keeps from firing (two of Bun's 4 s ticks). */
const KEEP_BODY_SECONDS = 8;

/** The part of Bun's server the watch uses. */
export interface WatchedServer {
  /** Requests whose handler is running or whose body is still going out. */
  readonly pendingRequests: number;
  requestIP(request: Request): unknown;
  timeout(request: Request, seconds: number): void;
}

/**
 * Keeps Bun's idle timer off responses whose body is still going out after Bun took them (see the
 * header). Per request, only `add()`: an array push; per event-loop turn that served requests,
 * one setImmediate and one `pendingRequests` read. Only while some body is still going out does
 * each request of the turn cost a `requestIP` (null, cheap, for the ones done).
 */
export class BodyWatch {
  /** Async handlers still working (their requests are counted by pendingRequests too). */
  running = 0;
  #server: WatchedServer | undefined = undefined;
  readonly #seconds: number;
  /** requestIP answers: false on a unix socket, where it is always null. */
  readonly #probe: boolean;
  #turn: Request[] = [];
  #armed = false;
  readonly #live = new Set<Request>();
  #beat: ReturnType<typeof setInterval> | undefined = undefined;

  constructor(keepAliveSeconds: number, probe: boolean) {
    this.#seconds = Math.max(keepAliveSeconds, KEEP_BODY_SECONDS);
    this.#probe = probe;
  }

  start(server: WatchedServer): void {
    this.#server = server;
  }

  /** A Response handed to Bun (returned, or resolved by an async handler). */
  add(request: Request): void {
    this.#turn.push(request);
    if (!this.#armed) {
      this.#armed = true;
      setImmediate(this.#check);
    }
  }

  stop(): void {
    if (this.#beat !== undefined) clearInterval(this.#beat);
    this.#beat = undefined;
    this.#live.clear();
  }

  /** After the turn: the responses Bun took are sent, except bodies still going out. */
  readonly #check = (): void => {
    this.#armed = false;
    const turn = this.#turn;
    const server = this.#server as WatchedServer;
    const live = this.#live;
    // Without probes (unix socket), only bodies the count cannot explain; with them, exactly.
    const going = server.pendingRequests - this.running - (this.#probe ? 0 : live.size);
    if (going > 0) {
      for (const request of turn) {
        if (live.has(request) || (this.#probe && server.requestIP(request) === null)) continue;
        live.add(request);
        server.timeout(request, this.#seconds);
      }
      if (live.size > 0 && this.#beat === undefined) {
        this.#beat = setInterval(this.#heartbeat, 1000);
        (this.#beat as { unref?: () => void }).unref?.();
      }
    }
    turn.length = 0;
  };

  /** Every second: re-arm the live ones, forget the done ones. */
  readonly #heartbeat = (): void => {
    const server = this.#server as WatchedServer;
    const live = this.#live;
    if (server.pendingRequests <= this.running) live.clear();
    for (const request of live) {
      if (this.#probe && server.requestIP(request) === null) live.delete(request);
      else server.timeout(request, this.#seconds);
    }
    if (live.size === 0) this.stop();
  };
}
