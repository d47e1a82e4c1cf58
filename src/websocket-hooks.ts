/**
 * Where a fetch app's WebSocket hooks come from, beside src/websocket.ts, which serves them:
 * - its `websocket` object, as crossws hooks;
 * - per upgrade, `resolve(request)` (crossws's adapter option), or for an object with no hooks of
 *   its own (`websocket: {}`), what the app's fetch attaches to the upgrade (h3's
 *   defineWebSocketHandler), as crossws's `ws()` plugin reads them for srvx;
 * and what tsuv says when they are of the wrong kind: hooks fetch returned with nothing to serve
 * them, and hooks written for Bun.serve.
 */
import type { Logger } from "./logging.ts";
import { newResponse } from "./native-response.ts";
import type { ClientAddress, FetchHandler, WebSocketHooks } from "./runtime/adapter.ts";

/** crossws's hook names: an object with none of them is no hooks of its own. */
const HOOK_NAMES = ["upgrade", "open", "message", "close", "error", "drain", "ping", "pong"] as const;

/** Each upgrade's own hooks, or the Response that refuses it; `name` says who failed if it throws. */
export interface HooksResolver {
  readonly name: string;
  resolve(request: Request, client: ClientAddress): Promise<WebSocketHooks | Response>;
}

/**
 * How an app's `websocket` object gives hooks per upgrade, or undefined when it is the hooks: its
 * `resolve` (none found is a 404), or for an object with no hook of its own (`websocket: {}`) the
 * app's fetch (hooksFromFetch), when there is one.
 */
export function hooksResolver(
  hooks: WebSocketHooks,
  fetch: FetchHandler | undefined,
): HooksResolver | undefined {
  const resolve = hooks.resolve;
  if (resolve) {
    return {
      name: "WebSocket resolve hook",
      resolve: async (request) =>
        // No hooks for this URL (h3: a route without a WebSocket handler): nothing to open.
        (await resolve.call(hooks, request)) ?? newResponse("Not Found", { status: 404 }),
    };
  }
  if (!fetch || HOOK_NAMES.some((name) => typeof hooks[name] === "function")) return undefined;
  return { name: "fetch handler", resolve: (request, client) => hooksFromFetch(fetch, request, client) };
}

/** Where crossws's `setWebSocketHooks(request, hooks)` puts them (h3 does, beside `response.crossws`). */
const REQUEST_HOOKS = Symbol.for("crossws.hooks");

type HooksCarrier = { [REQUEST_HOOKS]?: WebSocketHooks; context?: { [REQUEST_HOOKS]?: WebSocketHooks } };

/**
 * The hooks the app's fetch gives an upgrade request, read as crossws's server plugin does: set on
 * the request (which survives a middleware that rebuilds the response), or as the response's
 * `crossws` (what h3's defineWebSocketHandler returns; it may be a promise). Without any, the
 * app's response itself, to refuse the upgrade with.
 */
async function hooksFromFetch(
  fetch: FetchHandler,
  request: Request,
  client: ClientAddress,
): Promise<WebSocketHooks | Response> {
  const response = await fetch(request, { remoteAddr: client });
  const carrier = request as Request & HooksCarrier;
  const hooks =
    carrier[REQUEST_HOOKS] ??
    carrier.context?.[REQUEST_HOOKS] ??
    (await (response as Response & { crossws?: WebSocketHooks | Promise<WebSocketHooks> }).crossws);
  if (!hooks) return response;
  // The body of a 426 nobody will read.
  response.body?.cancel().catch(() => {});
  return hooks;
}

/**
 * For an app without WebSocket hooks (--ws auto): the request handler calls this with each response
 * that carries crossws hooks (h3's defineWebSocketHandler), which go out as a bare 426; the first
 * one gets a warning naming the line that serves them.
 */
export function unservedHooksWarning(logger: Logger): () => void {
  let warned = false;
  return () => {
    if (warned) return;
    warned = true;
    logger.warning(
      "The app's fetch returned WebSocket hooks (a Response with `crossws`, as h3's defineWebSocketHandler makes), but the app exports no `websocket` to serve them: add `websocket: {}` beside fetch, and tsuv takes each upgrade's hooks from fetch (docs/websockets.md).",
    );
  };
}

/** `peer.data` read by hooks written for Bun's websocket handlers (see #wrap's open). */
export function bunDataMissing(): never {
  throw new TypeError(
    "ws.data: these WebSocket hooks were written for Bun.serve (ServerWebSocket.data, server.upgrade(req, { data })). On Bun, run tsuv with --ws bun to serve them as Bun.serve does; --ws auto serves a `websocket` object as crossws hooks: open(peer), message(peer, message), close(peer, { code, reason }); see docs/websockets.md.",
  );
}
