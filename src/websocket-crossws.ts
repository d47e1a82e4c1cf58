/**
 * crossws hooks (`upgrade`, `open`, `message`, `close`, `error`, ...), the app's `websocket` under
 * --ws auto, wrapped for the adapter's crossws adapter (src/runtime/ws-*.ts):
 * - upgrade: proxy headers (the peer and scheme the hooks see), handshake checks, refusal while
 *   shutting down, --limit-concurrency (an open socket holds a slot until it closes), per-upgrade
 *   hooks (`resolve`, or fetch's for `websocket: {}`), the app's upgrade hook, and the default
 *   headers on the handshake response;
 * - every other hook: the layer's bookkeeping (src/websocket.ts), then the app's hook.
 * A socket's state lives in crossws's peer context, which crossws starts from the upgrade
 * request's `context` (the adapter sets it from WebSocketServeOptions.context).
 */
import type { Message, Peer, PeerContext } from "crossws";
import type { DefaultHeaders } from "./middleware/default-headers.ts";
import { type ConcurrencyLimit, serviceUnavailable } from "./middleware/limits.ts";
import { applyProxyHeaders, type TrustedHosts } from "./middleware/proxy-headers.ts";
import { withRootPathUrl } from "./middleware/root-path.ts";
import { newResponse } from "./native-response.ts";
import { requestTarget, withScheme } from "./request-handler.ts";
import { withUrl } from "./request-url.ts";
import type {
  ClientAddress,
  FetchHandler,
  WebSocketHooks,
  WebSocketServeOptions,
} from "./runtime/adapter.ts";
import type { HeadersArg, SocketState, WebSocketLayer } from "./websocket.ts";
import { handshakeProblem } from "./websocket-handshake.ts";
import { bunDataMissing, hooksResolver } from "./websocket-hooks.ts";

/** Where a socket's state lives: in crossws's peer context, under a key no app can collide with. */
const STATE: unique symbol = Symbol("tsuv.websocket");

type ContextWithState = PeerContext & { [STATE]?: SocketState };

function stateOf(context: PeerContext | undefined): SocketState | undefined {
  return (context as ContextWithState | undefined)?.[STATE];
}

export interface CrosswsOptions {
  /** The app's hooks. */
  hooks: WebSocketHooks;
  /** The app's fetch, for hooks with none of their own (`websocket: {}`, see websocket-hooks.ts). */
  fetch?: FetchHandler;
  concurrency: ConcurrencyLimit | null;
  trusted: TrustedHosts | null;
  defaultHeaders: DefaultHeaders | null;
  /** --root-path, put in front of the path the upgrade hook sees (and the log line shows). */
  rootPath?: string;
}

/** The wrapped hooks, and the per-upgrade calls of WebSocketServeOptions that go with them. */
export type CrosswsServing = Pick<WebSocketServeOptions, "hooks" | "context" | "upgradeFailed">;

export function crosswsHooks(layer: WebSocketLayer, options: CrosswsOptions): CrosswsServing {
  const { hooks: app, trusted, concurrency, defaultHeaders, rootPath } = options;
  const logger = layer.logger;
  /** Where each upgrade's own hooks come from (`resolve`, or `websocket: {}` and fetch), if anywhere. */
  const resolver = hooksResolver(app, options.fetch);

  const upgrade = async (request: Request): Promise<unknown> => {
    const context = (request as Request & { context?: PeerContext }).context;
    let state = stateOf(context);
    if (!state) {
      // An adapter that did not call context(): still served, with no peer address.
      state = layer.newState({ hostname: "", port: 0 });
    }

    let forwarded = request;
    if (trusted && (request.headers.has("x-forwarded-for") || request.headers.has("x-forwarded-proto"))) {
      const proxied = applyProxyHeaders(request, state.client, trusted);
      state.client = proxied.client;
      if (proxied.scheme) {
        forwarded = withScheme(request, proxied.scheme);
        if (forwarded !== request) (forwarded as Request & { context?: PeerContext }).context = context;
      }
    }
    if (rootPath) {
      forwarded = withUrl(forwarded, withRootPathUrl(forwarded.url, rootPath));
      (forwarded as Request & { context?: PeerContext }).context = context;
    }
    layer.label(state, requestTarget(forwarded.url));

    if (layer.closing) return layer.reject(state, serviceUnavailable());
    const problem = handshakeProblem(request);
    if (problem) return layer.reject(state, problem);
    if (concurrency) {
      if (!concurrency.acquire()) return layer.reject(state, serviceUnavailable());
      state.holdsSlot = true;
    }

    let result: unknown;
    let failing = "WebSocket upgrade hook";
    try {
      if (resolver) {
        failing = resolver.name;
        const found = await resolver.resolve(forwarded, state.client);
        // No hooks for this URL: refused, with the app's own answer for it when fetch gave one.
        if (found instanceof Response) return layer.reject(state, found);
        state.app = found;
        failing = "WebSocket upgrade hook";
      }
      result = state.app.upgrade ? await state.app.upgrade(forwarded) : undefined;
    } catch (error) {
      // crossws lets an upgrade hook throw a Response (or an error carrying one) to refuse.
      const response = error instanceof Response ? error : (error as { response?: unknown })?.response;
      if (response instanceof Response) return layer.reject(state, response);
      logger.exception(`Exception in ${failing}`, error);
      return layer.reject(state, newResponse("Internal Server Error", { status: 500 }));
    }
    if (result instanceof Response) return layer.reject(state, result);
    if (!defaultHeaders) return result;
    const extra = result as { headers?: HeadersArg } | undefined;
    return { ...extra, headers: layer.handshakeHeaders(extra?.headers) };
  };

  // With `resolve`, each socket has its own hooks (SocketState.app); without, every socket has
  // the app's, and the message hot path does not look them up.
  const resolving = resolver !== undefined;
  const appOf = (state: SocketState | undefined): WebSocketHooks => state?.app ?? app;
  const hooks: WebSocketHooks = {
    upgrade: (request) => upgrade(request) as ReturnType<NonNullable<WebSocketHooks["upgrade"]>>,
    open: (peer) => {
      const state = stateOf(peer.context);
      if (state) {
        // crossws reads the address off the socket: the hooks see the client proxy headers found.
        Object.defineProperty(peer, "remoteAddress", { value: state.client.hostname, configurable: true });
        // Hooks written for Bun.serve (hono/bun's `websocket`, Elysia, `server.upgrade(req, { data })`)
        // read Bun's ServerWebSocket.data: say what is wrong instead of "undefined is not an object".
        if (!("data" in peer))
          Object.defineProperty(peer, "data", { get: bunDataMissing, configurable: true });
        layer.opened(state, peer);
      }
      const target = appOf(state);
      return target.open ? layer.call("open", peer, () => target.open?.(peer)) : undefined;
    },
    // The hot path: nothing but the app's hook (a pong, not a message, proves a peer alive).
    message: resolving
      ? (peer: Peer, message: Message) => {
          const target = appOf(stateOf(peer.context));
          if (!target.message) return undefined;
          return layer.call("message", peer, () => target.message?.(peer, message));
        }
      : (peer: Peer, message: Message) => {
          if (!app.message) return undefined;
          return layer.call("message", peer, () => app.message?.(peer, message));
        },
    close: (peer, details) => {
      const state = stateOf(peer.context);
      if (state) layer.closed(state, details.code, details.reason);
      const target = appOf(state);
      return target.close ? layer.call("close", peer, () => target.close?.(peer, details)) : undefined;
    },
    error: (peer, error) => {
      const state = stateOf(peer.context);
      logger.debug(`${state?.label ?? "WebSocket"} error: ${error.message}`);
      const target = appOf(state);
      return target.error ? layer.call("error", peer, () => target.error?.(peer, error)) : undefined;
    },
    ping: (peer, message) => {
      const state = stateOf(peer.context);
      if (state) state.alive = true;
      const target = appOf(state);
      return target.ping ? layer.call("ping", peer, () => target.ping?.(peer, message)) : undefined;
    },
    pong: (peer, message) => {
      const state = stateOf(peer.context);
      if (state) state.alive = true;
      const target = appOf(state);
      return target.pong ? layer.call("pong", peer, () => target.pong?.(peer, message)) : undefined;
    },
  };
  if (resolving) hooks.drain = (peer) => appOf(stateOf(peer.context)).drain?.(peer);
  else if (app.drain) hooks.drain = app.drain;

  return {
    hooks,
    context: (remoteAddr: ClientAddress) => ({ [STATE]: layer.newState(remoteAddr) }) as ContextWithState,
    upgradeFailed: (context: PeerContext) => {
      const state = stateOf(context);
      if (state && !state.peer) layer.release(state);
    },
  };
}
