/**
 * WebSockets on Deno: Deno.upgradeWebSocket through crossws's Deno adapter, with what that adapter
 * leaves out. Facts this file relies on (Deno 2.9.6, Linux; test/websocket.test.ts checks them):
 * - Server sockets cannot ping from JS (no ping(), no terminate()); `idleTimeout` is Deno's own
 *   keepalive: a ping after half of it without traffic, a close (1001) after all of it. So it is
 *   set to --ws-ping-interval + --ws-ping-timeout, and RunningServer.nativeKeepalive tells the core.
 * - No message size option (denoland/deno#15809, open): a message is received whole (up to Deno's
 *   own cap, beyond which the connection fails: a 70 MiB one does on 2.9.6) and then, over
 *   --ws-max-size, closed with 1009.
 * - No permessage-deflate (denoland/deno#7681): --ws-per-message-deflate has no effect.
 * - crossws's Deno adapter calls the close hook without the code; the socket's own close event
 *   has it, so the close hook is called from there. A connection that ended without a close frame
 *   (the client dropped it) has code 0 there; RFC 6455 7.1.5 calls that 1006, as Node and Bun say.
 * - `server.shutdown()` cuts open sockets without a close frame: the core closes them (1012) first.
 */
import type { Message, Peer } from "crossws";
import denoAdapter from "crossws/adapters/deno";
import { newResponse } from "../native-response.ts";
import { isWebSocketUpgrade } from "../websocket-handshake.ts";
import type { RequestInfo, WebSocketHooks, WebSocketServeOptions } from "./adapter.ts";

const MESSAGE_TOO_BIG = 1009;
/** RFC 6455 7.1.5: the connection closed without a close frame. */
const ABNORMAL_CLOSURE = 1006;

export interface DenoWebSocket {
  /** Answers the request if it is an upgrade (101, or the refusal); null for any other request. */
  maybeUpgrade(request: Request, info: RequestInfo): Promise<Response> | null;
}

/** UTF-8 length of a string, counted only when its length alone cannot settle the question. */
function exceeds(data: unknown, limit: number): boolean {
  if (typeof data === "string") {
    if (data.length * 3 <= limit) return false;
    if (data.length > limit) return true;
    let bytes = 0;
    for (let i = 0; i < data.length; i++) {
      const c = data.charCodeAt(i);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c <= 0xdbff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    }
    return bytes > limit;
  }
  if (data instanceof ArrayBuffer) return data.byteLength > limit;
  if (ArrayBuffer.isView(data)) return data.byteLength > limit;
  if (data instanceof Blob) return data.size > limit;
  return false;
}

/** The Deno WebSocket under a crossws peer (crossws 0.4 keeps it in `_internal.ws`). */
function rawSocket(peer: Peer): EventTarget | undefined {
  return (peer as unknown as { _internal?: { ws?: EventTarget } })._internal?.ws;
}

export function denoWebSocket(options: WebSocketServeOptions): DenoWebSocket {
  const { hooks, maxMessageBytes, pingIntervalSeconds, pingTimeoutSeconds } = options;
  const closeFromSocket = new WeakSet<Peer>();
  const glued: WebSocketHooks = {
    ...hooks,
    open(peer) {
      const socket = rawSocket(peer);
      if (socket) {
        closeFromSocket.add(peer);
        // crossws's DenoPeer.terminate() calls the socket's terminate(), which Deno's does not have:
        // the app got a TypeError (logged as its hook's exception, then 1011). Deno cannot drop the
        // connection from JS, so terminate() closes it at once with a close frame instead.
        (peer as { terminate(): void }).terminate = () => (socket as WebSocket).close();
        socket.addEventListener("close", (event) => {
          const { code, reason } = event as Event & { code: number; reason: string };
          hooks.close?.(peer, { code: code === 0 ? ABNORMAL_CLOSURE : code, reason });
        });
      }
      return hooks.open?.(peer);
    },
    close(peer, details) {
      // Called by crossws without the code; the socket's own listener (above) reports it.
      if (!closeFromSocket.has(peer)) return hooks.close?.(peer, details);
      return undefined;
    },
    message(peer: Peer, message: Message) {
      if (exceeds(message.rawData, maxMessageBytes)) {
        peer.close(MESSAGE_TOO_BIG, "Message too big");
        return undefined;
      }
      return hooks.message?.(peer, message);
    },
  };
  const idleTimeout =
    pingIntervalSeconds > 0 && pingTimeoutSeconds > 0 ? pingIntervalSeconds + pingTimeoutSeconds : 0;
  const adapter = denoAdapter({ hooks: glued, idleTimeout } as Parameters<typeof denoAdapter>[0]);

  const upgrade = async (request: Request, info: RequestInfo): Promise<Response> => {
    const context = options.context(info.remoteAddr);
    (request as Request & { context?: unknown }).context = context;
    try {
      const response = await adapter.handleUpgrade(request, info);
      if (response.status !== 101) options.upgradeFailed(context);
      return response;
    } catch {
      // Deno.upgradeWebSocket refused the request (headers the core's checks let through).
      options.upgradeFailed(context);
      return newResponse("Bad Request", { status: 400, headers: { connection: "close" } });
    }
  };
  return {
    maybeUpgrade: (request, info) => (isWebSocketUpgrade(request) ? upgrade(request, info) : null),
  };
}
