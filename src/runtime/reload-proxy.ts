/**
 * The reloader's front door where a runtime cannot hand a listening socket to a child (Bun, Deno):
 * the reloader listens on the user's address itself and pipes each connection, byte for byte, to
 * the current child, which listens on 127.0.0.1 on a port of its own. It plays the part of Node's
 * inherited socket, whose kernel backlog keeps connections waiting while a child restarts:
 *
 * - While no child is ready (a restart in progress, a child that failed to start or died), new
 *   connections are held: read and buffered, not refused. Once a child reports ready they are piped
 *   to it. A connection held for HOLD_LIMIT_MS is answered 503 (if it looks like HTTP) and closed.
 * - Connections already piped to the old child keep going while it drains.
 * - A request the old child never answered is sent again to the next child: the client's bytes
 *   since the last byte that came back are kept (up to REPLAY_LIMIT_BYTES) and replayed when the
 *   connection to a child that is being replaced ends without an answer (it closed an idle
 *   keep-alive connection as the client reused it, or it stopped listening before accepting), or
 *   when the child could not be reached at all.
 *
 * It knows nothing of HTTP or TLS (the child terminates TLS), so the app sees 127.0.0.1 as the peer.
 * node:net is used directly: Bun and Deno both implement it, and this runs only in the reloader.
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { BoundAddress } from "./adapter.ts";
import { bareHost, bindError, unixBindError } from "./bind-error.ts";
import { claimSocketPath, makeSocketWorldWritable, removeSocketFile } from "./unix-socket.ts";

/** A connection waits this long for a ready child; then it is answered 503 and closed. */
export const HOLD_LIMIT_MS = 30_000;
/** Client bytes kept for a replay; a connection that sent more without an answer is not replayed. */
export const REPLAY_LIMIT_BYTES = 64 * 1024;
/** Tries per connection (the first included) before it is given up. */
const MAX_ATTEMPTS = 4;

export interface Upstream {
  host: string;
  port: number;
}

export type ProxyListen = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

const HOLD_EXPIRED_BODY = "The app is not running: tsuv --reload is waiting for a change.\n";
const HOLD_EXPIRED_RESPONSE = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ${HOLD_EXPIRED_BODY.length}\r\n\r\n${HOLD_EXPIRED_BODY}`;

/** Do these bytes start an HTTP/1 request ("GET /...")? */
function looksLikeHttp(chunks: Buffer[]): boolean {
  const head = Buffer.concat(chunks).subarray(0, 16).toString("latin1");
  return /^[A-Z]+ \S/.test(head);
}

/** Does this chunk start a plain HTTP/1.1 request that keeps its connection open? */
function isKeepAliveRequest(chunk: Buffer): boolean {
  const head = chunk.subarray(0, 8192).toString("latin1");
  return /^[A-Z]+ \S+ HTTP\/1\.1\r?\n/.test(head) && !/\nconnection:[ \t]*[^\r\n]*close/i.test(head);
}

export class ReloadProxy {
  private server: Server | undefined;
  private listenTarget: ProxyListen | undefined;
  private upstream: Upstream | undefined;
  /** Bumped on every hold() and route(): a connection routed under an older one is stale. */
  private generation = 0;
  private readonly connections = new Set<Connection>();
  private readonly held = new Set<Connection>();

  constructor(
    private readonly options: {
      os: string;
      holdLimitMs?: number;
      onError?: (error: unknown) => void;
    },
  ) {}

  /** Bind the user's address; bind failures are uvicorn's one-line ConfigError. Starts held. */
  async listen(target: ProxyListen, backlog: number): Promise<BoundAddress> {
    if (target.kind === "unix") await claimSocketPath(target.path);
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    this.listenTarget = target;
    return await new Promise((resolve, reject) => {
      const failed = (error: unknown) => {
        this.server = undefined;
        reject(
          target.kind === "unix"
            ? unixBindError(error, target.path)
            : bindError(error, target.host, target.port, this.options.os),
        );
      };
      server.once("error", failed);
      const listening = () => {
        server.off("error", failed);
        server.on("error", (error) => this.options.onError?.(error));
        if (target.kind === "unix") {
          makeSocketWorldWritable(target.path);
          resolve(target);
          return;
        }
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : target.port;
        resolve({ kind: "tcp", host: target.host, port });
      };
      if (target.kind === "unix") server.listen({ path: target.path, backlog }, listening);
      else server.listen({ host: bareHost(target.host), port: target.port, backlog }, listening);
    });
  }

  /** A restart began (or the child is gone): new connections wait for the next route(). */
  hold(): void {
    if (this.upstream === undefined) return;
    this.upstream = undefined;
    this.generation += 1;
  }

  /** A child is ready at `upstream`: new and held connections go there. */
  route(upstream: Upstream): void {
    this.upstream = upstream;
    this.generation += 1;
    for (const connection of [...this.held]) {
      this.held.delete(connection);
      connection.connectTo(upstream, this.generation);
    }
  }

  /** Connections open now (piped or held). */
  get size(): number {
    return this.connections.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Shutdown, first step: accept nothing more, drop held connections; piped ones go on draining. */
  stopAccepting(): void {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.close();
      const target = this.listenTarget;
      if (target?.kind === "unix") removeSocketFile(target.path);
    }
    for (const connection of [...this.held]) connection.destroy();
  }

  /** Shutdown, last step: cut whatever is left. */
  close(): void {
    this.stopAccepting();
    for (const connection of [...this.connections]) connection.destroy();
  }

  private accept(client: Socket): void {
    if (!this.server) {
      client.destroy();
      return;
    }
    const connection = new Connection(client, this.options.holdLimitMs ?? HOLD_LIMIT_MS, {
      requeue: (c) => this.requeue(c),
      hold: (c) => this.held.add(c),
      gone: (c) => {
        this.connections.delete(c);
        this.held.delete(c);
      },
      isStale: (generation) => generation !== this.generation,
    });
    this.connections.add(connection);
    this.requeue(connection);
  }

  /** Pipe to the current child, or hold until there is one (a failed try waits for the next child). */
  private requeue(connection: Connection): void {
    // Shutting down: no child is coming.
    if (!this.server) {
      connection.destroy();
      return;
    }
    const upstream = this.upstream;
    if (upstream && connection.generation !== this.generation)
      connection.connectTo(upstream, this.generation);
    else connection.holdFor();
  }
}

interface ConnectionHost {
  requeue(connection: Connection): void;
  hold(connection: Connection): void;
  gone(connection: Connection): void;
  isStale(generation: number): boolean;
}

/** One client connection and its current upstream (a connection to a child), if any. */
class Connection {
  /** The route generation of the current upstream (-1: never routed). */
  generation = -1;
  private upstream: Socket | undefined;
  private upstreamConnected = false;
  /** Client bytes since the last byte from upstream (all of them before the first connect). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** pending holds everything unanswered, so a replay is possible. */
  private replayable = true;
  private clientEnded = false;
  /** A child has sent something on this connection: later bytes are replayable only as HTTP. */
  private answeredOnce = false;
  private clientSentAny = false;
  /** The last request was plain HTTP/1.1 without `connection: close`. */
  private keepAliveRequest = false;
  /** The child ended its side and the client was told so: nothing more flows either way. */
  private upstreamEnded = false;
  private attempts = 0;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly client: Socket,
    private readonly holdLimitMs: number,
    private readonly host: ConnectionHost,
  ) {
    client.setNoDelay(true);
    client.on("data", (chunk: Buffer) => this.fromClient(chunk));
    client.on("end", () => {
      this.clientEnded = true;
      if (this.upstream && this.upstreamConnected) this.upstream.end();
    });
    client.on("error", () => this.destroy());
    client.on("close", () => this.destroy());
  }

  holdFor(): void {
    if (this.closed) return;
    this.host.hold(this);
    if (this.holdTimer === undefined) this.holdTimer = setTimeout(() => this.expire(), this.holdLimitMs);
  }

  connectTo(target: Upstream, generation: number): void {
    if (this.closed) return;
    this.attempts += 1;
    if (this.attempts > MAX_ATTEMPTS) {
      this.destroy();
      return;
    }
    if (this.holdTimer !== undefined) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    this.generation = generation;
    this.upstreamConnected = false;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on("connect", () => {
      if (this.upstream !== upstream) return;
      this.upstreamConnected = true;
      for (const chunk of this.pending) upstream.write(chunk);
      if (this.pendingBytes > REPLAY_LIMIT_BYTES) this.forgetPending();
      this.client.resume();
      if (this.clientEnded) upstream.end();
    });
    upstream.on("data", (chunk: Buffer) => {
      if (this.upstream !== upstream) return;
      this.answeredOnce = true;
      this.attempts = 0;
      this.pending = [];
      this.pendingBytes = 0;
      this.replayable = true;
      if (!this.client.write(chunk)) {
        upstream.pause();
        this.client.once("drain", () => upstream.resume());
      }
    });
    // 'end': the child closed its side (forwarded as the client's end of stream, so a response
    // delimited by the close stays whole); 'error'/'close': the connection to it is gone.
    upstream.on("end", () => this.upstreamLost(upstream, true));
    upstream.on("error", () => this.upstreamLost(upstream, false));
    upstream.on("close", () => this.upstreamLost(upstream, false));
  }

  private upstreamLost(upstream: Socket, graceful: boolean): void {
    if (this.upstream !== upstream || this.closed) return;
    // Never reached a child, or a child being replaced left a request unanswered: try the next one.
    if (!this.upstreamConnected || (this.replayablePending() && this.host.isStale(this.generation))) {
      this.detach();
      this.host.requeue(this);
      return;
    }
    if (this.upstreamEnded) return;
    if (graceful && this.pendingBytes === 0 && !this.clientEnded && this.host.isStale(this.generation)) {
      // A child being replaced closed a connection with nothing outstanding: if nothing was ever
      // said on it, or it is an HTTP/1.1 keep-alive connection between requests (every response
      // framed by its length, so the close ends nothing), keep the client's side open for the next
      // child instead of passing on a close that a request sent right now would run into.
      if (!this.answeredOnce && !this.clientSentAny) {
        this.detach();
        this.host.requeue(this);
        return;
      }
      if (this.answeredOnce && this.keepAliveRequest) {
        this.detach();
        this.host.requeue(this);
        return;
      }
    }
    if (graceful) {
      this.upstreamEnded = true;
      // The client's 'close' (once it ends too) finishes the connection.
      this.client.end();
      return;
    }
    this.destroy();
  }

  private fromClient(chunk: Buffer): void {
    const upstream = this.upstream;
    if (this.upstreamEnded) return;
    this.clientSentAny = true;
    // The start of a request (nothing outstanding before it): may its connection be kept open?
    if (this.pendingBytes === 0) this.keepAliveRequest = isKeepAliveRequest(chunk);
    if (upstream && this.upstreamConnected) {
      if (this.replayable) this.keep(chunk);
      if (!upstream.write(chunk)) {
        this.client.pause();
        upstream.once("drain", () => this.client.resume());
      }
      return;
    }
    // Held or connecting: these bytes exist only here until a child takes them.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > REPLAY_LIMIT_BYTES) this.client.pause();
  }

  /**
   * The unanswered bytes can start over on a new connection: everything the client sent (a request,
   * or a TLS handshake), or, after earlier answers, a plain HTTP request on a reused keep-alive
   * connection (not TLS records or WebSocket frames, which belong to the old connection's state).
   */
  private replayablePending(): boolean {
    if (!this.replayable || this.pendingBytes === 0) return false;
    return !this.answeredOnce || looksLikeHttp(this.pending);
  }

  private keep(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > REPLAY_LIMIT_BYTES) this.forgetPending();
  }

  private forgetPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.replayable = false;
  }

  /** Drop the current upstream without touching the client. */
  private detach(): void {
    const upstream = this.upstream;
    this.upstream = undefined;
    this.upstreamConnected = false;
    upstream?.destroy();
  }

  private expire(): void {
    this.holdTimer = undefined;
    if (this.closed) return;
    if (looksLikeHttp(this.pending)) {
      this.client.end(HOLD_EXPIRED_RESPONSE);
      this.closed = true;
      this.host.gone(this);
      setTimeout(() => this.client.destroy(), 1000).unref?.();
      return;
    }
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.detach();
    this.client.destroy();
    this.host.gone(this);
  }
}
