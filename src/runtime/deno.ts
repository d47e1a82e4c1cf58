/**
 * The Deno adapter: Deno.serve for fetch apps, Deno's node:http for node apps, plumbing shared with
 * the other runtimes. Facts this file relies on (Deno 2.9.6, Linux; test/runtime-deno.test.ts checks
 * them):
 * - `shutdown()` stops accepting, closes idle keep-alive connections and waits for in-flight
 *   responses (streamed bodies included), but on 2.9 it also makes every in-flight request body
 *   unreadable (BadResource: denoland/deno#36809, fix in PR #36825). So close() first lets the
 *   handlers that are running finish (new requests meanwhile get uvicorn's 503 with
 *   `Connection: close`), and only then calls shutdown(), which then waits for streamed bodies.
 *   A retiring worker waits only for the handlers that were given a request body: the others
 *   cannot be broken, and its listener, bound with reusePort, should close as soon as it can.
 * - The abort signal cuts every connection, but once shutdown() has begun it throws BadResource
 *   instead (there is no other force-close API: denoland/deno#25792). forceClose() therefore cuts
 *   everything while handlers are still running; a response body still streaming after shutdown()
 *   began ends only with the process or worker.
 * - No keep-alive timeout exists: idle connections stay open until the client closes them
 *   (denoland/deno#32497, PR #34172 adds `keepAliveTimeout`). No TLS key passphrase either
 *   (tls-key.ts decrypts the key first).
 * - The first accept error (EMFILE at the open-file limit) ends Deno.serve's accept loop for good:
 *   deno-listener.ts binds the address again.
 * - reusePort needs --unstable-net ("unstable": ["net"] in deno.json); without it Deno.serve exits
 *   the process, so serve() refuses first. Deno cannot listen on an inherited fd (denoland/deno#14006).
 */
import { ConfigError } from "../errors.ts";
import { internalServerError } from "../http-status.ts";
// uvicorn's answer when it cannot take a request; given to requests that arrive while draining.
import { serviceUnavailable } from "../middleware/limits.ts";
import { serverOrigin, urlAuthorityCheck } from "../request-authority.ts";
import { withUrl } from "../request-url.ts";
import type {
  BoundAddress,
  FetchHandler,
  RequestInfo,
  RunningServer,
  RuntimeAdapter,
  ServeOptions,
  SharedSocket,
} from "./adapter.ts";
import { countCalls } from "./count-calls.ts";
import { denoAppConfigWarning } from "./deno-config.ts";
import { unsendableHeaderValue } from "./deno-header-values.ts";
import { type DenoHttpServer, DenoListener } from "./deno-listener.ts";
import { denoProcessBasics, stdinEnd } from "./deno-process.ts";
import { detectRuntime, type RuntimeInfo } from "./detect.ts";
import { closeKeepAlive, linger } from "./linger.ts";
import { listenNative, reserveNative } from "./native-listen.ts";
import { posixFileUrl } from "./paths.ts";
import { NO_PEER_INFO } from "./peer.ts";
import { createPlumbing } from "./plumbing.ts";
import { startDirectory } from "./start-directory.ts";
import { denoThreadPreloads } from "./thread-preloads.ts";
import type { PlainTls } from "./tls-key.ts";
import { claimSocketPath, removeSocketFile } from "./unix-socket.ts";
import type { DenoWebSocket } from "./ws-deno.ts";

/** The part of Deno's API used here (declared locally so tsc and deno check agree on this file). */
interface DenoServeOptions {
  handler(request: Request, info: RequestInfo): Response | Promise<Response>;
  signal?: AbortSignal;
  onListen?(addr: unknown): void;
  onError?(error: unknown): Response | Promise<Response>;
  hostname?: string;
  port?: number;
  reusePort?: boolean;
  tcpBacklog?: number;
  path?: string;
  transport?: "tcp" | "unix";
  key?: string;
  cert?: string;
}
declare const Deno: {
  serve(options: DenoServeOptions): DenoHttpServer;
  listen(options: { hostname: string; port: number }): { readonly addr: { port: number }; close(): void };
};

async function serve(info: RuntimeInfo, options: ServeOptions): Promise<RunningServer> {
  const { listen } = options;
  if (listen.kind === "fd") {
    throw new ConfigError(
      `Deno cannot serve on an inherited socket (--fd ${listen.fd}): Deno.serve has no way to listen on a file descriptor (denoland/deno#14006). Use --host/--port or --uds.`,
    );
  }
  if (listen.kind === "unix") await claimSocketPath(listen.path);
  if (listen.kind === "tcp" && listen.reusePort && !info.capabilities.unstableNet) {
    throw new ConfigError(
      `Listening with reusePort on Deno requires the unstable net API (run with --unstable-net, or "unstable": ["net"] in deno.json).`,
    );
  }
  // Deno's node:http honours reusePort itself, so no bridge is needed.
  // Imported on demand: node:http (for node apps) and crossws (for WebSocket hooks) are most of
  // what a fetch app without hooks would otherwise load at start-up.
  if (options.node) {
    const { serveNodeListener } = await import("./node-http-listener.ts");
    return serveNodeListener(options, options.node, { reusePortBridge: false, os: info.os });
  }
  const app = options.fetch;
  if (!app) throw new TypeError("serve() needs a fetch or a node handler.");
  const websocket = options.websocket
    ? (await import("./ws-deno.ts")).denoWebSocket(options.websocket)
    : undefined;
  // node:crypto (decrypting a key) only when serving TLS.
  const tls = options.tls ? (await import("./tls-key.ts")).plainTls(options.tls) : undefined;
  return serveFetch(info, options, app, websocket, tls);
}

function serveFetch(
  info: RuntimeInfo,
  options: ServeOptions,
  app: FetchHandler,
  websocket: DenoWebSocket | undefined,
  tls: PlainTls | undefined,
): RunningServer {
  const { listen } = options;
  // What Bun.serve and Deno.serve report here is a response the app made failing: its body stream
  // errored, or its body was already used (their handler is ours, and never throws).
  const onError = options.onResponseError ?? options.onError;

  // Handlers that returned a promise and have not settled; close() waits for them (see above).
  let active = 0;
  let draining = false;
  // Set while a retiring worker lingers before draining: every answer ends keep-alive (linger.ts).
  let lingering = false;
  // Of those, the ones given a request body. A retiring worker (other workers serve on) waits only
  // for these before shutdown(): a handler without a body has nothing shutdown() can break, and
  // shutdown() waits for its response, while closing the listener at once, so the kernel stops
  // routing new connections here. Waiting for every handler instead answered 503 to this worker's
  // share of new connections for as long as its slowest request ran (3 s requests under load:
  // 1,500-2,500 503s per two SIGTTOUs, counted by a load client on 2026-12-01).
  let activeBodies = 0;
  let onDrained: (() => void) | undefined;
  const pending = () => (lingering ? activeBodies : active);
  const settle = () => {
    --active;
    if (pending() === 0) onDrained?.();
  };
  const settleBody = () => {
    --activeBodies;
    settle();
  };
  // Deno's ServeHandlerInfo already has the RequestInfo shape ({ remoteAddr: { hostname, port } }
  // for TCP, and `completed` for ServeOptions.trackCompletion), so it is passed through as is: no
  // allocation. A unix socket has no peer address.
  const unix = listen.kind === "unix";
  const track = options.trackCompletion === true;
  const unixInfo = (peer: RequestInfo): RequestInfo =>
    track ? { remoteAddr: NO_PEER_INFO.remoteAddr, completed: peer.completed } : NO_PEER_INFO;
  // This server's own origin (set once listening): the authority of a request whose Host Deno put
  // into request.url as sent (`Host: x?`, `Host: a b`, `Host: x:99999`), see request-authority.ts.
  let origin = "";
  const checkUrl = urlAuthorityCheck(() => origin);
  const handler = (received: Request, peer: RequestInfo): Response | Promise<Response> => {
    if (draining) return serviceUnavailable();
    // Dear on Deno: each read of request.url costs ~1.4k instructions, the first ~2.4k (callgrind,
    // bench/raw/deno-headers.ts MODE=url). With bench/apps/hello.ts, which reads it too, tsuv went
    // from 13.4k to 15.2k instructions per request with --no-server-header --no-proxy-headers, and
    // from 35.0k to 36.1k with the defaults. Paid for a url every `new URL(request.url)` can take.
    const repaired = checkUrl(received.url);
    const request = repaired === undefined ? received : withUrl(received, repaired);
    const result =
      websocket?.maybeUpgrade(request, unix ? NO_PEER_INFO : peer) ||
      app(request, unix ? unixInfo(peer) : peer);
    if (result instanceof Promise) {
      active++;
      // Deno gives a body to every method but GET, HEAD and CONNECT. Asked of the method, not of
      // `request.body`: that getter turns an already buffered body into a stream (callgrind, json
      // echo: 152.3k -> 137.6k instructions/req without it; raw Deno.serve 106.8k).
      const method = request.method;
      if (method !== "GET" && method !== "HEAD" && method !== "CONNECT") {
        activeBodies++;
        result.then(settleBody, settleBody);
      } else {
        result.then(settle, settle);
      }
    }
    return lingering ? closeKeepAlive(result) : result;
  };

  const base: DenoServeOptions = {
    handler,
    onListen() {}, // Deno would print "Listening on ..."; tsuv announces itself.
    onError(error) {
      onError?.(error);
      return internalServerError();
    },
  };
  if (tls) {
    base.key = tls.key;
    base.cert = tls.cert;
  }

  // Bound again if its accept loop dies (deno-listener.ts).
  const server = new DenoListener(
    listen,
    (target, signal) =>
      listenNative(target, "Deno", info.os, {
        unix: (path) => Deno.serve({ ...base, signal, transport: "unix", path }),
        tcp: (hostname, port, reusePort) =>
          Deno.serve({ ...base, signal, hostname, port, reusePort, tcpBacklog: options.backlog }),
      }),
    options,
  );

  const address: BoundAddress =
    listen.kind === "tcp"
      ? { kind: "tcp", host: listen.host, port: server.addr.port ?? listen.port }
      : listen;
  origin = serverOrigin(tls ? "https" : "http", address);
  const cleanup = () => {
    if (listen.kind === "unix") removeSocketFile(listen.path);
  };
  let shutdownStarted = false;
  let forced = false;
  let closing: Promise<void> | undefined;

  return {
    address,
    scheme: options.tls ? "https" : "http",
    // Deno's idleTimeout pings and drops dead peers (ws-deno.ts).
    nativeKeepalive: websocket !== undefined,
    close(closeOptions) {
      if (closing) return closing;
      server.stopRebinding();
      // Already aborted: handlers cut mid-way may never settle, so do not wait for them.
      if (forced) {
        closing = server.finished.then(cleanup);
        return closing;
      }
      // Retiring while other workers serve on: end keep-alive cleanly first (linger.ts). Not on a
      // whole-server stop, where new connections get the 503 at once.
      lingering = closeOptions?.retire === true;
      const drain = (): Promise<void> => {
        if (forced) return Promise.resolve();
        draining = true;
        return pending() === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onDrained = resolve));
      };
      closing = (lingering ? linger().then(drain) : drain())
        .then(() => {
          if (forced) return server.finished;
          shutdownStarted = true;
          return server.shutdown();
        })
        .then(cleanup);
      return closing;
    },
    forceClose() {
      forced = true;
      // After shutdown() began, aborting throws BadResource and cuts nothing (see above).
      if (!shutdownStarted) server.abort();
      onDrained?.();
      cleanup();
    },
  };
}

/** The app's file URL: paths.ts on POSIX, node:url on Windows (drive letters, UNC paths). */
async function fileUrl(absolutePath: string, info: RuntimeInfo): Promise<string> {
  if (info.os !== "win32") return posixFileUrl(absolutePath);
  return (await import("node:url")).pathToFileURL(absolutePath).href;
}

export function createAdapter(): RuntimeAdapter {
  const info = detectRuntime();
  /** The flags Deno was started with, where it shows them to tsuv (deno-permissions.ts). */
  const shownFlags = (): readonly string[] | undefined => {
    const respawn = info.capabilities.respawn;
    return respawn.ok ? respawn.runtimeArgs : undefined;
  };
  return {
    ...createPlumbing(info, {
      // Deno's own pid/env/signals/exit: a single server loads no node:* module (deno-process.ts).
      processBasics: denoProcessBasics(info),
      parentPipeEnd: stdinEnd,
      threadPreloads: () => denoThreadPreloads(shownFlags(), startDirectory()),
    }),
    info,
    serve: (options) => serve(info, options),
    importModule: async (absolutePath) => import(await fileUrl(absolutePath, info)),
    // Deno.serve() as the app loads. A node:http listen() is not seen here: node:net would cost
    // every start ~30 ms (runtime/paths.ts).
    watchListenCalls: () => countCalls(Deno, "serve"),
    // Deno cannot listen on an inherited fd (denoland/deno#14006): workers bind with reusePort.
    bindSharedSocket: async (): Promise<SharedSocket | null> => null,
    unreadAppConfigWarning: (appDir, app) => denoAppConfigWarning(appDir, app, shownFlags),
    // A control character in a header value ends the process on Deno 2.9 (deno-header-values.ts).
    unsendableResponse: unsendableHeaderValue,
    // Deno.listen takes reusePort only with the unstable net API, as Deno.serve does.
    reservePort: async (host, port) =>
      reserveNative(
        host,
        port,
        info.os,
        info.capabilities.reusePortBalances && info.capabilities.unstableNet,
        (hostname, wanted, reusePort) => {
          const listener = Deno.listen({ hostname, port: wanted, ...(reusePort ? { reusePort } : {}) });
          return { port: listener.addr.port, close: () => listener.close() };
        },
      ),
  };
}
