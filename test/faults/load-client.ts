/**
 * A small HTTP/1.1 load client of our own, so a fault test can count every request's outcome
 * (wrk and autocannon report errors in aggregate, and retry or hide some of them).
 *
 * N keep-alive connections to one host:port (node:net), one request at a time per connection, the
 * next sent as soon as the previous response is complete. Each request ends as exactly one of:
 * - ok: a complete 2xx response;
 * - non2xx: a complete response with another status;
 * - reset: the connection was reset or closed while the request was outstanding (after it was
 *   written, before its response was complete), including a close before any response byte;
 * - refused: the connection was refused (nothing listening), counted once per attempt;
 * - timeout: no complete response within `timeoutMs` (the connection is then dropped).
 * Nothing is retried: a request that fails is counted as failed and the connection reconnects.
 * A server that ends keep-alive properly (a response with `connection: close`, or a FIN with no
 * request outstanding) is not a failure: the client reconnects (counted in `reconnects`).
 *
 * Throughput is recorded in 100 ms buckets (completed ok responses) from start(), and every failure
 * with its time, kind and the body of the last ok response on its connection (the fixture apps
 * answer with their worker's identity, so a test can tell which worker a failure belonged to).
 */
import { connect, type Socket } from "node:net";

export const BUCKET_MS = 100;

export type Outcome = "ok" | "non2xx" | "reset" | "refused" | "timeout";

export interface LoadOptions {
  port: number;
  host?: string;
  connections: number;
  /** Request target (default "/"). */
  path?: string;
  /** A request with no complete response after this long is a timeout (default 10 s). */
  timeoutMs?: number;
  /** Wait before reconnecting after a refused connection (default 10 ms), so refusal is not a spin. */
  refusedBackoffMs?: number;
  /** Keep the last ok response body per connection (small bodies only; default true). */
  keepBodies?: boolean;
  /**
   * Ask for `connection: close`: one request per connection, so new connections keep arriving
   * (what exercises a closing listener's accept queue). Default false (keep-alive).
   */
  closeEach?: boolean;
}

export interface LoadCounts {
  ok: number;
  non2xx: number;
  reset: number;
  refused: number;
  timeout: number;
  /** Every request that did not end ok. */
  failed: number;
  /** Every request sent or attempted (ok + failed). */
  total: number;
  /** Of `reset`: closed or reset before any byte of the response arrived. */
  resetBeforeResponse: number;
  /** Connections the server ended properly between requests (not failures). */
  reconnects: number;
}

export interface FailureRecord {
  /** Milliseconds since start(). */
  at: number;
  kind: Exclude<Outcome, "ok">;
  /** The connection's index. */
  connection: number;
  /** The body of the last ok response on this connection before the failure ("" if none). */
  lastBody: string;
  /**
   * The socket had served a response before (a kept-alive connection): a reset before any response
   * byte on such a socket is the keep-alive close race; on a fresh one, a reset of a new connection.
   */
  reused: boolean;
  /** The status, for non2xx. */
  status?: number;
}

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

/** Parsed response head. */
interface Head {
  status: number;
  contentLength: number | undefined;
  chunked: boolean;
  close: boolean;
}

export function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const statusLine = lines[0] ?? "";
  const match = statusLine.match(/^HTTP\/1\.[01] (\d{3})(?: |$)/);
  if (!match) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const head: Head = { status: Number(match[1]), contentLength: undefined, chunked: false, close: false };
  if (statusLine.startsWith("HTTP/1.0")) head.close = true;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (name === "content-length") {
      if (!/^\d+$/.test(value)) throw new Error(`bad content-length: ${value}`);
      head.contentLength = Number(value);
    } else if (name === "transfer-encoding") {
      head.chunked = value.split(",").some((coding) => coding.trim() === "chunked");
    } else if (name === "connection") {
      const tokens = value.split(",").map((token) => token.trim());
      if (tokens.includes("close")) head.close = true;
      else if (tokens.includes("keep-alive")) head.close = false;
    }
  }
  return head;
}

/**
 * Incremental parser for one response at a time. feed() returns the bytes left over after a
 * complete response (undefined while incomplete); body() is the decoded body.
 */
export class ResponseParser {
  head: Head | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  /** Chunked decoding: bytes still to read of the current chunk (-1: expecting a size line). */
  private chunkLeft = -1;
  private inTrailers = false;
  /** Bytes of this response seen so far. */
  received = 0;
  /** Whether a body with no length runs to the end of the connection. */
  untilClose = false;
  done = false;

  feed(data: Buffer): Buffer | undefined {
    this.received += data.length;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    for (;;) {
      if (!this.head) {
        const end = this.buffer.indexOf(HEAD_END);
        if (end === -1) return undefined;
        const head = parseHead(this.buffer.subarray(0, end).toString("latin1"));
        this.buffer = this.buffer.subarray(end + 4);
        if (head.status >= 100 && head.status < 200) continue; // interim (100 Continue): skip
        this.head = head;
        if (head.status === 204 || head.status === 304) return this.finish();
        if (!head.chunked && head.contentLength === undefined) this.untilClose = true;
      }
      const head = this.head;
      if (this.untilClose) {
        this.chunks.push(this.buffer);
        this.buffer = Buffer.alloc(0);
        return undefined;
      }
      if (!head.chunked) {
        const length = head.contentLength ?? 0;
        if (this.buffer.length < length) return undefined;
        this.chunks.push(this.buffer.subarray(0, length));
        this.buffer = this.buffer.subarray(length);
        return this.finish();
      }
      // Chunked.
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, this.buffer.length);
        this.chunks.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.chunkLeft -= take;
        if (this.chunkLeft > 0) return undefined;
        this.chunkLeft = -2; // expecting the CRLF after the data
      }
      const eol = this.buffer.indexOf(CRLF);
      if (eol === -1) return undefined;
      const line = this.buffer.subarray(0, eol).toString("latin1");
      this.buffer = this.buffer.subarray(eol + 2);
      if (this.inTrailers) {
        if (line === "") return this.finish();
        continue;
      }
      if (this.chunkLeft === -2) {
        if (line !== "") throw new Error("bad chunk: no CRLF after the data");
        this.chunkLeft = -1;
        continue;
      }
      const size = Number.parseInt(line.split(";")[0]?.trim() ?? "", 16);
      if (!/^[0-9a-fA-F]+/.test(line) || Number.isNaN(size)) throw new Error(`bad chunk size: ${line}`);
      if (size === 0) this.inTrailers = true;
      else this.chunkLeft = size;
    }
  }

  /** The connection ended: completes a body that runs until close; false if the response is cut. */
  end(): boolean {
    if (this.head && this.untilClose) {
      this.done = true;
      return true;
    }
    return this.done;
  }

  body(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  private finish(): Buffer {
    this.done = true;
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}

interface Conn {
  index: number;
  socket: Socket | undefined;
  parser: ResponseParser | undefined;
  /** When the outstanding request was written (undefined: none outstanding). */
  sentAt: number | undefined;
  /** Requests completed on the current socket. */
  served: number;
  lastBody: string;
}

export class LoadClient {
  readonly options: Required<LoadOptions>;
  private readonly request: Buffer;
  private readonly conns: Conn[] = [];
  private readonly count: LoadCounts = {
    ok: 0,
    non2xx: 0,
    reset: 0,
    refused: 0,
    timeout: 0,
    failed: 0,
    total: 0,
    resetBeforeResponse: 0,
    reconnects: 0,
  };
  /** ok responses per BUCKET_MS since start. */
  readonly buckets: number[] = [];
  readonly failures: FailureRecord[] = [];
  private startedAt = 0;
  private running = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private idle: (() => void) | undefined;

  constructor(options: LoadOptions) {
    this.options = {
      host: "127.0.0.1",
      path: "/",
      timeoutMs: 10_000,
      refusedBackoffMs: 10,
      keepBodies: true,
      closeEach: false,
      ...options,
    };
    const close = this.options.closeEach ? "Connection: close\r\n" : "";
    this.request = Buffer.from(
      `GET ${this.options.path} HTTP/1.1\r\nHost: ${this.options.host}\r\n${close}\r\n`,
    );
  }

  /** Milliseconds since start(). */
  now(): number {
    return performance.now() - this.startedAt;
  }

  start(): this {
    this.startedAt = performance.now();
    this.running = true;
    for (let i = 0; i < this.options.connections; i++) {
      const conn: Conn = {
        index: i,
        socket: undefined,
        parser: undefined,
        sentAt: undefined,
        served: 0,
        lastBody: "",
      };
      this.conns.push(conn);
      this.open(conn);
    }
    this.sweeper = setInterval(() => this.sweep(), 50);
    return this;
  }

  counts(): LoadCounts {
    return { ...this.count };
  }

  /** The last ok body of each connection (the worker it was last served by). */
  lastBodies(): string[] {
    return this.conns.map((conn) => conn.lastBody);
  }

  /** Stop sending; outstanding requests finish (or time out); resolves with the final counts. */
  async stop(): Promise<LoadCounts> {
    this.running = false;
    if (this.conns.some((conn) => conn.sentAt !== undefined)) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
      });
    }
    clearInterval(this.sweeper);
    for (const conn of this.conns) conn.socket?.destroy();
    return this.counts();
  }

  private open(conn: Conn): void {
    if (!this.running) return;
    const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true });
    conn.socket = socket;
    conn.served = 0;
    let connected = false;
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (data: Buffer) => {
      if (conn.socket !== socket) return;
      this.onData(conn, data);
    });
    // "close" follows "end" and "error": one place decides what the end of the socket meant.
    let error: NodeJS.ErrnoException | undefined;
    socket.on("error", (err: NodeJS.ErrnoException) => {
      error = err;
    });
    socket.on("end", () => {
      // The server half-closed: finish a body that runs until close, else the socket is done.
      if (conn.socket === socket) socket.end();
    });
    socket.on("close", () => {
      if (conn.socket !== socket) return; // replaced already (timeout, or a connection: close)
      conn.socket = undefined;
      if (!connected && error?.code === "ECONNREFUSED") {
        conn.sentAt = undefined;
        this.record(conn, "refused");
        setTimeout(() => this.open(conn), this.options.refusedBackoffMs);
        return;
      }
      if (conn.sentAt !== undefined) {
        const parser = conn.parser;
        if (!error && parser?.end()) this.complete(conn, parser);
        else {
          if (!parser || parser.received === 0) this.count.resetBeforeResponse++;
          conn.sentAt = undefined;
          this.record(conn, "reset");
        }
      } else {
        this.count.reconnects++;
      }
      this.open(conn);
    });
    this.send(conn);
  }

  private send(conn: Conn): void {
    if (!this.running || !conn.socket) {
      this.checkIdle();
      return;
    }
    conn.parser = new ResponseParser();
    conn.sentAt = performance.now();
    conn.socket.write(this.request);
  }

  private onData(conn: Conn, data: Buffer): void {
    const parser = conn.parser;
    if (!parser || conn.sentAt === undefined) {
      // Bytes with no request outstanding: the server is confused; drop the connection.
      conn.socket?.destroy();
      return;
    }
    let rest: Buffer | undefined;
    try {
      rest = parser.feed(data);
    } catch {
      // Unparseable response: a failure of that request (counted as a reset of the connection).
      this.dropOutstanding(conn, "reset");
      return;
    }
    if (rest === undefined) return;
    this.complete(conn, parser);
    if (rest.length) {
      conn.socket?.destroy(); // bytes after a complete response we never asked for
      return;
    }
    if (parser.head?.close || parser.untilClose || this.options.closeEach) {
      // The server ends keep-alive properly: reconnect (not a failure).
      const old = conn.socket;
      conn.socket = undefined;
      old?.destroy();
      this.count.reconnects++;
      this.open(conn);
      return;
    }
    conn.served++;
    this.send(conn);
  }

  private complete(conn: Conn, parser: ResponseParser): void {
    conn.sentAt = undefined;
    const status = parser.head?.status ?? 0;
    if (status >= 200 && status < 300) {
      if (this.options.keepBodies) conn.lastBody = parser.body();
      this.record(conn, "ok");
    } else {
      this.record(conn, "non2xx", status);
    }
  }

  /** Fail the outstanding request, drop the socket, reconnect. */
  private dropOutstanding(conn: Conn, kind: "reset" | "timeout"): void {
    const old = conn.socket;
    conn.socket = undefined;
    old?.destroy();
    if (conn.sentAt !== undefined) {
      conn.sentAt = undefined;
      this.record(conn, kind);
    }
    this.open(conn);
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.conns) {
      if (conn.sentAt !== undefined && now - conn.sentAt > this.options.timeoutMs) {
        this.dropOutstanding(conn, "timeout");
      }
    }
    this.checkIdle();
  }

  private record(conn: Conn, kind: Outcome, status?: number): void {
    this.count.total++;
    if (kind === "ok") {
      this.count.ok++;
      const bucket = Math.floor(this.now() / BUCKET_MS);
      while (this.buckets.length <= bucket) this.buckets.push(0);
      this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1;
    } else {
      this.count[kind]++;
      this.count.failed++;
      const record: FailureRecord = {
        at: this.now(),
        kind,
        connection: conn.index,
        lastBody: conn.lastBody,
        reused: conn.served > 0,
      };
      if (status !== undefined) record.status = status;
      this.failures.push(record);
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (!this.running && this.idle && this.conns.every((conn) => conn.sentAt === undefined)) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }
}

/** Run a load for `ms` milliseconds and return the client (stopped). */
export async function loadFor(options: LoadOptions, ms: number): Promise<LoadClient> {
  const client = new LoadClient(options).start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  await client.stop();
  return client;
}

/**
 * Milliseconds after `fromMs` until throughput is back: the end of the first window of
 * `windowBuckets` buckets whose mean reaches `fraction` of `baseline` (ok per bucket). Infinity if
 * it never does within the recorded buckets.
 */
export function recoveryMs(
  buckets: number[],
  fromMs: number,
  baseline: number,
  fraction = 0.8,
  windowBuckets = 3,
): number {
  const first = Math.floor(fromMs / BUCKET_MS);
  for (let i = first; i + windowBuckets <= buckets.length; i++) {
    let sum = 0;
    for (let j = i; j < i + windowBuckets; j++) sum += buckets[j] ?? 0;
    if (sum / windowBuckets >= baseline * fraction) return (i + windowBuckets) * BUCKET_MS - fromMs;
  }
  return Number.POSITIVE_INFINITY;
}

/** Median of ok-per-bucket over [fromMs, toMs). */
export function medianThroughput(buckets: number[], fromMs: number, toMs: number): number {
  const slice = buckets
    .slice(Math.floor(fromMs / BUCKET_MS), Math.floor(toMs / BUCKET_MS))
    .sort((a, b) => a - b);
  return slice.length ? (slice[Math.floor(slice.length / 2)] as number) : 0;
}
