/**
 * What a fetch app gets as its second argument on Bun, and when its response is done.
 *
 * - BunRequestInfo: the peer, read only when asked, and the part of Bun's Server that apps written
 *   for Bun.serve call (`requestIP`, `timeout`), answered with the client after proxy headers.
 * - BunCompletions: RequestInfo.completed for --limit-concurrency, counted from Bun's
 *   `pendingRequests` since Bun has no per-response "done" event.
 */
import { type SocketAddress, socketAddress } from "../app-server.ts";
import type { NativeUpgradeOptions, NativeWebSocket } from "../websocket-native.ts";
import type { ClientAddress, Completion, RequestInfo } from "./adapter.ts";
import { NO_PEER_INFO } from "./peer.ts";

/** The part of Bun's Server a request's info uses. */
export interface BunPeerSource {
  /** Requests whose handler is running or whose body is still going out (upgraded sockets not). */
  readonly pendingRequests: number;
  requestIP(request: Request): { address: string; port: number } | null;
  timeout(request: Request, seconds: number): void;
  upgrade(request: Request, options: NativeUpgradeOptions): boolean;
  publish(topic: string, data: string | ArrayBufferView | ArrayBuffer, compress?: boolean): number;
}

/**
 * What Bun's server needs done around an answer the app gives as a promise (bun.ts): its idle timer
 * kept off the request while the app works, and back on, with the body watched, once it answered.
 */
export interface AsyncAnswers {
  start(request: Request, server: BunPeerSource): void;
  end(request: Request, server: BunPeerSource, upgraded: boolean): void;
}

/**
 * The peer, read only if the app asks (Bun's requestIP is a native call plus an object: 3,300-3,800
 * instructions per request on the json workload, scripts/bench/callgrind.ts --warmup 10000; building
 * this object costs next to nothing).
 */
export class BunRequestInfo implements RequestInfo {
  // Kept in # fields: an own `server` property would send Hono's getBunPeerSource (`"server" in env`)
  // to Bun's server, whose requestIP knows nothing of proxy headers.
  readonly #server: BunPeerSource;
  readonly #request: Request;
  /** --ws bun: the app's own handlers, which server.upgrade() hands the socket to. */
  readonly #native: NativeWebSocket | undefined;
  /** The adapter's work around an async answer, done by the request handler (RequestInfo.awaiting). */
  readonly #answers: AsyncAnswers | undefined;
  #awaited = false;
  /** The info this one was made from by withClient (its completion is the request's). */
  #origin: BunRequestInfo | undefined = undefined;
  private addr: ClientAddress | undefined = undefined;
  /** Set by upgrade() alone (RequestInfo.upgraded): no field for every other request to carry. */
  declare readonly upgraded?: boolean;
  constructor(server: BunPeerSource, request: Request, native?: NativeWebSocket, answers?: AsyncAnswers) {
    this.#server = server;
    this.#request = request;
    this.#native = native;
    this.#answers = answers;
  }
  /** RequestInfo.awaiting: the request handler waits for the app's promise, and does Bun's part. */
  awaiting(): void {
    const answers = this.#answers;
    if (answers === undefined) return;
    // Here and on the info this one was made from (the adapter holds that one: awaited).
    for (let info: BunRequestInfo | undefined = this; info !== undefined; info = info.#origin)
      info.#awaited = true;
    answers.start(this.#request, this.#server);
  }
  answered(): void {
    this.#answers?.end(this.#request, this.#server, this.upgraded === true);
  }
  /** True once the request handler took the app's promise into its own wait (awaiting()). */
  get awaited(): boolean {
    return this.#awaited;
  }
  /**
   * Read on first use. Once the client has gone Bun's requestIP answers null, and this no peer (the
   * access log writes no line for such a request: clientGone).
   */
  get remoteAddr(): ClientAddress {
    if (this.addr === undefined) {
      const ip = this.#server.requestIP(this.#request);
      this.addr = ip === null ? NO_PEER_INFO.remoteAddr : { hostname: ip.address, port: ip.port };
    }
    return this.addr;
  }
  /**
   * Bun aborts a request's signal when its client leaves, and reading it afterwards says so too.
   * The signal is made on first read (+500-800 instructions per request on the json workload,
   * scripts/bench/callgrind.ts --warmup 10000), so only a late answer asks. The peer cannot tell
   * instead: it may have been read, and kept, before the client left (proxy headers, the app).
   */
  clientGone(): boolean {
    return this.#request.signal.aborted;
  }
  /** The same request with the client a trusted proxy named (request-handler.ts). */
  withClient(client: ClientAddress): RequestInfo {
    const info = new BunRequestInfo(this.#server, this.#request, this.#native, this.#answers);
    info.addr = client;
    info.#origin = this;
    return info;
  }
  /**
   * An upgraded request's --limit-concurrency slot, now the socket's until it closes: taken out of
   * the count of responses going out (BunCompletions), which Bun's no longer includes.
   */
  protected detachCompletion(): BunCompletion | undefined {
    return this.#origin?.detachCompletion();
  }
  /*
   * The part of Bun's Server an app gets as fetch's second argument under Bun.serve, for apps
   * written for it (`server.requestIP(req)`, hono/bun's getConnInfo). The request argument is not
   * looked at: this object is the request's own, and the app may pass a copy (a url made absolute,
   * a forwarded scheme) that Bun's server would not know.
   */
  /** The client as the access log shows it (after proxy headers); null on a unix socket, as Bun. */
  requestIP(_request?: Request): SocketAddress | null {
    return socketAddress(this.remoteAddr);
  }
  timeout(_request: Request, seconds: number): void {
    this.#server.timeout(this.#request, seconds);
  }
  /** Bun's pub/sub, for sockets upgraded under --ws bun: this worker's subscribers of `topic`. */
  publish(topic: string, data: string | ArrayBufferView | ArrayBuffer, compress?: boolean): number {
    return this.#server.publish(topic, data, compress);
  }
  /**
   * Bun's own upgrade, under --ws bun: the socket is served by the app's `websocket` handlers with
   * tsuv's bookkeeping (src/websocket-native.ts). The request Bun gave is upgraded, whichever copy
   * the app passes (a forwarded scheme, --root-path); its url is what the log line shows.
   */
  upgrade(request: Request, options?: NativeUpgradeOptions): boolean {
    const native = this.#native;
    if (native === undefined) {
      throw new TypeError(
        "server.upgrade() needs --ws bun: tsuv then serves the app's `websocket` object as Bun.serve's own handlers (docs/websockets.md).",
      );
    }
    // Bun's own answer to a second upgrade of one request.
    if (this.upgraded) return false;
    const url = request instanceof Request ? request.url : this.#request.url;
    // Set once upgraded: until then the request's slot is its response's, as any request's.
    let completion: BunCompletion | undefined;
    const upgrade = native.upgradeOptions(url, this.remoteAddr, options, () => completion?.done());
    if (upgrade === null || !this.#server.upgrade(this.#request, upgrade)) return false;
    completion = this.detachCompletion();
    // Here and on the info this one was made from (the adapter holds that one).
    for (let info: BunRequestInfo | undefined = this; info !== undefined; info = info.#origin)
      (info as { upgraded?: boolean }).upgraded = true;
    return true;
  }
}

/**
 * RequestInfo.completed on Bun (ServeOptions.trackCompletion). Bun has no per-response "done"
 * event: request.signal does not fire when a response completes, and wrapping the body to see its
 * end changes the response (a string body goes out chunked, without its content-type). But
 * `server.pendingRequests` counts, exactly, the requests whose handler is running or whose body is
 * still going out, and drops one whose client has gone (Bun 1.4.5; upgraded sockets are not
 * counted; test/behaviour checks it). So the completions handed out wait in a queue, and each
 * arriving request first settles as many as the count says are done, synchronously, so that their
 * slots are free before it asks for one: the number is exact, which ones settle is a guess (the
 * oldest first), and the count is read when it matters, when a request or an upgrade wants a slot.
 */
export class BunCompletions {
  readonly #waiting: BunCompletion[] = [];

  /** On each request, before anything asks for a slot. */
  settle(server: Pick<BunPeerSource, "pendingRequests">): void {
    const waiting = this.#waiting;
    // The arriving request is counted too; every waiting one not done yet is among the others.
    const going = server.pendingRequests - 1;
    while (waiting.length > going) (waiting.shift() as BunCompletion).done();
  }

  /** The completion of one request whose response has just begun. */
  next(): BunCompletion {
    const completion = new BunCompletion();
    this.#waiting.push(completion);
    return completion;
  }

  /** A request upgraded to a WebSocket: Bun no longer counts it; its completion is the socket's. */
  detach(completion: BunCompletion): void {
    const at = this.#waiting.indexOf(completion);
    if (at !== -1) this.#waiting.splice(at, 1);
  }
}

/** One response's completion: then() callbacks run when BunCompletions.settle() counts it done. */
export class BunCompletion implements Completion {
  #settled = false;
  #callbacks: (() => void)[] | undefined = undefined;

  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose (adapter.ts Completion)
  then(onDone: () => void): void {
    if (this.#settled) {
      runCallback(onDone);
      return;
    }
    if (this.#callbacks === undefined) this.#callbacks = [];
    this.#callbacks.push(onDone);
  }

  done(): void {
    this.#settled = true;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks) for (const callback of callbacks) runCallback(callback);
  }
}

/** A callback that throws (an app's own) fails as it would in a promise chain, not the request. */
function runCallback(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    void Promise.reject(error);
  }
}

/** BunRequestInfo with `completed`, made on first read: only admitted requests are queued. */
export class TrackedBunRequestInfo extends BunRequestInfo {
  readonly #completions: BunCompletions;
  #completed: BunCompletion | undefined = undefined;
  constructor(
    server: BunPeerSource,
    request: Request,
    completions: BunCompletions,
    native?: NativeWebSocket,
    answers?: AsyncAnswers,
  ) {
    super(server, request, native, answers);
    this.#completions = completions;
  }
  get completed(): Completion {
    if (this.#completed === undefined) this.#completed = this.#completions.next();
    return this.#completed;
  }
  protected override detachCompletion(): BunCompletion | undefined {
    const completion = this.#completed;
    if (completion) this.#completions.detach(completion);
    return completion;
  }
}
