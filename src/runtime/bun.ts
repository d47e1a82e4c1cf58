/**
 * The Bun adapter: Bun.serve for fetch apps, Bun's node:http for node apps, plumbing shared with the
 * other runtimes. Facts this file relies on (Bun 1.4.5, Linux; test/runtime-bun.test.ts checks them):
 * - Bun.serve's `idleTimeout` also counts while a handler is still working or a streamed body is
 *   silent: a request idle that long is cut (oven-sh/bun#13392, #14439). uvicorn's keep-alive
 *   timeout only applies between requests, so an async handler gets `server.timeout(req, 0)` while it
 *   runs and the keep-alive value back once it has answered; `timeout(req, 0)` alone would leave the
 *   connection unreapable afterwards (oven-sh/bun PR #33611, closed). Bun's timer moves in ~4 s steps.
 * - `stop(false)` stops accepting, closes idle keep-alive connections at once, and resolves once the
 *   in-flight requests (streamed bodies included) are done; `stop(true)` afterwards cuts them.
 * - Bun cannot listen on an inherited fd (oven-sh/bun PR #36491), and Bun.serve has no backlog option.
 */
import { pathToFileURL } from "node:url";
import { ConfigError } from "../errors.ts";
import type {
  BoundAddress,
  ClientAddress,
  FetchHandler,
  RequestInfo,
  RunningServer,
  RuntimeAdapter,
  ServeOptions,
  SharedSocket,
} from "./adapter.ts";
import { detectRuntime, type RuntimeInfo } from "./detect.ts";
import { listenNative, probeNative } from "./native-listen.ts";
import { serveNodeListener } from "./node-http-listener.ts";
import { NO_PEER_INFO } from "./peer.ts";
import { createPlumbing } from "./plumbing.ts";
import { plainTls } from "./tls-key.ts";
import { removeSocketFile } from "./unix-socket.ts";
import { bunWebSocket } from "./ws-bun.ts";

/** The part of Bun's API used here (declared locally so tsc and deno check agree on this file). */
interface BunServer {
  readonly port: number | undefined;
  requestIP(request: Request): { address: string; port: number } | null;
  timeout(request: Request, seconds: number): void;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunServeOptions {
  fetch(request: Request, server: BunServer): Response | Promise<Response>;
  error?(error: Error): Response;
  development?: boolean;
  hostname?: string;
  port?: number;
  reusePort?: boolean;
  unix?: string;
  idleTimeout?: number;
  tls?: { key: string; cert: string; ca?: string };
  /** WebSocket handlers and limits (ws-bun.ts). */
  websocket?: object;
}
declare const Bun: {
  serve(options: BunServeOptions): BunServer;
  listen(options: { hostname: string; port: number; socket: { data(): void } }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): void;
  };
};

/** Bun.serve's idleTimeout is whole seconds, 0 (off) to 255. */
const MAX_IDLE_SECONDS = 255;

export function idleSeconds(keepAliveTimeoutMs: number): number {
  return Math.min(MAX_IDLE_SECONDS, Math.max(1, Math.ceil(keepAliveTimeoutMs / 1000)));
}

/** The peer, read only if the app asks (Bun's requestIP is a native call plus an object). */
class BunRequestInfo implements RequestInfo {
  #server: BunServer;
  #request: Request;
  #remoteAddr: ClientAddress | undefined;
  constructor(server: BunServer, request: Request) {
    this.#server = server;
    this.#request = request;
  }
  get remoteAddr(): ClientAddress {
    if (this.#remoteAddr === undefined) {
      const ip = this.#server.requestIP(this.#request);
      this.#remoteAddr = ip === null ? NO_PEER_INFO.remoteAddr : { hostname: ip.address, port: ip.port };
    }
    return this.#remoteAddr;
  }
}

function internalError(): Response {
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

async function serve(info: RuntimeInfo, options: ServeOptions): Promise<RunningServer> {
  const { listen } = options;
  if (listen.kind === "fd") {
    throw new ConfigError(
      `Bun cannot serve on an inherited socket (--fd ${listen.fd}): Bun.serve has no way to listen on a file descriptor (oven-sh/bun PR #36491). Use --host/--port or --uds.`,
    );
  }
  if (options.node) return serveNodeListener(options, options.node, { reusePortBridge: true, os: info.os });
  const app = options.fetch;
  if (!app) throw new TypeError("serve() needs a fetch or a node handler.");
  return serveFetch(info, options, app);
}

function serveFetch(info: RuntimeInfo, options: ServeOptions, app: FetchHandler): RunningServer {
  const { listen, onError } = options;
  const idle = idleSeconds(options.keepAliveTimeoutMs);
  const websocket = options.websocket
    ? bunWebSocket(
        options.websocket,
        (request, server) => new BunRequestInfo(server as BunServer, request).remoteAddr,
      )
    : undefined;

  const fetch = (request: Request, server: BunServer): Response | Promise<Response> => {
    if (websocket) {
      // Resolves to undefined once server.upgrade() took the request, as Bun wants.
      const upgraded = websocket.maybeUpgrade(request, server) as Promise<Response> | null;
      if (upgraded) return upgraded;
    }
    const result = app(request, new BunRequestInfo(server, request));
    if (!(result instanceof Promise)) return result;
    // While the app works, no idle cut; once it has answered, the keep-alive timeout again.
    server.timeout(request, 0);
    return result.then(
      (response) => {
        server.timeout(request, idle);
        return response;
      },
      (error: unknown) => {
        server.timeout(request, idle);
        throw error;
      },
    );
  };
  const base: BunServeOptions = {
    fetch,
    // development mode would answer errors with an HTML page carrying the stack.
    development: false,
    idleTimeout: idle,
    error(error) {
      onError?.(error);
      return internalError();
    },
  };
  if (options.tls) base.tls = plainTls(options.tls);
  if (websocket) base.websocket = websocket.handler;

  const server: BunServer = listenNative(listen, "Bun", info.os, {
    unix: (path) => Bun.serve({ ...base, unix: path }),
    tcp: (hostname, port, reusePort) => Bun.serve({ ...base, hostname, port, reusePort }),
  });

  const address: BoundAddress =
    listen.kind === "tcp" ? { kind: "tcp", host: listen.host, port: server.port ?? listen.port } : listen;
  const cleanup = () => {
    if (listen.kind === "unix") removeSocketFile(listen.path);
  };
  let closing: Promise<void> | undefined;
  return {
    address,
    scheme: options.tls ? "https" : "http",
    close() {
      closing ??= server.stop(false).then(cleanup);
      return closing;
    },
    forceClose() {
      void server.stop(true);
      cleanup();
    },
  };
}

export function createAdapter(): RuntimeAdapter {
  const info = detectRuntime();
  return {
    ...createPlumbing(info),
    info,
    serve: (options) => serve(info, options),
    importModule: (absolutePath) => import(pathToFileURL(absolutePath).href),
    // Bun cannot listen on an inherited fd (oven-sh/bun PR #36491): workers bind with reusePort.
    bindSharedSocket: async (): Promise<SharedSocket | null> => null,
    probePort: async (host, port) =>
      probeNative(host, port, info.os, (hostname, wanted) => {
        const listener = Bun.listen({ hostname, port: wanted, socket: { data() {} } });
        return { port: listener.port, close: () => listener.stop(true) };
      }),
  };
}
