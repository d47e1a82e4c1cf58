/**
 * The RuntimeAdapter contract: everything tsuv needs from Node.js, Bun or Deno, and nothing more.
 * Only files under src/runtime/ implement it or touch runtime globals; the rest of tsuv (config,
 * app loading, middleware, supervisors' decisions) talks to this interface and is tested with fakes.
 */
import type { RuntimeInfo } from "./detect.ts";

export type { RuntimeInfo } from "./detect.ts";

/** The peer of a request, before proxy headers are applied. */
export interface ClientAddress {
  hostname: string;
  port: number;
}

/** What a fetch-interface app receives beside the Request (Deno's ServeHandlerInfo shape). */
export interface RequestInfo {
  remoteAddr: ClientAddress;
}

export type FetchHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

/** A node:http request listener (Express, Koa's callback()). Typed loosely: it is the app's. */
// biome-ignore lint/suspicious/noExplicitAny: node-interface apps take node:http objects we do not type here
export type NodeRequestListener = (req: any, res: any) => void;

export type ListenTarget =
  | { kind: "tcp"; host: string; port: number; reusePort: boolean }
  | { kind: "unix"; path: string }
  | { kind: "fd"; fd: number };

/** What a server really listens on, once bound (port 0 resolved). */
export type BoundAddress =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string }
  | { kind: "fd"; fd: number };

export interface TlsMaterial {
  key: string;
  cert: string;
  passphrase?: string;
  ca?: string;
}

export interface ServeOptions {
  listen: ListenTarget;
  backlog: number;
  tls?: TlsMaterial;
  /** Idle keep-alive connections are closed after this long. */
  keepAliveTimeoutMs: number;
  /** Exactly one of fetch / node is set, by the app's interface. */
  fetch?: FetchHandler;
  node?: NodeRequestListener;
  /** Called for errors the runtime reports outside any handler (bad TLS handshake, socket errors). */
  onError?: (error: unknown) => void;
}

export interface RunningServer {
  readonly address: BoundAddress;
  readonly scheme: "http" | "https";
  /**
   * Graceful close: stop accepting, close idle keep-alive connections, and resolve once every
   * in-flight request (streaming bodies included) has finished.
   */
  close(): Promise<void>;
  /** Cut every remaining connection now (after the graceful timeout). */
  forceClose(): void;
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
  | { type: "heartbeat" }
  | { type: "ping"; id: number }
  | { type: "pong"; id: number }
  | { type: "stop" }
  | { type: "fatal"; exitCode: number; message: string };

/** How a worker is told what to serve: the parent's config, plus where to listen. */
export interface WorkerBoot {
  /** The CLI arguments the parent resolved its Config from; the worker resolves the same Config. */
  argv: string[];
  listen: ListenTarget;
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

export interface RuntimeAdapter {
  readonly info: RuntimeInfo;

  /** Serve HTTP(S) with the runtime's own server. */
  serve(options: ServeOptions): Promise<RunningServer>;

  /** Import a module by absolute path; TypeScript works on every runtime (Node 20: esbuild hook). */
  importModule(absolutePath: string): Promise<Record<string, unknown>>;

  readonly pid: number;
  /** The environment, live: loading an env file writes into it. */
  readonly env: Record<string, string | undefined>;
  /** Subscribe to a signal; returns an unsubscribe function. Unsupported signals are ignored. */
  onSignal(signal: SignalName, listener: () => void): () => void;
  exit(code: number): never;

  /** Parent-side bind for sharing, or null where workers must bind with reusePort. */
  bindSharedSocket(target: ListenTarget, backlog: number): Promise<SharedSocket | null>;
  /** Check that host:port can be bound (fails fast on EADDRINUSE) and resolve port 0. */
  probePort(host: string, port: number): Promise<number>;

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
