/**
 * Serving a node-interface app (an Express-style `(req, res)` listener) with the running runtime's
 * own node:http, which Bun and Deno both implement. Only node:* modules are used, so Node's adapter
 * can use it too.
 *
 * Bun quirk, handled here: Bun's node:http ignores `listen({ reusePort: true })` (oven-sh/bun#43690;
 * the second worker gets EADDRINUSE) while its node:net and node:tls honour it. With
 * `reusePortBridge`, a node:net (or node:tls) server listens and hands each accepted socket to the
 * HTTP server; graceful close then tracks those sockets itself, because Bun's http.Server.close()
 * does not wait for sockets it did not accept.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { ConfigError } from "../errors.ts";
import type { BoundAddress, NodeRequestListener, RunningServer, ServeOptions } from "./adapter.ts";
import { bareHost, bindError, unixBindError } from "./bind-error.ts";
import { nodeHttps as https, nodeHttp, nodeTls as tlsModule } from "./builtin.ts";
import { plainTls } from "./tls-key.ts";
import { claimSocketPath, makeSocketWorldWritable, removeSocketFile } from "./unix-socket.ts";
import type { Upgrades } from "./ws-node.ts";

export interface NodeListenerQuirks {
  /** Accept with node:net/node:tls when reusePort is asked for (see the file comment). */
  reusePortBridge: boolean;
  /** For bind error wording (errno numbers differ by OS). */
  os: string;
}

/** How often a closing server re-closes connections that went idle after close() (Bun keeps them). */
const IDLE_SWEEP_MS = 50;

export async function serveNodeListener(
  options: ServeOptions,
  listener: NodeRequestListener,
  quirks: NodeListenerQuirks,
): Promise<RunningServer> {
  const { listen } = options;
  const tls = options.tls ? plainTls(options.tls) : undefined;
  const bridged = quirks.reusePortBridge && listen.kind === "tcp" && listen.reusePort;
  const http: Server =
    tls && !bridged ? https().createServer(tls, listener) : nodeHttp().createServer(listener);
  http.keepAliveTimeout = options.keepAliveTimeoutMs;
  // No limit on the time a whole request takes, as in node-http.ts (set after creation, so that
  // headersTimeout keeps its own default).
  http.requestTimeout = 0;
  const onError = options.onError;
  if (onError) {
    http.on("tlsClientError", (error: Error) => onError(error));
    http.on("error", (error: Error) => onError(error));
  }

  // WebSocket hooks, or the app's own upgrade handler (ws-node.ts, imported only then: see node-http.ts).
  const upgrades: Upgrades =
    options.websocket || options.nodeUpgrade
      ? (await import("./ws-node.ts")).attachUpgrades(http, options, tls !== undefined)
      : { cutUpgraded() {} };

  const acceptor: NetServer = bridged ? (tls ? tlsModule().createServer(tls) : createNetServer()) : http;
  const tracker = bridged ? trackBridgedSockets(acceptor, http, tls !== undefined, onError) : undefined;

  if (listen.kind === "unix") await claimSocketPath(listen.path);
  try {
    await new Promise<void>((resolve, reject) => {
      acceptor.once("error", reject);
      const ready = () => {
        acceptor.off("error", reject);
        resolve();
      };
      if (listen.kind === "tcp") {
        acceptor.listen(
          {
            host: bareHost(listen.host),
            port: listen.port,
            backlog: options.backlog,
            reusePort: listen.reusePort,
          },
          ready,
        );
      } else if (listen.kind === "unix") {
        acceptor.listen({ path: listen.path, backlog: options.backlog }, ready);
      } else {
        acceptor.listen({ fd: listen.fd, backlog: options.backlog }, ready);
      }
    });
  } catch (error) {
    if (listen.kind === "tcp") throw bindError(error, listen.host, listen.port, quirks.os);
    if (listen.kind === "unix") throw unixBindError(error, listen.path);
    throw new ConfigError(`Could not listen on fd ${listen.fd}: ${String(error)}`);
  }
  if (listen.kind === "unix") makeSocketWorldWritable(listen.path);

  let address: BoundAddress;
  if (listen.kind === "tcp") {
    address = { kind: "tcp", host: listen.host, port: (acceptor.address() as AddressInfo).port };
  } else {
    address = listen;
  }

  const cleanup = () => {
    if (listen.kind === "unix") removeSocketFile(listen.path);
  };
  let closing: Promise<void> | undefined;

  return {
    address,
    scheme: tls ? "https" : "http",
    close() {
      if (!closing) upgrades.cutUpgraded();
      closing ??= (tracker ? tracker.close() : closeHttp(http)).then(cleanup);
      return closing;
    },
    forceClose() {
      if (tracker) tracker.destroyAll();
      else http.closeAllConnections();
      cleanup();
    },
  };
}

/** http.Server.close(), resolving once every connection is gone, idle ones closed at once. */
function closeHttp(http: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => http.closeIdleConnections(), IDLE_SWEEP_MS);
    http.close(() => {
      clearInterval(sweep);
      resolve();
    });
    http.closeIdleConnections();
  });
}

interface BridgeTracker {
  close(): Promise<void>;
  destroyAll(): void;
}

/** Sockets accepted by `acceptor` and served by `http`, with their number of requests in flight. */
function trackBridgedSockets(
  acceptor: NetServer,
  http: Server,
  secure: boolean,
  onError: ((error: unknown) => void) | undefined,
): BridgeTracker {
  const sockets = new Map<Socket, number>();
  let closing = false;
  let drained: (() => void) | undefined;

  const settle = (socket: Socket) => {
    const left = (sockets.get(socket) ?? 1) - 1;
    sockets.set(socket, left);
    // Closing: a connection whose last response is done gets no further request.
    if (closing && left === 0) socket.end();
  };

  acceptor.on(secure ? "secureConnection" : "connection", (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.set(socket, 0);
    socket.once("close", () => {
      sockets.delete(socket);
      if (closing && sockets.size === 0) drained?.();
    });
    http.emit("connection", socket);
  });
  if (secure && onError) acceptor.on("tlsClientError", (error: Error) => onError(error));
  http.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
    res.once("close", () => settle(socket));
  });

  return {
    close() {
      closing = true;
      acceptor.close();
      return new Promise<void>((resolve) => {
        drained = resolve;
        for (const [socket, active] of sockets) if (active === 0) socket.end();
        if (sockets.size === 0) resolve();
      });
    },
    destroyAll() {
      closing = true;
      acceptor.close();
      for (const socket of sockets.keys()) socket.destroy();
    },
  };
}
