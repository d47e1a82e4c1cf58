/**
 * WebSockets, the runtime-independent part: what tsuv keeps for every socket, whichever way the app
 * serves them (crossws hooks under --ws auto, src/websocket-crossws.ts; Bun.serve's own handlers
 * under --ws bun, src/websocket-native.ts, which wrap the app's hooks and call in here):
 * - uvicorn's log lines (`127.0.0.1:50000 - "WebSocket /chat" [accepted]`, `[closed 1000]`, or the
 *   status of a refused upgrade), refusal while shutting down, the default headers on the 101, and
 *   the --limit-concurrency slot an open socket holds until it closes;
 * - the set of open sockets: graceful shutdown closes them with 1012 (service restart) and cuts
 *   the ones that do not answer within a grace period, so they never hold the shutdown up;
 * - keepalive where the runtime cannot do it itself: a ping every --ws-ping-interval; a peer whose
 *   pong (or ping) has not come --ws-ping-timeout after it is dropped, as uvicorn's websockets does;
 * - an exception from an app hook is logged with its stack and the socket closed with 1011, as
 *   uvicorn does.
 * Nothing here is per runtime: the limits are the adapter's to enforce.
 */
import type { Config } from "./config.ts";
import { adoptForeignResponse } from "./foreign-response.ts";
import { internalServerError } from "./http-status.ts";
import { clientLabel, type Logger } from "./logging.ts";
import type { DefaultHeaders } from "./middleware/default-headers.ts";
import type { ConcurrencyLimit } from "./middleware/limits.ts";
import type { TrustedHosts } from "./middleware/proxy-headers.ts";
import { isNativeResponse } from "./native-response.ts";
import { type HandlerState, sendableResponse, type Unsendable } from "./request-handler.ts";
import type { SharedPolicy } from "./request-policy.ts";
import type {
  ClientAddress,
  FetchHandler,
  WebSocketHooks,
  WebSocketServeOptions,
} from "./runtime/adapter.ts";
import { type CrosswsServing, crosswsHooks } from "./websocket-crossws.ts";
import { isWebSocketUpgrade } from "./websocket-handshake.ts";
import { type NativeHandlers, nativeOptions, nativeWebSocket } from "./websocket-native.ts";

/** How long shutdown waits for peers to answer the 1012 close frame before cutting them. */
const CLOSE_GRACE_MS = 5000;
/** uvicorn's code for sockets closed by a server shutdown or restart. */
export const SERVICE_RESTART = 1012;
const INTERNAL_ERROR = 1011;

/** What `new Headers()` takes (no global HeadersInit type in every runtime's lib). */
export type HeadersArg = ConstructorParameters<typeof Headers>[0];

/**
 * What the layer does to a socket: crossws's Peer, or Bun's own ServerWebSocket under --ws bun
 * (src/websocket-native.ts); both have these.
 */
export interface SocketPeer {
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
}

export interface SocketState {
  /** The app's hooks for this socket: its `websocket` object, or what its `resolve` gave. */
  app: WebSocketHooks;
  /** The client after proxy headers, and `client - "WebSocket /path"` for the log. */
  client: ClientAddress;
  label: string;
  /** The upgrade took a --limit-concurrency slot that close must give back. */
  holdsSlot: boolean;
  peer: SocketPeer | undefined;
  closed: boolean;
  /** Keepalive: a pong (or ping) came since our last ping; when it is due (0: none awaited). */
  alive: boolean;
  pongDue: number;
  nextPing: number;
}

export interface WebSocketLayerOptions {
  /** The app's hooks. */
  hooks: WebSocketHooks;
  logger: Logger;
  /** Shared with the HTTP requests: open sockets count against --limit-concurrency. */
  concurrency: ConcurrencyLimit | null;
  /** Trusted proxies (--proxy-headers), or null. */
  trusted: TrustedHosts | null;
  /** Added to handshake responses, as uvicorn does (server, date, --header). */
  defaultHeaders: DefaultHeaders | null;
  /** --root-path, put in front of the path the upgrade hook sees (and the log line shows); "" for none. */
  rootPath?: string;
  /**
   * The app's fetch, for hooks given as an object with no hook in it (`websocket: {}`): each
   * upgrade's hooks are then what fetch attaches (see hooksFromFetch), as crossws's `ws()` plugin
   * takes them from srvx's fetch.
   */
  fetch?: FetchHandler;
  maxMessageBytes: number;
  perMessageDeflate: boolean;
  pingIntervalSeconds: number;
  pingTimeoutSeconds: number;
  /** --ws bun: the hooks are Bun.serve's own handlers (src/websocket-native.ts). */
  native?: boolean;
  /** What the runtime's server cannot send (RuntimeAdapter.unsendableResponse): a refusal becomes a 500. */
  unsendableResponse?: Unsendable;
}

export class WebSocketLayer {
  /** Sockets open now (their open hook ran, their close hook has not). */
  readonly open = new Set<SocketState>();
  readonly hooks: WebSocketHooks;
  #closing = false;
  #emptied: (() => void) | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;

  /** --ws auto: the hooks wrapped for crossws, and their per-upgrade calls. */
  readonly #crossws: CrosswsServing;
  /** --ws bun: what the Bun adapter serves instead of the wrapped hooks. */
  readonly #native: WebSocketServeOptions["native"];

  constructor(private readonly options: WebSocketLayerOptions) {
    this.#crossws = crosswsHooks(this, options);
    this.hooks = this.#crossws.hooks;
    const app = options.hooks as NativeHandlers;
    this.#native = options.native
      ? { socket: nativeWebSocket(this, app), options: nativeOptions(app) }
      : undefined;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** Shutting down: no new socket is accepted. */
  get closing(): boolean {
    return this.#closing;
  }

  /** What the adapter needs (ServeOptions.websocket). */
  serveOptions(): WebSocketServeOptions {
    const { maxMessageBytes, perMessageDeflate, pingIntervalSeconds, pingTimeoutSeconds } = this.options;
    return {
      ...this.#crossws,
      maxMessageBytes,
      perMessageDeflate,
      pingIntervalSeconds,
      pingTimeoutSeconds,
      native: this.#native,
    };
  }

  /** A socket's state, from its upgrade request on. */
  newState(client: ClientAddress): SocketState {
    return {
      app: this.options.hooks,
      client,
      label: "",
      holdsSlot: false,
      peer: undefined,
      closed: false,
      alive: true,
      pongDue: 0,
      nextPing: 0,
    };
  }

  /**
   * --ws bun: an upgrade the app's own fetch asked for (it ran behind tsuv's request handling, so
   * the client is after proxy headers and --limit-concurrency already admitted the request). The
   * socket's state, or null when shutting down (logged as uvicorn logs a refused upgrade).
   */
  admit(target: string, client: ClientAddress): SocketState | null {
    const state = this.newState(client);
    this.label(state, target);
    if (this.#closing) {
      this.options.logger.info(`${state.label} 503`);
      return null;
    }
    return state;
  }

  /** `127.0.0.1:50000 - "WebSocket /chat"`: the socket as uvicorn's log lines name it. */
  label(state: SocketState, target: string): void {
    state.label = `${clientLabel(state.client.hostname, state.client.port)} - "WebSocket ${target}"`;
  }

  /** A socket has opened: logged, and kept for keepalive and shutdown. */
  opened(state: SocketState, peer: SocketPeer): void {
    state.peer = peer;
    this.open.add(state);
    this.options.logger.info(`${state.label} [accepted]`);
    // Accepted while shutdown began: closed as the others were.
    if (this.#closing) closeQuietly(peer, SERVICE_RESTART);
  }

  /** A socket has closed (its close hook runs next): its slot is given back. */
  closed(state: SocketState, code: number | undefined, reason: string | undefined): void {
    if (state.closed) return;
    state.closed = true;
    this.open.delete(state);
    this.release(state);
    if (this.options.logger.enabled("debug")) {
      this.options.logger.debug(`${state.label} [closed ${code ?? "-"}${reason ? ` ${reason}` : ""}]`);
    }
    if (this.open.size === 0) this.#emptied?.();
  }

  /**
   * Ping from here (runtimes that cannot do it themselves): one timer for every socket, ticking
   * at a quarter of the shorter period (50 ms to 1 s), so a ping or a drop is at most that late.
   * Timed by the monotonic clock: a wall clock set back (NTP stepping it, a VM resumed) would hold
   * every ping back by as much, and one set forward would cut a socket whose pong is on its way.
   */
  startKeepalive(now: () => number = () => performance.now()): void {
    const intervalMs = this.options.pingIntervalSeconds * 1000;
    const timeoutMs = this.options.pingTimeoutSeconds * 1000;
    if (intervalMs <= 0 || this.#keepalive) return;
    const shorter = timeoutMs > 0 ? Math.min(intervalMs, timeoutMs) : intervalMs;
    const tickMs = Math.min(1000, Math.max(50, shorter / 4));
    this.#keepalive = setInterval(() => this.keepaliveTick(now(), intervalMs, timeoutMs), tickMs);
  }

  /** One keepalive pass (public for tests). */
  keepaliveTick(now: number, intervalMs: number, timeoutMs: number): void {
    for (const state of this.open) {
      const peer = state.peer as SocketPeer;
      if (state.nextPing === 0) state.nextPing = now + intervalMs;
      if (state.pongDue !== 0) {
        if (state.alive) state.pongDue = 0;
        else if (now >= state.pongDue) {
          this.options.logger.debug(`${state.label} [keepalive ping timeout]`);
          // Out of the set now, so the next tick does not cut it again; its close hook still runs.
          this.open.delete(state);
          this.#cut(state);
          continue;
        }
      }
      if (state.pongDue === 0 && now >= state.nextPing) {
        state.alive = false;
        state.nextPing = now + intervalMs;
        if (timeoutMs > 0) state.pongDue = now + timeoutMs;
        try {
          peer.ping();
        } catch {
          // A socket closing under us: its close hook follows.
        }
      }
    }
  }

  /**
   * Shutdown: no new upgrades; every open socket gets a 1012 close frame; resolves once all have
   * closed, or after CLOSE_GRACE_MS or `limitMs` (the drain's own limit), whichever is sooner,
   * cutting those left (a peer that never answers cannot hold it up).
   */
  async closeAll(limitMs: number): Promise<void> {
    const graceMs = Math.min(CLOSE_GRACE_MS, limitMs);
    this.#closing = true;
    this.#stopKeepalive();
    for (const state of this.open) closeQuietly(state.peer, SERVICE_RESTART);
    if (this.open.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#emptied = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.#emptied = undefined;
    }
    this.terminateAll();
  }

  /** Cut every socket left now (forced exit, or the graceful timeout ran out). */
  terminateAll(): void {
    this.#closing = true;
    this.#stopKeepalive();
    for (const state of this.open) this.#cut(state);
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  #cut(state: SocketState): void {
    try {
      state.peer?.terminate();
    } catch {
      // A peer that cannot be cut (an adapter without terminate()): closed instead.
      closeQuietly(state.peer, INTERNAL_ERROR);
    }
  }

  /** Gives back the --limit-concurrency slot the socket's upgrade took, if it took one. */
  release(state: SocketState): void {
    if (!state.holdsSlot) return;
    state.holdsSlot = false;
    this.options.concurrency?.release();
  }

  /**
   * A refused upgrade: its slot back, uvicorn's log line with the status, the default headers; a
   * 500 instead of a refusal the runtime's server cannot send (sendableResponse). A refusal the
   * hooks made with a replaced globalThis.Response (native-response.ts) or another fetch
   * implementation is adopted as the runtime's.
   */
  reject(state: SocketState, given: Response): Response {
    this.release(state);
    const { defaultHeaders, unsendableResponse, logger } = this.options;
    const response = isNativeResponse(given) ? given : (adoptForeignResponse(given) ?? internalServerError());
    let out = defaultHeaders ? defaultHeaders.apply(response) : response;
    if (unsendableResponse !== undefined)
      out = sendableResponse(out, unsendableResponse, logger, defaultHeaders);
    logger.info(`${state.label} ${out.status}`);
    return out;
  }

  /** Logs an exception from an app hook; the socket then closes with 1011 (as uvicorn's 500). */
  #hookFailed(name: string, peer: SocketPeer | undefined, error: unknown): void {
    this.options.logger.exception(`Exception in WebSocket ${name} hook`, error);
    if (name !== "close") closeQuietly(peer, INTERNAL_ERROR);
  }

  /** Calls an app hook; errors, thrown or rejected, go to #hookFailed. */
  call(name: string, peer: SocketPeer, run: () => unknown): void | Promise<void> {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      this.#hookFailed(name, peer, error);
      return;
    }
    if (result instanceof Promise) {
      return result.then(
        () => undefined,
        (error) => this.#hookFailed(name, peer, error),
      );
    }
  }

  /** The 101's headers: the app's, and uvicorn's defaults (server, date, --header) as on any response. */
  handshakeHeaders(extra: HeadersArg | undefined): HeadersArg | undefined {
    const { defaultHeaders } = this.options;
    if (!defaultHeaders) return extra;
    const headers = new Headers(extra);
    for (const [name, value] of defaultHeaders.entries()) if (!headers.has(name)) headers.append(name, value);
    return headers;
  }
}

function closeQuietly(peer: SocketPeer | undefined, code: number): void {
  try {
    peer?.close(code);
  } catch {
    // Already closing or closed.
  }
}

export function createWebSocketLayer(
  config: Pick<
    Config,
    "ws" | "wsMaxSize" | "wsPingInterval" | "wsPingTimeout" | "wsPerMessageDeflate" | "rootPath"
  >,
  hooks: WebSocketHooks,
  logger: Logger,
  /**
   * The HTTP side's headers, --limit-concurrency slots and trusted proxies (request-policy.ts), and
   * what the runtime cannot send (a fetch app's HandlerState).
   */
  shared: SharedPolicy & Pick<HandlerState, "unsendableResponse">,
  /** A fetch app's fetch: hooks with none of their own (`websocket: {}`) are taken from it. */
  fetch?: FetchHandler,
): WebSocketLayer {
  return new WebSocketLayer({
    hooks,
    logger,
    fetch,
    concurrency: shared.concurrency,
    defaultHeaders: shared.defaultHeaders,
    trusted: shared.trusted,
    rootPath: config.rootPath,
    maxMessageBytes: config.wsMaxSize,
    perMessageDeflate: config.wsPerMessageDeflate,
    pingIntervalSeconds: config.wsPingInterval,
    pingTimeoutSeconds: config.wsPingTimeout,
    native: config.ws === "bun",
    unsendableResponse: shared.unsendableResponse,
  });
}

/**
 * --ws none: upgrade requests reach the app's fetch as plain requests; the first one gets
 * uvicorn's warning (once: after it, the check costs one boolean per request).
 */
export function warnOnUpgrade(handler: FetchHandler, logger: Logger): FetchHandler {
  let warned = false;
  return (request, info) => {
    if (!warned && isWebSocketUpgrade(request)) {
      warned = true;
      logger.warning("Unsupported upgrade request: WebSocket support is off (--ws none).");
    }
    return handler(request, info);
  };
}
