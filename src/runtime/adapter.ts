/**
 * The RuntimeAdapter contract: everything tsuv needs from Node.js, Bun or Deno, and nothing more.
 * Only files under src/runtime/ implement it or touch runtime globals; the rest of tsuv (config,
 * app loading, middleware, supervisors' decisions) talks to this interface and is tested with fakes.
 */
import type { Hooks, PeerContext } from "crossws";
import type { NativeWebSocket } from "../websocket-native.ts";
import type { RuntimeInfo } from "./detect.ts";
import type { Preload } from "./thread-preloads.ts";

export type { RuntimeInfo } from "./detect.ts";

/** The peer of a request, before proxy headers are applied. */
export interface ClientAddress {
  hostname: string;
  port: number;
}

/** What a fetch-interface app receives beside the Request (Deno's ServeHandlerInfo shape). */
export interface RequestInfo {
  remoteAddr: ClientAddress;
  /**
   * Only with ServeOptions.trackCompletion: settles once the response to this request is done, its
   * body sent completely or the client gone (Deno's ServeHandlerInfo.completed, a Promise). The
   * request handler holds a --limit-concurrency slot until then.
   */
  readonly completed?: Completion;
  /**
   * The same request's info with the client a trusted proxy named (--proxy-headers), where the
   * runtime's info carries more than the peer (Bun's: the Server API the app may call).
   */
  withClient?(client: ClientAddress): RequestInfo;
  /**
   * --ws bun: true once the app's fetch upgraded this request with Bun's `server.upgrade()`. What
   * fetch returns then (nothing, or hono's `new Response(null)`) is not sent, nor access-logged:
   * the socket is logged as `"WebSocket /path" [accepted]`.
   */
  readonly upgraded?: boolean;
  /**
   * True once the client has gone: a response made now is never sent, so it gets no access line,
   * as uvicorn writes none once its client disconnected. Node: the socket is destroyed. Bun: the
   * request's signal has aborted (made on the first read, so asked only of a late answer). Deno
   * gives no sign: reading request.signal makes Deno 2.9 warn of its legacy abort at the first
   * successful response, and ServeHandlerInfo.completed resolves whether the client stayed or not.
   */
  clientGone?(): boolean;
  /**
   * The request's HTTP version as the access log writes it ("1.0"), where the runtime tells: Node.
   * Bun.serve and Deno.serve do not say (the log then writes "1.1", what Bun answers with, and
   * what Deno does unless it negotiated HTTP/2 over TLS).
   */
  readonly httpVersion?: string;
  /**
   * What the adapter must do around an answer the app gives as a promise, called by the request
   * handler in its own wait for that promise (request-handler.ts settleLater) so that the adapter
   * need not chain a second one on it: `awaiting()` as the wait starts, `answered()` once the
   * response the handler returns is made (or making it threw). Bun's: its idle timer is off while
   * the app works (bun.ts). An adapter that gives these still handles a promise nobody called
   * `awaiting()` for (another layer's, or an adapter test's handler).
   */
  awaiting?(): void;
  answered?(): void;
}

/**
 * RequestInfo.completed: a Promise, or a thenable whose callbacks may run synchronously. On Bun,
 * which tells only how many responses are still going (server.pendingRequests), the adapter learns
 * of completions when the next request arrives, and must free their slots before that request asks
 * for one: so then() callbacks run at once then, not a microtask later. Which of several responses
 * done meanwhile a Bun completion stands for is a guess: right for counting, not for timing one.
 */
export interface Completion {
  then(onDone: () => void, onError?: (error: unknown) => void): unknown;
}

export type FetchHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

/**
 * A node:http request listener (Express, Koa's callback()), or a connect-style middleware that also
 * takes `next`. Typed loosely: it is the app's.
 */
// biome-ignore lint/suspicious/noExplicitAny: node-interface apps take node:http objects we do not type here
export type NodeRequestListener = (req: any, res: any, next?: (error?: unknown) => void) => void;

export type ListenTarget =
  | { kind: "tcp"; host: string; port: number; reusePort: boolean }
  | { kind: "unix"; path: string }
  | { kind: "fd"; fd: number };

/** A port the workers will bind with reusePort (RuntimeAdapter.reservePort). */
export interface PortReservation {
  readonly port: number;
  /** Let go of the port once a worker listens on it (idempotent; nothing to do for a fixed port). */
  release(): void;
}

/** What a server really listens on, once bound (port 0 resolved). */
export type BoundAddress =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string }
  /** An inherited socket; `tcp`: the address it is bound to, where it is a TCP one. */
  | { kind: "fd"; fd: number; tcp?: { host: string; port: number } };

export interface TlsMaterial {
  key: string;
  cert: string;
  passphrase?: string;
  ca?: string;
  /** --ssl-cert-reqs 1 ("optional": asked for, verified if sent) or 2 ("required"); unset for 0. */
  clientCertificates?: "optional" | "required";
  /** --ssl-ciphers: the OpenSSL cipher list for TLS 1.2 and older (checked by tls-check.ts). */
  ciphers?: string;
}

/** A node:http 'upgrade' listener: a node-interface app's own WebSocket handling (e.g. the `ws` package). */
// biome-ignore lint/suspicious/noExplicitAny: node:http objects, the app's to type
export type NodeUpgradeListener = (req: any, socket: any, head: any) => void;

/**
 * crossws's hooks (upgrade, open, message, close, error, ...): the app's, wrapped by src/websocket.ts.
 * Per upgrade request instead: `resolve(request)`, as crossws's adapter option of that name, or for
 * an object with no hooks at all, what the app's fetch attaches (h3's `defineWebSocketHandler`).
 */
export type WebSocketHooks = Partial<Hooks> & {
  resolve?(request: Request): Partial<Hooks> | null | undefined | Promise<Partial<Hooks> | null | undefined>;
};

/**
 * Under permessage-deflate, messages below this size go out as they are: compressing a small
 * message costs more CPU than the bytes it saves (a 32-byte echo on Node served 3x fewer round
 * trips compressed). ws's own threshold; Bun compresses only what it is asked to (ws-bun.ts).
 */
export const DEFLATE_FROM_BYTES = 1024;

/**
 * WebSocket serving, given with an app that has websocket hooks (and --ws auto). The adapter answers
 * upgrade requests with crossws (they never reach the fetch handler) and enforces the limits with
 * what the runtime has; src/websocket.ts does the rest (logging, limits, proxy headers, shutdown).
 */
export interface WebSocketServeOptions {
  hooks: WebSocketHooks;
  /**
   * Called once per upgrade request, with the peer as the socket reports it, before crossws sees
   * the request; the adapter sets the result as `request.context` (crossws starts the peer's
   * context from it, so the upgrade hook and every later hook share it).
   */
  context(remoteAddr: ClientAddress): PeerContext;
  /**
   * The adapter calls this when an upgrade it handed to crossws ends without a socket opening (the
   * runtime refused it, the client left mid-handshake): what the upgrade hook reserved is released.
   * Harmless after the socket opened.
   */
  upgradeFailed(context: PeerContext): void;
  /** Largest message in bytes: a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /**
   * Negotiate permessage-deflate where the runtime can; then messages of DEFLATE_FROM_BYTES and
   * more go out compressed, unless the app says otherwise (crossws's `send(data, { compress })`).
   */
  perMessageDeflate: boolean;
  /**
   * Keepalive: a ping every interval, a peer silent for the timeout after it is dropped (0: off).
   * Adapters whose sockets can ping from JS leave this to the core (RunningServer.nativeKeepalive).
   */
  pingIntervalSeconds: number;
  pingTimeoutSeconds: number;
  /**
   * --ws bun (Bun only; config.ts refuses it elsewhere): serve the app's `websocket` object as
   * Bun.serve's own handlers, wrapped by src/websocket-native.ts, and let the app's fetch call
   * `server.upgrade()`; `hooks`, `context` and `upgradeFailed` are then unused.
   */
  native?: {
    socket: NativeWebSocket;
    /** The app's Bun options beside its handlers (backpressureLimit, publishToSelf, ...). */
    options: Record<string, unknown>;
  };
}

/** Where a listener was lost: its accept loop ended, or binding it again failed (ServeOptions). */
export type ListenerLossStage = "accept" | "bind";

export interface ServeOptions {
  listen: ListenTarget;
  backlog: number;
  tls?: TlsMaterial;
  /** Idle keep-alive connections are closed after this long; at least 1 (0 would mean never to Node and Bun). */
  keepAliveTimeoutMs: number;
  /** Exactly one of fetch / node is set, by the app's interface. */
  fetch?: FetchHandler;
  /**
   * The fetch handler reads RequestInfo.completed (--limit-concurrency): the adapter provides it.
   * Without it, the adapter does no per-request work for it.
   */
  trackCompletion?: boolean;
  node?: NodeRequestListener;
  /** WebSocket hooks to serve (crossws); without it, upgrade requests reach the app as requests. */
  websocket?: WebSocketServeOptions;
  /** A node-interface app's own upgrade handling, attached to the node:http server. */
  nodeUpgrade?: NodeUpgradeListener;
  /** Called for errors the runtime reports outside any handler (bad TLS handshake, socket errors). */
  onError?: (error: unknown) => void;
  /**
   * Called when a response the app made fails after the handler returned it: its body stream
   * errored, its body was already used, it does not match its own Content-Length. The app's error,
   * as uvicorn logs it ("Exception in ASGI application"); onError if not given.
   */
  onResponseError?: (error: unknown) => void;
  /**
   * The listener failed and stopped accepting (`accept`: Deno.serve at the open-file limit); the
   * adapter listens on the same address again after `retryMs`, and calls this again (`bind`) for
   * each attempt that fails.
   */
  onListenerLost?: (error: unknown, retryMs: number, stage: ListenerLossStage) => void;
  /** ...and is listening again. */
  onListenerRestored?: () => void;
}

export interface RunningServer {
  readonly address: BoundAddress;
  readonly scheme: "http" | "https";
  /**
   * Graceful close: stop accepting, close idle keep-alive connections, and resolve once every
   * in-flight request (streaming bodies included) has finished. `retire`: only this worker stops
   * while others serve on; an adapter may first end keep-alive cleanly (Bun, Deno: a short linger
   * answering with `connection: close`) so that clients move over without a reset.
   */
  close(options?: { retire?: boolean }): Promise<void>;
  /**
   * Cut every remaining connection now (after the graceful timeout). Node's resolves once the
   * sockets have closed, which is when what was cut gets to clean up (a streamed body's cancel(),
   * request.signal): on Node 20 that came after the next timer in 13 runs of 90.
   */
  forceClose(): Promise<void> | void;
  /**
   * With ServeOptions.websocket: true when the runtime pings and drops dead peers itself (Deno's
   * idleTimeout); otherwise the core pings through crossws's peer.ping().
   */
  readonly nativeKeepalive?: boolean;
  /**
   * For apps that hold their runtime's server themselves (LoadedApp.setServer, Elysia's
   * `app.server`): a stand-in answering per request with tsuv's info (the client after proxy
   * headers, --ws bun upgrades). Bun's adapter gives one; elsewhere the app gets the core's
   * (src/app-server.ts), as there is no server object of the runtime's for apps to call, made
   * from `address` unless the adapter knows better (Node on a supervisor's fd: the bound address).
   */
  readonly appServer?: object;
  /**
   * Where workers share one accepting socket (Node), whichever is woken first takes every
   * connection waiting, and a burst of keep-alive connections can all stay on one worker. These two
   * let the supervisor even them out (src/supervisors/balance.ts): the connections open now, less
   * those already asked to end; and shed(n), which ends n of them after their next response
   * (`connection: close`: the client reconnects, and a less busy worker is likely to accept). A
   * later shed() replaces the count still pending, so repeating one does not add up.
   */
  connections?(): number;
  shed?(count: number): void;
}

export type SignalName =
  | "SIGINT"
  | "SIGTERM"
  | "SIGHUP"
  | "SIGTTIN"
  | "SIGTTOU"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGBREAK";

/** A message between a supervisor and one worker (thread or process). */
export type WorkerMessage =
  | { type: "ready"; address: BoundAddress }
  // connections: its kept-alive connections less those it was asked to end (RunningServer.
  // connections), where its server counts them; sheds: how many "shed" messages it had received
  // then, so the supervisor balances on counts made after its last request (balance.ts).
  | { type: "heartbeat"; connections?: number; sheds?: number }
  | { type: "ping"; id: number }
  | { type: "pong"; id: number }
  // retire: only this worker stops (rolling restart, scale-down), others keep serving; see
  // RunningServer.close().
  | { type: "stop"; retire?: boolean }
  // The worker reached --limit-max-requests and serves on until its replacement is ready (only
  // where WorkerBoot.recycle says the supervisor will replace it; then it is retired with "stop").
  | { type: "recycle" }
  // Workers sharing one accepting socket: end this many kept-alive connections after their next
  // response (RunningServer.shed), so that their clients reconnect to a less loaded worker.
  | { type: "shed"; count: number }
  | { type: "fatal"; exitCode: number; message: string };

/** How a worker is told what to serve: the parent's config, plus where to listen. */
export interface WorkerBoot {
  /** The CLI arguments the parent resolved its Config from; the worker resolves the same Config. */
  argv: string[];
  listen: ListenTarget;
  /**
   * The supervisor replaces a worker that asks ("recycle") before it stops it: a worker that
   * reaches --limit-max-requests keeps serving until then, so the workers' listeners (reusePort on
   * Bun and Deno) never all close at once. Without it the worker just stops, as uvicorn's.
   */
  recycle?: boolean;
  /**
   * Whether this worker says the start-up warnings about the app it loads (Bun.serve's options on
   * its export, a listen() of its own, signal listeners of its own). Every worker loads the same
   * app, so the supervisor has the first worker of a start, or of a SIGHUP restart, say them; the
   * rest would only repeat them, four times over under --workers 4. Absent: say them.
   */
  appWarnings?: boolean;
  /**
   * A process worker's stdin is a pipe from its supervisor that nothing is written to: its end
   * (the supervisor's copy closed as it died) tells the worker its parent is gone, where the IPC
   * channel may not (PlumbingOptions.parentPipeEnd).
   */
  parentPipe?: boolean;
  /** A Deno thread's preloads, which Deno does not run there itself (runtime/thread-preloads.ts). */
  preloads?: Preload[];
  /**
   * A thread's process.argv: its supervisor's, as a single server's and a process worker's are
   * (uvicorn's workers and node:cluster's see the command's too), where a thread's own would be
   * the runtime and tsuv's worker module.
   */
  processArgv?: string[];
}

/** A supervisor's handle on one worker, thread or process: the same shape for both. */
export interface WorkerPort {
  /** Process id for process workers; undefined for threads. */
  readonly pid: number | undefined;
  send(message: WorkerMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Fires once, when the worker is gone (exit code, or null if killed by a signal). */
  onExit(listener: (code: number | null) => void): void;
  /** Hard stop: SIGKILL for a process, Worker.terminate() for a thread. */
  kill(): void;
}

/** A socket the parent bound so that workers can share it (Node only, today). */
export interface SharedSocket {
  /** How workers reach it: an fd number valid in threads of this process, or in children via stdio. */
  readonly fd: number;
  readonly address: BoundAddress;
  close(): void;
}

/** An error no code caught: thrown from a callback, or a promise rejected with no handler. */
export type StrayErrorKind = "exception" | "rejection";

export interface RuntimeAdapter {
  readonly info: RuntimeInfo;

  /** Serve HTTP(S) with the runtime's own server. */
  serve(options: ServeOptions): Promise<RunningServer>;

  /** Import a module by absolute path; TypeScript works on every runtime (Node 20: esbuild hook). */
  importModule(absolutePath: string): Promise<Record<string, unknown>>;

  readonly pid: number;
  /** The environment, live: loading an env file writes into it. */
  readonly env: Record<string, string | undefined>;
  /**
   * The names the process was started with, where `env` holds more than that before any script
   * runs (Bun loads ./.env, .env.<NODE_ENV> and .env.local into it), or null when they cannot be
   * told. Absent where `env` is the environment the process was started with.
   */
  startedWithEnv?(): ReadonlySet<string> | null;
  /** Subscribe to a signal; returns an unsubscribe function. Unsupported signals are ignored. */
  onSignal(signal: SignalName, listener: () => void): () => void;
  /**
   * How many listeners the process has for `signal` besides tsuv's own (those added by onSignal, in
   * this thread): the app's (Node, Bun: process.listenerCount). Absent on Deno:
   * Deno.addSignalListener's cannot be counted, and node:process would cost start-up.
   */
  signalListenerCount?(signal: SignalName): number;
  /**
   * Was SIGHUP ignored when the process started (`nohup`, `trap '' HUP`)? A listener would undo
   * that, so a single server listens only when this says no. Linux tells (/proc/self/status);
   * undefined elsewhere, and absent on test doubles.
   */
  hangupIgnored?(): boolean | undefined;
  /**
   * Take over errors nothing caught (a throw in a timer, a rejected promise nobody awaited), which
   * would otherwise end the process; returns an unsubscribe function. Optional for test doubles.
   */
  onStrayError?(listener: (kind: StrayErrorKind, error: unknown) => void): () => void;
  exit(code: number): never;
  /**
   * Call `callback` once, `ms` from now; the returned function cancels it. For tsuv's own short
   * ticks (the server's main loop): setTimeout on Node and Bun; Deno's web timers on Deno, where
   * setTimeout's first call costs 10-14 ms of start-up (runtime/web-timer.ts). A cancelled Deno
   * timer still holds the event loop until its time.
   */
  after(ms: number, callback: () => void): () => void;

  /** Parent-side bind for sharing, or null where workers must bind with reusePort. */
  bindSharedSocket(target: ListenTarget, backlog: number): Promise<SharedSocket | null>;
  /**
   * For workers that each bind with reusePort: check that host:port can be bound (fails fast on
   * EADDRINUSE) and resolve port 0. A port 0 stays bound (with reusePort) until release(), so
   * nothing else takes the kernel's pick before a worker binds it; a fixed port is not held.
   */
  reservePort(host: string, port: number): Promise<PortReservation>;

  /**
   * Why the runtime's server cannot send this Response, or undefined: checked by the request
   * handler on every response (before its access line), so a response that would crash the process
   * is answered 500 and logged instead. Deno: a control character in a header value ends the whole
   * process (runtime/deno-header-values.ts). Absent where the server copes with any Response.
   */
  unsendableResponse?(response: Response): string | undefined;

  /**
   * A configuration of the app's that the runtime does not read, said at start-up (Deno: the app's
   * deno.json, runtime/deno-config.ts), or null. `appDir` and `app` as configured (--app-dir, APP).
   * Absent where there is nothing to say.
   */
  unreadAppConfigWarning?(appDir: string, app: string): string | null;

  /**
   * Count the calls that open a server from now on, to tell when the app's import opened one of its
   * own (an Express app's `app.listen(3000)` at the bottom of its file, a `Bun.serve()` or
   * `Deno.serve()` beside the export); the returned function stops counting and gives the number.
   * Node: node:net listen(); Bun: Bun.serve (its node:http servers go through it); Deno: Deno.serve
   * only (node:net would cost start-up).
   */
  watchListenCalls?(): () => number;

  /** Start a thread worker (Web Worker / worker_threads) running the worker entry. */
  startThread(boot: WorkerBoot): WorkerPort;
  /** Start a process worker: this same tsuv, re-run with a worker role, with an IPC channel. */
  spawnProcess(boot: WorkerBoot, sharedSocket: SharedSocket | null): WorkerPort;

  /** Inside a worker: the channel to its supervisor, or null when running standalone. */
  supervisorChannel(): SupervisorChannel | null;
}

/** A worker's side of the channel to its supervisor. */
export interface SupervisorChannel {
  readonly boot: WorkerBoot;
  send(message: WorkerMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Fires if the supervisor goes away (parent died): the worker must exit. */
  onDisconnect(listener: () => void): void;
}
