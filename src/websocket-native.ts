/**
 * --ws bun: the app's own Bun.serve `websocket` handlers, for apps whose fetch upgrades with
 * `server.upgrade(request, { data })` (hono/bun's upgradeWebSocket, handlers written for Bun.serve).
 * The Bun adapter gives Bun.serve these handlers wrapped here, so the sockets get what crossws hooks
 * get from src/websocket.ts: the [accepted] and [closed] lines, the default headers on the 101,
 * keepalive pings and drops, 1012 at shutdown, and 1011 with a logged stack when a handler throws.
 *
 * Nothing here calls Bun; only the handlers' signatures are Bun's: open(ws), message(ws, message),
 * close(ws, code, reason), drain(ws), ping(ws, data), pong(ws, data), where `ws.data` is what the
 * app passed to server.upgrade(). tsuv passes its own record as that data and puts the app's back
 * in open, before any handler of the app's runs (Bun's `data` is writable and each socket keeps one
 * ServerWebSocket object for all its callbacks; test/websocket-bun.test.ts checks both).
 */
import { requestTarget } from "./request-handler.ts";
import type { ClientAddress } from "./runtime/adapter.ts";
import type { HeadersArg, SocketPeer, SocketState, WebSocketLayer } from "./websocket.ts";

/** A Bun ServerWebSocket, as much of it as is used here. */
export interface NativeSocket extends SocketPeer {
  data: unknown;
}

type Handler = (ws: NativeSocket, ...args: never[]) => unknown;

/** The app's `websocket` object: Bun's handlers, and Bun's options beside them (passed on). */
export type NativeHandlers = Record<string, unknown>;

/** server.upgrade()'s second argument, as the app gives it and as tsuv passes it on. */
export interface NativeUpgradeOptions {
  data?: unknown;
  headers?: HeadersArg;
}

/** What tsuv passes as the socket's data until open() hands the app its own. */
interface Pending {
  readonly state: SocketState;
  readonly data: unknown;
  /** Called once the socket closes: the upgrading request's --limit-concurrency slot. */
  readonly onClosed: (() => void) | undefined;
}

export interface NativeWebSocket {
  /** The wrapped handlers (Bun.serve's `websocket` takes them over the app's). */
  readonly handlers: Record<string, Handler>;
  /**
   * For server.upgrade() called by the app: the options to pass Bun (tsuv's data, the 101's
   * headers with the defaults added), or null when refused (shutting down).
   */
  upgradeOptions(
    /** The upgraded request's url, for the log line. */
    url: string,
    client: ClientAddress,
    options: NativeUpgradeOptions | undefined,
    onClosed?: () => void,
  ): NativeUpgradeOptions | null;
}

/** The handlers Bun.serve's `websocket` option takes; its other keys are options. */
export const HANDLERS = ["open", "message", "close", "drain", "ping", "pong"] as const;

/** The names among the app's that are not handlers: Bun's options (backpressureLimit, ...). */
export function nativeOptions(app: NativeHandlers): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(app)) {
    if (!(HANDLERS as readonly string[]).includes(name)) options[name] = value;
  }
  return options;
}

export function nativeWebSocket(layer: WebSocketLayer, app: NativeHandlers): NativeWebSocket {
  const handler = (name: (typeof HANDLERS)[number]): Handler | undefined =>
    typeof app[name] === "function" ? (app[name] as Handler).bind(app) : undefined;
  const open = handler("open");
  const message = handler("message");
  const close = handler("close");
  const drain = handler("drain");
  const ping = handler("ping");
  const pong = handler("pong");
  const sockets = new WeakMap<NativeSocket, Pending>();

  const handlers: NativeWebSocket["handlers"] = {
    open(ws) {
      const pending = ws.data as Pending;
      const { state } = pending;
      ws.data = pending.data;
      sockets.set(ws, pending);
      // The app reads the client as proxy headers named it, as crossws hooks do.
      if (state.client.hostname !== "")
        Object.defineProperty(ws, "remoteAddress", { value: state.client.hostname, configurable: true });
      layer.opened(state, ws);
      return open ? layer.call("open", ws, () => open(ws)) : undefined;
    },
    // The hot path: the app's handler, and nothing else (Bun wants one even if the app has none).
    message: message
      ? (ws, data: never) => layer.call("message", ws, () => message(ws, data))
      : () => undefined,
    close(ws, code: never, reason: never) {
      const pending = sockets.get(ws);
      if (pending) {
        sockets.delete(ws);
        layer.closed(pending.state, code, reason);
        pending.onClosed?.();
      }
      return close ? layer.call("close", ws, () => close(ws, code, reason)) : undefined;
    },
    // A ping or a pong from the peer proves it alive (keepalive, src/websocket.ts).
    ping(ws, data: never) {
      const pending = sockets.get(ws);
      if (pending) pending.state.alive = true;
      return ping ? layer.call("ping", ws, () => ping(ws, data)) : undefined;
    },
    pong(ws, data: never) {
      const pending = sockets.get(ws);
      if (pending) pending.state.alive = true;
      return pong ? layer.call("pong", ws, () => pong(ws, data)) : undefined;
    },
  };
  if (drain) handlers.drain = (ws) => layer.call("drain", ws, () => drain(ws));

  return {
    handlers,
    upgradeOptions(url, client, options, onClosed) {
      const state = layer.admit(requestTarget(url), client);
      if (state === null) return null;
      const pending: Pending = { state, data: options?.data, onClosed };
      return { data: pending, headers: layer.handshakeHeaders(options?.headers) };
    },
  };
}
