/**
 * The Bun adapter: Bun.serve for fetch apps, Bun's node:http for node apps, plumbing shared with the
 * other runtimes. Facts this file relies on (Bun 1.4.5, Linux; test/runtime-bun.test.ts checks them):
 * - Bun.serve's `idleTimeout` also counts while a handler is still working or a streamed body is
 *   silent: a request idle that long is cut (oven-sh/bun#13392, #14439). uvicorn's keep-alive
 *   timeout only applies between requests, so an async handler gets `server.timeout(req, 0)` while it
 *   runs and the keep-alive value back once it has answered; `timeout(req, 0)` alone would leave the
 *   connection unreapable afterwards (oven-sh/bun PR #33611, closed): the value set last, while the
 *   response was going, is the connection's keep-alive timeout once it is done, and `timeout(req, N)`
 *   after that does nothing. Bun's timer moves in 4 s ticks: N seconds fire at the ((N + 3) >> 2)th
 *   tick from now, so under 5 s a re-armed timer still fires at the next tick (0 to 4 s).
 * - A streamed body (SSE, long-poll) that stays silent is cut the same way: bun-body-watch.ts.
 * - `requestIP(req)` is null once the response is done or the client gone: an async handler's peer
 *   is read before it answers if the handler wants it.
 * - Bun.serve refuses request bodies over `maxRequestBodySize` (default 128 MiB) with 413.
 * - A request without a valid Host header (HTTP/1.0 without one, `Host: a b`) gets a relative url
 *   ("/a?q=1"); some invalid ones (`Host: a:b`, `Host: [::1`) an absolute one no URL parser takes;
 *   an absolute-form target (`GET https://a/x`) the Host header's authority.
 * - `stop(false)` stops accepting, closes idle keep-alive connections at once, and resolves once the
 *   in-flight requests (streamed bodies included) are done; `stop(true)` afterwards cuts them.
 * - Bun.serve cannot listen on an inherited fd (oven-sh/bun PR #36491; Bun's node:net can, but HTTP
 *   served through it ran at half the req/s: docs/deployment.md, socket activation), and Bun.serve
 *   has no backlog option.
 */
import { ConfigError } from "../errors.ts";
import { internalServerError } from "../http-status.ts";
import { httpDate } from "../middleware/default-headers.ts";
import { serverOrigin, urlAuthorityCheck } from "../request-authority.ts";
import { withUrl } from "../request-url.ts";
import { isWebSocketUpgrade } from "../websocket-handshake.ts";
import type { NativeWebSocket } from "../websocket-native.ts";
import type {
  BoundAddress,
  FetchHandler,
  RunningServer,
  RuntimeAdapter,
  ServeOptions,
  SharedSocket,
} from "./adapter.ts";
import { bareHost, unresolvedHostError } from "./bind-error.ts";
import { nodeFs, nodeProcess } from "./builtin.ts";
import { bunAppServer } from "./bun-app-server.ts";
import { BodyWatch } from "./bun-body-watch.ts";
import {
  type AsyncAnswers,
  BunCompletions,
  type BunPeerSource,
  BunRequestInfo,
  TrackedBunRequestInfo,
} from "./bun-request-info.ts";
import { countCalls } from "./count-calls.ts";
import { BUN_MAX_IDLE_SECONDS, detectRuntime, type RuntimeInfo } from "./detect.ts";
import { bunResolvedPath } from "./index.ts";
import { closeKeepAlive, linger } from "./linger.ts";
import { listenNative, reserveNative } from "./native-listen.ts";
import { createPlumbing, isCompiledBun } from "./plumbing.ts";
import { hangupIgnoredFrom, hangupIgnoredIn, PROC_STATUS } from "./process-basics.ts";
import { startDirectory } from "./start-directory.ts";
import { bunThreadPreloads } from "./thread-preloads.ts";
import type { PlainTls } from "./tls-key.ts";
import { claimSocketPath, removeSocketFile } from "./unix-socket.ts";
import type { BunWebSocket } from "./ws-bun.ts";

/** The part of Bun's API used here (declared locally so tsc and deno check agree on this file). */
interface BunServer extends BunPeerSource {
  readonly port: number | undefined;
  stop(closeActiveConnections?: boolean): Promise<void>;
  subscriberCount?(topic: string): number;
}
type BunFetch = (request: Request, server: BunServer) => Response | Promise<Response>;
interface BunServeOptions {
  fetch: BunFetch;
  error?(error: Error): Response;
  development?: boolean;
  hostname?: string;
  port?: number;
  reusePort?: boolean;
  unix?: string;
  idleTimeout?: number;
  /** Bytes; Bun's default is 128 MiB (413 beyond it). */
  maxRequestBodySize?: number;
  tls?: PlainTls;
  /** WebSocket handlers and limits (ws-bun.ts). */
  websocket?: object;
}
declare const Bun: {
  /** As node:url's, without loading node:url (~1-2 ms of Bun 1.4.5 start-up). */
  pathToFileURL(path: string): URL;
  serve(options: BunServeOptions): BunServer;
  listen(options: { hostname: string; port: number; socket: { data(): void } }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): void;
  };
  /** Rejects for a name that does not resolve. */
  dns: { lookup(hostname: string): Promise<unknown> };
  file(path: string): { text(): Promise<string> };
  /** A settled promise's value or reason, synchronously; the promise itself while pending. */
  peek(promise: Promise<unknown>): unknown;
};

/**
 * RuntimeAdapter.hangupIgnored without node:fs, whose first load is ~5 ms of Bun 1.4.5's start-up
 * and which a plain single server loaded for this alone (with pathExists and the app's real path,
 * index.ts bunResolvedPath). /proc/self/status is read asynchronously as the adapter is made, and
 * taken synchronously (Bun.peek) when asked. `ready` settles once it is read: the app's import
 * waits for it too (createAdapter), since a single server asks right after that import and Bun may
 * load a module without giving its event loop the turn the read needs. Not read yet, or not
 * readable (no /proc): node:fs, as before. What the process ignores does not change in between.
 */
function hangupIgnoredReader(): { hangupIgnored: () => boolean | undefined; ready: Promise<void> } {
  const early = Bun.file(PROC_STATUS).text();
  const ready = early.then(
    () => undefined,
    () => undefined,
  );
  return {
    ready,
    hangupIgnored: () => {
      const status = Bun.peek(early);
      if (typeof status === "string") return hangupIgnoredIn(status);
      return hangupIgnoredFrom(() => nodeFs().readFileSync(PROC_STATUS, "utf8"));
    },
  };
}

/**
 * The app's real path, which Bun imports. Bun keeps what a directory symlink resolved to for the
 * whole process while a thread that used it lives (Bun 1.4.5): after a deploy swapped
 * `/srv/app/current` to a new release, the threads a SIGHUP started imported `current/app.ts` from
 * the old one. The path as given if it has none. Where Bun's resolver says the path is its own real
 * path (no symlink in it: index.ts bunResolvedPath), node:fs is not loaded for it.
 */
function realPath(path: string): string {
  if (bunResolvedPath(path) === path) return path;
  try {
    return nodeFs().realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Import the app by its real path (see realPath). Bun 1.4.5 finds no module whose path has a `?`
 * in it, by path or by file URL (`bun 'a?b/main.ts'` fails too), and says only "Cannot find
 * module" of a file that is there: said plainly instead.
 */
async function importByRealPath(absolutePath: string): Promise<Record<string, unknown>> {
  const path = realPath(absolutePath);
  if (path.includes("?")) {
    throw new Error(
      `Bun cannot import a module whose path has a '?' in it (${path}); rename the directory or file, or serve it with Node.js or Deno.`,
    );
  }
  return import(Bun.pathToFileURL(path).href);
}

/** --timeout-keep-alive as Bun.serve's idleTimeout (above its longest, config.ts warns). */
export function idleSeconds(keepAliveTimeoutMs: number): number {
  return Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, Math.ceil(keepAliveTimeoutMs / 1000)));
}

async function serve(info: RuntimeInfo, options: ServeOptions): Promise<RunningServer> {
  const { listen } = options;
  if (listen.kind === "fd") {
    throw new ConfigError(
      `Bun cannot serve on an inherited socket (--fd ${listen.fd}): Bun.serve has no way to listen on a file descriptor (oven-sh/bun PR #36491). Use --host/--port or --uds.`,
    );
  }
  if (listen.kind === "unix") await claimSocketPath(listen.path);
  // Imported on demand: node:http (for node apps) and crossws (for WebSocket hooks) are most of
  // what a fetch app without hooks would otherwise load at start-up.
  if (options.node) {
    const { serveNodeListener } = await import("./node-http-listener.ts");
    return serveNodeListener(options, options.node, { reusePortBridge: true, os: info.os });
  }
  const app = options.fetch;
  if (!app) throw new TypeError("serve() needs a fetch or a node handler.");
  let websocket: BunWebSocket | undefined;
  let native: BunNative | undefined;
  if (options.websocket) {
    const ws = await import("./ws-bun.ts");
    const { native: nativeOptions } = options.websocket;
    if (nativeOptions) {
      native = {
        socket: nativeOptions.socket,
        handler: ws.bunNativeWebSocket(options.websocket, nativeOptions),
      };
    } else {
      websocket = ws.bunWebSocket(
        options.websocket,
        (request, server) => new BunRequestInfo(server as BunServer, request).remoteAddr,
      );
    }
  }
  // node:crypto (decrypting a key) only when serving TLS.
  const tls = options.tls ? (await import("./tls-key.ts")).plainTls(options.tls) : undefined;
  try {
    return serveFetch(info, options, app, { websocket, native }, tls);
  } catch (error) {
    if (listen.kind !== "tcp") throw error;
    throw (await unresolvedHost(listen.host, listen.port)) ?? error;
  }
}

/**
 * Bun 1.4.5 reports a host it cannot resolve with a stale errno instead of a lookup failure:
 * `--host nonexistent.invalid` fails with "ENOTTY: inappropriate ioctl for device, listen" (or
 * EINVAL), which sends the operator looking in the wrong place. So when a TCP bind fails, Bun's
 * resolver is asked (only then: it costs nothing at a good start): a host it cannot resolve is
 * the reason, said as tsuv says it on Node. Any other failure keeps its own message.
 */
async function unresolvedHost(host: string, port: number): Promise<ConfigError | undefined> {
  try {
    await Bun.dns.lookup(bareHost(host));
    return undefined;
  } catch {
    return unresolvedHostError(host, port);
  }
}

/** --ws bun: the app's handlers for Bun.serve, and what server.upgrade() hands sockets to. */
interface BunNative {
  socket: NativeWebSocket;
  handler: object;
}

function serveFetch(
  info: RuntimeInfo,
  options: ServeOptions,
  app: FetchHandler,
  /** crossws's hooks (--ws auto), or the app's own handlers (--ws bun), or neither. */
  { websocket, native }: { websocket?: BunWebSocket; native?: BunNative },
  tls: PlainTls | undefined,
): RunningServer {
  const nativeSocket = native?.socket;
  const { listen } = options;
  // What Bun.serve and Deno.serve report here is a response the app made failing: its body stream
  // errored, or its body was already used (their handler is ours, and never throws).
  const onError = options.onResponseError ?? options.onError;
  const idle = idleSeconds(options.keepAliveTimeoutMs);
  const bodies = new BodyWatch(idle, listen.kind === "tcp");
  // Set while a retiring worker lingers before stop(false): every answer ends keep-alive (linger.ts).
  let lingering = false;

  /**
   * An async answer: no idle cut while the app works; once it has answered, keep-alive again and its
   * body watched. Done in the request handler's own wait for the app's promise (RequestInfo.awaiting),
   * or by later() around a promise the handler did not wait for.
   */
  const answers: AsyncAnswers = {
    start(request, server) {
      server.timeout(request, 0);
      bodies.running++;
    },
    end(request, server, upgraded) {
      bodies.running--;
      // An upgraded request has no body going out to watch (--ws bun).
      if (nativeSocket !== undefined && upgraded) return;
      server.timeout(request, idle);
      bodies.add(request);
    },
  };
  /** The same around a promise the request handler did not wait for (no awaiting() was called). */
  const later = (
    request: Request,
    server: BunServer,
    info: BunRequestInfo,
    result: Promise<Response>,
  ): Promise<Response> => {
    answers.start(request, server);
    return result.then(
      (response) => {
        answers.end(request, server, info.upgraded === true);
        return response;
      },
      (error: unknown) => {
        server.timeout(request, idle);
        bodies.running--;
        throw error;
      },
    );
  };
  // This server's own origin, for a request whose Host Bun found missing or invalid (set once
  // listening).
  let origin = "";
  const checkUrl = urlAuthorityCheck(() => origin);
  /**
   * Bun gives such a request a relative url ("/a?q=1"), and some invalid ones (`Host: x:99999`,
   * `Host: [::1`) an absolute url no URL parser takes: `new URL(request.url)` throws on both. The app
   * gets a copy with the server's own origin instead, as node:http's adapter does
   * (request-authority.ts). Per request, a startsWith() of a remembered good origin (Request.url is
   * cached; the app reads it anyway).
   */
  const absolute = (request: Request): Request => {
    const repaired = checkUrl(request.url);
    if (repaired === undefined) return request;
    // An upgrade must reach server.upgrade() (crossws's, or the app's with --ws bun) as the object
    // Bun gave: a copy or a Proxy fails its brand check. The url goes on that object instead.
    if (!isWebSocketUpgrade(request)) return withUrl(request, repaired);
    Object.defineProperty(request, "url", { value: repaired });
    return request;
  };
  /** The app's answer to a request that is not an upgrade, and what Bun needs done around it. */
  const answer = (
    request: Request,
    server: BunServer,
    info: BunRequestInfo,
    /** What the app is given: `request` with a url it can parse (absolute()). */
    target = absolute(request),
  ): Response | Promise<Response> => {
    let result = app(target, info);
    if (lingering) result = closeKeepAlive(result);
    if (result instanceof Promise) return info.awaited ? result : later(request, server, info, result);
    // An upgraded request has no body going out to watch (--ws bun).
    if (nativeSocket === undefined || !info.upgraded) bodies.add(request);
    return result;
  };
  // Two versions, so the hot path of an app without WebSocket hooks does not even test for them.
  const fetch = websocket
    ? (request: Request, server: BunServer): Response | Promise<Response> => {
        // Resolves to undefined once server.upgrade() took the request, as Bun wants.
        const target = absolute(request);
        const upgraded = websocket.maybeUpgrade(target, server) as Promise<Response> | null;
        if (upgraded) return upgraded;
        return answer(request, server, new BunRequestInfo(server, request, undefined, answers), target);
      }
    : (request: Request, server: BunServer): Response | Promise<Response> =>
        answer(request, server, new BunRequestInfo(server, request, nativeSocket, answers));
  const completions = options.trackCompletion ? new BunCompletions() : null;
  const base: BunServeOptions = {
    // A third version only with --limit-concurrency (see BunCompletions).
    fetch: completions
      ? (request, server) => {
          completions.settle(server);
          const target = absolute(request);
          if (websocket) {
            const upgraded = websocket.maybeUpgrade(target, server) as Promise<Response> | null;
            if (upgraded) return upgraded;
          }
          return answer(
            request,
            server,
            new TrackedBunRequestInfo(server, request, completions, nativeSocket, answers),
            target,
          );
        }
      : fetch,
    // development mode would answer errors with an HTML page carrying the stack.
    development: false,
    idleTimeout: idle,
    // Bun refuses bodies over 128 MiB by default (413); uvicorn, Node and Deno set no limit.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    error(error) {
      onError?.(error);
      return internalServerError();
    },
  };
  base.fetch = datedHead(base.fetch);
  if (tls) base.tls = tls;
  if (websocket) base.websocket = websocket.handler;
  else if (native) base.websocket = native.handler;

  const server: BunServer = listenNative(listen, "Bun", info.os, {
    unix: (path) => Bun.serve({ ...base, unix: path }),
    tcp: (hostname, port, reusePort) => Bun.serve({ ...base, hostname, port, reusePort }),
  });

  bodies.start(server);
  const address: BoundAddress =
    listen.kind === "tcp" ? { kind: "tcp", host: listen.host, port: server.port ?? listen.port } : listen;
  const scheme: "http" | "https" = options.tls ? "https" : "http";
  origin = serverOrigin(scheme, address);
  const cleanup = () => {
    bodies.stop();
    if (listen.kind === "unix") removeSocketFile(listen.path);
  };
  let closing: Promise<void> | undefined;
  let forced = false;
  return {
    address,
    scheme,
    appServer: bunAppServer(server),
    close(closeOptions) {
      if (closing) return closing;
      // Retiring while other workers serve on: end keep-alive cleanly first (linger.ts). Not on a
      // whole-server stop, where new connections are refused at once.
      lingering = closeOptions?.retire === true;
      closing = (lingering ? linger() : Promise.resolve())
        .then(() => (forced ? undefined : server.stop(false)))
        .then(cleanup);
      return closing;
    },
    forceClose() {
      forced = true;
      void server.stop(true);
      cleanup();
    },
  };
}

/**
 * Bun.serve (1.4.5) writes its date on every answer but one to HEAD, so a HEAD answer gets it here;
 * the fetch of every other request stays as it was. The date goes on whatever --date-header says,
 * as Bun puts it on every other answer. The content type Bun derives from a body (a string's
 * text/plain) is left out of HEAD answers too; that one cannot be known without reading the body.
 * A method test in fetch, not a `{ "/*": { HEAD } }` route: with a method-keyed route on `/*`
 * (`{ GET }` too; not on a path or a `:param`), Bun 1.4.5 drops every request, whatever its path,
 * whose method is not one of HTTP's common ones (PROPFIND, PURGE, QUERY, SEARCH, LOCK... closed
 * with no answer, fetch never called), which Bun.serve without that route serves. It costs what
 * the route did (plaintext, default options, scripts/bench/callgrind.ts --requests 3000 --warmup
 * 15000, least of 3 windows: the route 23.7k instructions/req, the test 23.6k).
 */
function datedHead(fetch: BunFetch): BunFetch {
  return (request, server) => {
    if (request.method !== "HEAD") return fetch(request, server);
    const result = fetch(request, server);
    return result instanceof Promise ? result.then(withDate) : withDate(result);
  };
}

function withDate(response: Response): Response {
  // undefined once server.upgrade() took the request (not for HEAD, but fetch's type allows it).
  if (response?.headers.has("date") === false) {
    try {
      response.headers.set("date", httpDate(Date.now()));
    } catch {
      // Immutable headers (possible only with no other default header to add): sent undated.
    }
  }
  return response;
}

export function createAdapter(): RuntimeAdapter {
  const info = detectRuntime();
  const hangup = hangupIgnoredReader();
  return {
    ...createPlumbing(info, {
      threadPreloads: () =>
        bunThreadPreloads(nodeProcess().execArgv, startDirectory(), isCompiledBun(nodeProcess().argv[1])),
    }),
    hangupIgnored: hangup.hangupIgnored,
    info,
    serve: (options) => serve(info, options),
    importModule: async (absolutePath) => {
      const imported = await importByRealPath(absolutePath);
      // hangupIgnored's answer is in before a single server asks for it (see hangupIgnoredReader).
      await hangup.ready;
      return imported;
    },
    // Linux's record of the environment at exec (Bun's own .env loading is not in it).
    startedWithEnv: () => {
      try {
        const names = nodeFs()
          .readFileSync("/proc/self/environ", "utf8")
          .split("\0")
          .map((entry) => entry.slice(0, entry.indexOf("=")));
        return new Set(names);
      } catch {
        return null;
      }
    },
    // Bun.serve() as the app loads: its own server, or a node:http listen() (Bun's node:http
    // servers are Bun.serve's, as an Express app's app.listen(3000) is).
    watchListenCalls: () => countCalls(Bun, "serve"),
    // Bun cannot listen on an inherited fd (oven-sh/bun PR #36491): workers bind with reusePort.
    bindSharedSocket: async (): Promise<SharedSocket | null> => null,
    reservePort: async (host, port) => {
      try {
        return reserveNative(
          host,
          port,
          info.os,
          info.capabilities.reusePortBalances,
          (hostname, wanted, reusePort) => {
            // Bun.listen honours reusePort (1.4.5), though bun-types' listen options leave it out.
            const options = { hostname, port: wanted, reusePort, socket: { data() {} } };
            const listener = Bun.listen(options);
            return { port: listener.port, close: () => listener.stop(true) };
          },
        );
      } catch (error) {
        throw (await unresolvedHost(host, port)) ?? error;
      }
    },
  };
}
