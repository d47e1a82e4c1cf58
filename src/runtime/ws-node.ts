/**
 * Upgrades on a node:http server: Node.js serving either app interface, and Bun or Deno serving a
 * node-interface app (their node:http emits 'upgrade' with a usable socket, checked by
 * test/websocket.test.ts). Only node:* modules and crossws, so every runtime can use it.
 * - WebSocket hooks: crossws's Node adapter, which bundles `ws` (`maxPayload`: a larger message
 *   closes with 1009; permessage-deflate negotiated when asked). Its own keepalive sweep is off
 *   (`idleTimeout: 0`): the core pings through peer.ping() with the configured periods.
 * - A node-interface app's own `upgrade(req, socket, head)` (e.g. `ws` in noServer mode) is
 *   attached as is: the app owns those sockets and their limits. When the server closes they are
 *   cut (`cutUpgraded`), as Node's own drain does: Bun's and Deno's http.Server.close() would wait
 *   for them until the graceful timeout.
 * - Neither: no 'upgrade' listener, so node:http hands upgrade requests to the request listener as
 *   plain requests (the app answers them, as uvicorn's --ws none).
 */
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { _nodeAdapter } from "crossws/adapters/node";
import { FORBIDDEN_METHOD } from "../request-url.ts";
import { DEFLATE_FROM_BYTES, type NodeUpgradeListener, type WebSocketServeOptions } from "./adapter.ts";
import { nodeHttp, nodeProcess } from "./builtin.ts";
import { requestUrl } from "./node-request-url.ts";

export interface UpgradeOptions {
  websocket?: WebSocketServeOptions;
  nodeUpgrade?: NodeUpgradeListener;
  onError?: (error: unknown) => void;
}

/** A refusal written on the raw socket (no HTTP response object exists for an upgrade). */
function refuse(socket: Duplex, status: 400, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** Is this upgrade a WebSocket one? (node:http emits 'upgrade' only with `Connection: upgrade`.) */
function isWebSocket(req: IncomingMessage): boolean {
  return req.headers.upgrade?.toLowerCase() === "websocket";
}

/**
 * A request node:http took for an upgrade, answered as a plain one by the server's own request
 * listener (Node 20, which has no shouldUpgradeCallback), on a response tied to its socket and
 * closed after it: node:http no longer parses that connection. Only a request without a body: an
 * upgrade's body is left on the socket unparsed, and refusing it beats losing it. False where it
 * cannot be done (a body; Bun's and Deno's node:http, whose sockets are not Node's).
 */
function servePlain(server: Server, req: IncomingMessage, socket: Duplex): boolean {
  const versions = nodeProcess().versions;
  if (versions.bun !== undefined || versions.deno !== undefined) return false;
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0"))
    return false;
  // Got on first use: a static import of node:http is paid by every start of the Node bundle.
  const res = new (nodeHttp().ServerResponse)(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once("finish", () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  req.push(null);
  server.emit("request", req, res);
  return true;
}

/**
 * The request crossws and the hooks see: a real Request, built once per upgrade, with the method
 * sent (the handshake check refuses all but GET, as on Bun and Deno; TRACE and TRACK, which the
 * constructor refuses, are not a handshake either).
 */
function toRequest(req: IncomingMessage, secure: boolean): Request | undefined {
  if ((req.url ?? "/").charCodeAt(0) !== 47 /* / */) return undefined;
  const method = req.method ?? "GET";
  if (FORBIDDEN_METHOD.test(method)) return undefined;
  // Built as a plain request's is: a Host that is no authority gives way to the local address.
  const url = requestUrl(req, secure);
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i] as string, raw[i + 1] as string);
    } catch {
      // A header undici refuses (node:http is more lenient): not one the handshake needs.
    }
  }
  return new Request(url, { method, headers });
}

/**
 * permessage-deflate as the server example in ws's README sets it, not ws's bare defaults, which compress
 * every message (a 32-byte echo too) with a 15-bit window kept per socket: that made a WebSocket
 * echo on Node 3x slower than uncompressed (scripts/bench/ws-client.ts, 50 sockets, 32-byte
 * messages: 60.8k against 184.9k round trips in 5 s). Messages under 1 KiB go out uncompressed, larger
 * ones compressed without the server's context kept between them, at zlib level 3 with a smaller
 * memLevel. Bun.serve negotiates server_no_context_takeover too; clients' messages still inflate.
 */
const PER_MESSAGE_DEFLATE = {
  serverNoContextTakeover: true,
  threshold: DEFLATE_FROM_BYTES,
  zlibDeflateOptions: { level: 3, memLevel: 7, chunkSize: 1024 },
};

export interface Upgrades {
  /** Destroy the sockets an app's own upgrade handler took (server shutdown). */
  cutUpgraded(): void;
}

export function attachUpgrades(server: Server, options: UpgradeOptions, secure: boolean): Upgrades {
  const appOwned = new Set<Duplex>();
  const upgrades: Upgrades = {
    cutUpgraded() {
      for (const socket of appOwned) socket.destroy();
    },
  };
  const nodeUpgrade = options.nodeUpgrade;
  if (nodeUpgrade) {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      appOwned.add(socket);
      socket.once("close", () => appOwned.delete(socket));
      nodeUpgrade(req, socket, head);
    });
    return upgrades;
  }
  const websocket = options.websocket;
  if (!websocket) return upgrades;
  const adapter = _nodeAdapter({
    hooks: websocket.hooks,
    idleTimeout: 0,
    serverOptions: {
      maxPayload: websocket.maxMessageBytes,
      perMessageDeflate: websocket.perMessageDeflate ? PER_MESSAGE_DEFLATE : false,
    },
  } as Parameters<typeof _nodeAdapter>[0]);

  // Any other upgrade (curl --http2's and Java's HttpClient's h2c offer) is a plain request, as
  // uvicorn, Bun and Deno serve it: Node 22.21+ and 24.9+ let the server say which requests are
  // upgrades before node:http hands them to 'upgrade'. Older ones hand them over: see servePlain().
  const upgradable = server as Server & { shouldUpgradeCallback?: (req: IncomingMessage) => boolean };
  const choosesUpgrades = typeof upgradable.shouldUpgradeCallback === "function";
  if (choosesUpgrades) upgradable.shouldUpgradeCallback = isWebSocket;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isWebSocket(req)) {
      if (!choosesUpgrades && servePlain(server, req, socket)) return;
      refuse(socket, 400, "Unsupported upgrade");
      return;
    }
    const request = toRequest(req, secure);
    if (!request) {
      refuse(socket, 400, "Bad Request");
      return;
    }
    const tcp = socket as Socket;
    const context = websocket.context({ hostname: tcp.remoteAddress ?? "", port: tcp.remotePort ?? 0 });
    (request as Request & { context?: unknown }).context = context;
    // A socket gone before its WebSocket opened gives back what the upgrade reserved.
    socket.once("close", () => websocket.upgradeFailed(context));
    adapter.handleUpgrade(req, socket, head, request).catch((error: unknown) => {
      options.onError?.(error);
      socket.destroy();
    });
  });
  return upgrades;
}
