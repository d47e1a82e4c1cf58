/**
 * serve() on Node.js: node:http (node:https with TLS) for both app interfaces, listening on TCP, a
 * unix socket or an inherited fd, with uvicorn's graceful close.
 *
 * The fetch bridge calls the app with a lazy Request (node-request.ts) and writes its Response
 * straight to node:http (node-response.ts), with its RequestInfo (node-request-info.ts); see
 * node-globals.ts for why the app's `Response` is ours. Errors the app throws are the caller's to handle (server.ts wraps the handler: 500 and a
 * logged stack); this file only makes sure a failure of the bridge itself answers 500, reaches
 * `onError`, and never takes the process down.
 *
 * Graceful close, as uvicorn does it: stop accepting; close idle keep-alive connections at once;
 * let each in-flight response finish, then close its connection (a response still to be started
 * says `connection: close`); resolve when the last connection is gone. node:http's own parser
 * limits stay as they are (strict parsing, 16 KiB of headers, then 431).
 */

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { type AddressInfo, isIPv4, Server as NetServer, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { portableAppServer } from "../app-server.ts";
import { ConfigError } from "../errors.ts";
import type { BoundAddress, RequestInfo, RunningServer, ServeOptions } from "./adapter.ts";
import { bareHost, bindError, unixBindError } from "./bind-error.ts";
import { nodeHttps as https, nodeHttp } from "./builtin.ts";
import { checkInheritedSocket, inheritedSocketError } from "./inherited-socket.ts";
import type { ServerHandle } from "./node-fd-dup.ts";
import { installFastGlobals } from "./node-globals.ts";
import { NodeRequest } from "./node-request.ts";
import { requestInfo, trackedRequestInfo } from "./node-request-info.ts";
import { servableTarget } from "./node-request-url.ts";
import { responseParts } from "./node-response.ts";
import { writeResponse } from "./node-response-writer.ts";
import { boundIPv4Handle } from "./node-socket.ts";
import { NODE_ALPN, plainTls } from "./tls-key.ts";
import { claimSocketPath, makeSocketWorldWritable, removeSocketFile } from "./unix-socket.ts";

/** `listen({ reusePort })` exists from Node 22.12 / 23.1 (Linux, FreeBSD). */
export function nodeHasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Connections of one server, for graceful and forced close, and for balancing (shed). */
class Connections {
  readonly sockets = new Set<Socket>();
  draining = false;
  /** How many more connections end after their next response (RunningServer.shed). */
  private toShed = 0;
  /** Connections chosen to end after their response, until they close. */
  private readonly ending = new Set<Socket>();

  add(socket: Socket): void {
    // node:net caches the peer on first read; read it now so the address survives the socket
    // (an access log line written after the client hung up still has it).
    void socket.remoteAddress;
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.ending.delete(socket);
    });
  }

  /**
   * For each request: its response ends the connection while draining, or when a shed is pending
   * and picks it. A shed picks the connections whose requests come next: the busy ones, whose
   * clients reconnect at once.
   */
  keepAliveFor(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining || (this.toShed !== 0 && this.pick(req.socket))) res.shouldKeepAlive = false;
  }

  private pick(socket: Socket): boolean {
    if (this.ending.has(socket)) return false;
    this.ending.add(socket);
    this.toShed--;
    return true;
  }

  /** End `count` connections after their next response; replaces the count still pending. */
  shed(count: number): void {
    this.toShed = Math.max(0, Math.min(Math.floor(count), this.sockets.size - this.ending.size));
  }

  /** Open connections less those ending: what stays on this server once the shed is done. */
  get staying(): number {
    return Math.max(0, this.sockets.size - this.ending.size - this.toShed);
  }

  /** Stop keep-alive everywhere: busy connections once their response is done, idle ones after a grace. */
  drain(): void {
    this.draining = true;
    for (const socket of this.sockets) {
      const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (!res || res.writableEnded) graceUnread(socket);
      else closeAfter(res, socket);
    }
  }

  /** Resolves once every socket has closed: node:http has then emitted each response's 'close'. */
  destroyAll(): Promise<void> {
    const closed = [...this.sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve)));
    for (const socket of this.sockets) socket.destroy();
    return Promise.all(closed).then(() => undefined);
  }
}

/**
 * An idle connection at the close: accepted just before it with its request not read yet, or kept
 * alive between two requests. Its next request may already be on the way (or waiting unread), and
 * closing now resets it: a failed request for the client (the keep-alive close race; measured: every
 * kept-alive connection of a worker stopped under load, test/faults/restart.fault.ts). So serve a
 * request that comes within UNREAD_GRACE_MS (draining: with connection: close), and close the
 * connection only if none does (an unused preconnect, a client gone quiet). The check runs from
 * setImmediate, after the poll phase, so a loop running late reads the waiting request first.
 */
const UNREAD_GRACE_MS = 100;
function graceUnread(socket: Socket): void {
  const timer = setTimeout(
    () =>
      setImmediate(() => {
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        // A response still flushing (ended, not finished) is let finish: destroy() would cut it.
        if (!res || res.writableFinished) socket.destroy();
        else closeAfter(res, socket);
      }),
    UNREAD_GRACE_MS,
  );
  socket.once("close", () => clearTimeout(timer));
}

/** Once `res` is done, close its connection (or hand over to a pipelined response that follows). */
function closeAfter(res: ServerResponse, socket: Socket): void {
  if (!res.headersSent) res.shouldKeepAlive = false;
  res.once("finish", () => {
    // node:http's own finish listener ran first and assigned the next pipelined response, if any.
    const next = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (next && next !== res && !next.writableEnded) closeAfter(next, socket);
    else socket.destroySoon();
  });
}

function failResponse(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The reason phrase named: a writeHead that threw may have left the app's ("OK") behind.
  res.writeHead(500, "Internal Server Error", [
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    "21",
    "connection",
    "close",
  ]);
  res.end("Internal Server Error");
}

/**
 * --ssl-cert-reqs 1, as Python's ssl.CERT_OPTIONAL: a client may send no certificate, but one that
 * does not verify against --ssl-ca-certs is refused. node:https with rejectUnauthorized off takes
 * any, so the connection is closed here, once the handshake is done and before a request is read.
 */
function refuseUnverifiedCertificates(server: Server): void {
  server.on("secureConnection", (socket: TLSSocket) => {
    if (!socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) socket.destroy();
  });
}

/**
 * CONNECT (`CONNECT example.com:443`, what a forward proxy is asked): node:http gives it to a
 * 'connect' listener, and without one closes the connection unanswered. Bun.serve and Deno.serve
 * give it to the app as a request, so it is served so here too: a response on the socket node:http
 * let go of, and no tunnel after it (the connection closes once the answer is out).
 */
function serveConnect(
  req: IncomingMessage,
  socket: Socket,
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  // node:http took its own error listener off the socket with the rest: a reset must not throw.
  socket.on("error", () => socket.destroy());
  const res = new (nodeHttp().ServerResponse)(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once("finish", () => {
    res.detachSocket(socket);
    socket.end();
  });
  listener(req, res);
}

export async function serveNode(options: ServeOptions): Promise<RunningServer> {
  const { listen } = options;
  const onError = options.onError ?? (() => {});
  const onResponseError = options.onResponseError ?? onError;
  const tls = options.tls ? plainTls(options.tls) : undefined;
  const secure = tls !== undefined;
  const connections = new Connections();

  /** A failure of the bridge (or an error that escaped the app): onError, and a 500 if still possible. */
  const failed = (res: ServerResponse, error: unknown) => {
    onResponseError(error);
    try {
      failResponse(res);
    } catch {
      res.destroy();
    }
  };

  let listener: (req: IncomingMessage, res: ServerResponse) => void;
  let continueListener: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  if (options.fetch) {
    installFastGlobals();
    const fetch = options.fetch;
    // Chosen once: without trackCompletion, a request costs what it did before.
    const infoOf: (socket: Socket, res: ServerResponse) => RequestInfo = options.trackCompletion
      ? trackedRequestInfo
      : requestInfo;
    const send = (res: ServerResponse, response: Response) => {
      try {
        writeResponse(res, responseParts(response, res.req.method === "HEAD"), onResponseError);
      } catch (error) {
        failed(res, error);
      }
    };
    const handle = (req: IncomingMessage, res: ServerResponse, continueOwed: boolean) => {
      // The date header is the request handler's (default-headers.ts, --no-date-header).
      res.sendDate = false;
      connections.keepAliveFor(req, res);
      if (!servableTarget(req)) {
        res.writeHead(400, ["content-length", "0", "connection", "close"]);
        res.end();
        return;
      }
      let result: Response | Promise<Response>;
      try {
        const request = new NodeRequest(req, res, secure, continueOwed);
        result = fetch(request as unknown as Request, infoOf(req.socket, res));
      } catch (error) {
        failed(res, error);
        return;
      }
      if (typeof (result as Promise<Response>)?.then === "function") {
        (result as Promise<Response>).then(
          (response) => send(res, response),
          (error) => failed(res, error),
        );
      } else {
        send(res, result as Response);
      }
    };
    listener = (req, res) => handle(req, res, false);
    // `Expect: 100-continue`: the stand-in sends the 100 when the app reads the body (node:http's
    // own sends it before the app runs).
    continueListener = (req, res) => handle(req, res, true);
  } else if (options.node) {
    const app = options.node;
    // The app answers for its own errors (Express and Koa do); one that escapes it would end the
    // process (an uncaught exception or rejection), so it goes to onError and the client gets a 500.
    listener = (req, res) => {
      connections.keepAliveFor(req, res);
      try {
        const result = app(req, res) as unknown;
        if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
          (result as Promise<unknown>).then(undefined, (error: unknown) => failed(res, error));
        }
      } catch (error) {
        failed(res, error);
      }
    };
  } else {
    throw new Error("serve() needs a fetch or a node handler");
  }

  const server: Server = tls
    ? https().createServer({ ...tls, ALPNProtocols: NODE_ALPN }, listener)
    : nodeHttp().createServer(listener);
  if (tls?.requestCert && !tls.rejectUnauthorized) refuseUnverifiedCertificates(server);
  if (continueListener) server.on("checkContinue", continueListener);
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  // No limit on the time a whole request takes (node:http's default cuts a slow upload at 300 s
  // with a 408; uvicorn, Bun and Deno have none). Set here, not as a createServer() option: there,
  // requestTimeout 0 would also turn headersTimeout's default (min(60 s, requestTimeout)) to 0.
  server.requestTimeout = 0;
  // node:http's advice: headersTimeout above keepAliveTimeout, or a slow next request on a kept-alive
  // connection can meet a closed socket. Node's default (60 s) otherwise stays.
  server.headersTimeout = Math.max(server.headersTimeout, options.keepAliveTimeoutMs + 1000);
  // No count limit on request headers: past 1,000 of them, Node 20 drops the rest unsaid (the app
  // never sees them) and Node 24 answers 431, however small they are. The size limit stays
  // (--max-http-header-size, 16 KiB by default), as uvicorn limits only a request head's size.
  server.maxHeadersCount = 0;
  // https: track the TLS sockets (what node:http serves); raw sockets mid-handshake are closed with
  // the server's own timeout, or by forceClose through closeAllConnections().
  server.on(secure ? "secureConnection" : "connection", (socket: Socket) => {
    if (connections.draining) {
      socket.destroy();
      return;
    }
    connections.add(socket);
  });
  if (secure) server.on("tlsClientError", (error: Error) => onError(error));
  server.on("connect", (req: IncomingMessage, socket: Socket) => serveConnect(req, socket, listener));
  // WebSocket hooks, or a node app's own upgrade handler (ws-node.ts, imported only then: crossws
  // and its bundled ws are ~10-15 ms of Node 24 start-up that a server without them never uses).
  if (options.websocket || options.nodeUpgrade) {
    (await import("./ws-node.ts")).attachUpgrades(server, { ...options, onError }, secure);
  }

  if (listen.kind === "unix") await claimSocketPath(listen.path);
  if (listen.kind === "fd") checkInheritedSocket(listen.fd);
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => {
      if (listen.kind === "tcp") reject(bindError(error, listen.host, listen.port, process.platform));
      else if (listen.kind === "unix") reject(unixBindError(error, listen.path));
      else reject(inheritedSocketError(listen.fd, error));
    };
    server.once("error", refused);
    const ready = () => {
      server.off("error", refused);
      resolve();
    };
    if (listen.kind === "tcp") {
      if (listen.reusePort && !nodeHasReusePort(process.versions.node)) {
        reject(new ConfigError(`reusePort requires Node.js 22.12 or newer; found ${process.versions.node}.`));
        return;
      }
      const host = bareHost(listen.host);
      if (!listen.reusePort && isIPv4(host)) {
        let handle: ServerHandle | undefined;
        try {
          handle = boundIPv4Handle(host, listen.port);
        } catch (error) {
          refused(error as Error);
          return;
        }
        // A literal IPv4 address, bound here: listen() skips Node's lookup (boundIPv4Handle says why).
        if (handle) {
          server.listen(handle, options.backlog, ready);
          return;
        }
      }
      server.listen(
        listen.reusePort
          ? { host, port: listen.port, backlog: options.backlog, reusePort: true }
          : { host, port: listen.port, backlog: options.backlog },
        ready,
      );
    } else if (listen.kind === "unix") {
      server.listen({ path: listen.path, backlog: options.backlog }, ready);
    } else {
      server.listen({ fd: listen.fd, backlog: options.backlog }, ready);
    }
  });
  server.on("error", (error: Error) => onError(error));
  if (listen.kind === "unix") makeSocketWorldWritable(listen.path);

  const address: BoundAddress =
    listen.kind === "tcp"
      ? { kind: "tcp", host: listen.host, port: (server.address() as AddressInfo).port }
      : listen.kind === "fd"
        ? { ...listen, tcp: tcpAddress(server.address()) }
        : listen;
  const scheme = secure ? "https" : "http";

  let closed: Promise<void> | undefined;
  const cleanup = () => {
    if (listen.kind === "unix") removeSocketFile(listen.path);
  };
  return {
    address,
    scheme,
    /**
     * A worker on its supervisor's listener (an fd) logs the fd, but an app that holds its server
     * (Elysia's app.server.url and port) wants the address that listener is bound to.
     */
    get appServer() {
      return address.kind === "fd" && address.tcp
        ? portableAppServer({ kind: "tcp", ...address.tcp }, scheme)
        : undefined;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        // net.Server's close, not node:http's: since Node 19 that one also closes every idle
        // connection at once, which is the keep-alive close race drain() avoids.
        NetServer.prototype.close.call(server, () => {
          cleanup();
          resolve();
        });
        connections.drain();
      });
      return closed;
    },
    connections: () => connections.staying,
    shed: (count: number) => connections.shed(count),
    forceClose() {
      connections.draining = true;
      if (server.listening) server.close();
      const closed = connections.destroyAll();
      server.closeAllConnections();
      cleanup();
      return closed;
    },
  };
}

/** An inherited socket's TCP address, from net.Server's address() (a string for a unix socket). */
function tcpAddress(bound: AddressInfo | string | null): { host: string; port: number } | undefined {
  return bound !== null && typeof bound === "object" ? { host: bound.address, port: bound.port } : undefined;
}
