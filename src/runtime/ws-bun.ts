/**
 * WebSockets on Bun: Bun.serve's own (uWebSockets) through crossws's Bun adapter. Facts this file
 * relies on (Bun 1.4.5, Linux; test/websocket.test.ts checks them):
 * - `maxPayloadLength`: a larger message closes the socket; the client gets 1009, the close hook
 *   sees 1006 "Received too big message".
 * - `perMessageDeflate: true` negotiates permessage-deflate (with server_no_context_takeover), but
 *   a message goes out compressed only when `send`/`publish` are asked to (their `compress`
 *   argument), and crossws asks only when the app says so.
 * - `idleTimeout: 0` with `sendPings: false` turns Bun's keepalive off: the core pings instead
 *   (uWebSockets' own moves in 4 s steps and drops a peer 4 to 16 s after its ping, so a 1 s
 *   timeout cannot be had from it).
 * - `server.stop(false)` waits for open sockets, so the core closes them (1012) before close().
 */
// crossws's Bun types import Bun's own ("bun"), whose globals break `deno check` of the other
// runtime files: Deno reads this file's types from ws-bun-types.d.ts instead.
// @ts-types="./ws-bun-types.d.ts"
import bunAdapter from "crossws/adapters/bun";
import { isWebSocketUpgrade } from "../websocket-handshake.ts";
import { type ClientAddress, DEFLATE_FROM_BYTES, type WebSocketServeOptions } from "./adapter.ts";

/** The part of Bun.serve's `websocket` option set here. */
interface BunWebSocketOption {
  maxPayloadLength: number;
  perMessageDeflate: boolean;
  idleTimeout: number;
  sendPings: boolean;
}

export interface BunWebSocket {
  /** Bun.serve's `websocket` option. */
  readonly handler: BunWebSocketOption;
  /** Answers the request if it is an upgrade (a Promise: a Response if refused, else undefined). */
  maybeUpgrade(request: Request, server: unknown): Promise<Response | undefined> | null;
}

/** Bun's keepalive off, the core pings instead (see the facts above); the limits from the flags. */
function limits(options: WebSocketServeOptions): BunWebSocketOption {
  return {
    maxPayloadLength: options.maxMessageBytes,
    perMessageDeflate: options.perMessageDeflate,
    idleTimeout: 0,
    sendPings: false,
  };
}

/**
 * --ws bun: Bun.serve's `websocket` option from the app's own object. Its Bun options pass
 * through (backpressureLimit, publishToSelf, ...) except those tsuv has flags for, and its
 * handlers are the wrapped ones (src/websocket-native.ts).
 */
export function bunNativeWebSocket(
  options: WebSocketServeOptions,
  native: NonNullable<WebSocketServeOptions["native"]>,
): object {
  return { ...native.options, ...native.socket.handlers, ...limits(options) };
}

/** The part of Bun's ServerWebSocket that compressLarge() wraps. */
interface SendingSocket {
  data?: { request?: Request };
  send(data: BufferLike, compress?: boolean): number;
  publish(topic: string, data: BufferLike, compress?: boolean): number;
}
type BufferLike = string | ArrayBuffer | ArrayBufferView;

/** Bytes for binary data; UTF-16 units for a string (never more than its UTF-8 bytes). */
function large(data: BufferLike): boolean {
  return (typeof data === "string" ? data.length : data.byteLength) >= DEFLATE_FROM_BYTES;
}

/**
 * A socket whose client negotiated permessage-deflate compresses messages from
 * DEFLATE_FROM_BYTES, as on Node, where Bun would send everything as it is; the app's own
 * `compress` (crossws passes it through) still decides when given.
 */
function compressLarge(ws: SendingSocket): void {
  const offered = ws.data?.request?.headers.get("sec-websocket-extensions");
  if (!offered?.includes("permessage-deflate")) return;
  const { send, publish } = ws;
  ws.send = (data, compress) => send.call(ws, data, compress ?? large(data));
  ws.publish = (topic, data, compress) => publish.call(ws, topic, data, compress ?? large(data));
}

export function bunWebSocket(
  options: WebSocketServeOptions,
  peerOf: (request: Request, server: unknown) => ClientAddress,
): BunWebSocket {
  const adapter = bunAdapter({ hooks: options.hooks, idleTimeout: 0 } as Parameters<typeof bunAdapter>[0]);
  const handler = { ...adapter.websocket, ...limits(options) };
  if (options.perMessageDeflate) {
    const open = handler.open;
    handler.open = (ws) => {
      compressLarge(ws as unknown as SendingSocket);
      return open?.(ws);
    };
  }
  const upgrade = async (request: Request, server: unknown): Promise<Response | undefined> => {
    const context = options.context(peerOf(request, server));
    (request as Request & { context?: unknown }).context = context;
    const refused = await adapter.handleUpgrade(
      request,
      server as Parameters<typeof adapter.handleUpgrade>[1],
    );
    // A Response: refused by the hooks (already accounted for) or by Bun ("Upgrade failed").
    if (refused) options.upgradeFailed(context);
    return refused;
  };
  return {
    handler,
    maybeUpgrade: (request, server) => (isWebSocketUpgrade(request) ? upgrade(request, server) : null),
  };
}
