/**
 * The Request a fetch app receives on Node.js: a stand-in over node:http's IncomingMessage that
 * builds nothing until asked. `method`, `url`, `headers.get/has`, `signal` and the body readers
 * (`text`, `json`, `arrayBuffer`, `bytes`, `body`) read the IncomingMessage directly; anything else
 * (`formData`, `clone`, `cache`...) builds the real undici Request once and forwards to it.
 * `instanceof Request` holds (the prototype chain includes Request.prototype). Its `url` is
 * node-request-url.ts's.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { TOKEN } from "../http-fields.ts";
import { FORBIDDEN_METHOD } from "../request-url.ts";
import { delegateMissing, nativeClass, streamUsedOrLocked } from "./node-lazy.ts";
import { abortError, requestBodyStream } from "./node-request-body.ts";
import { requestUrl } from "./node-request-url.ts";

const NativeRequest = nativeClass(Symbol.for("tsuv.nativeRequest"), globalThis.Request);
const NativeHeaders = nativeClass(Symbol.for("tsuv.nativeHeaders"), globalThis.Headers);

/** Marks our stand-ins so patched globals (node-globals.ts) can unwrap them for undici. */
export const kToNative: unique symbol = Symbol.for("tsuv.toNative");

/**
 * For a body already read when the real Request is built: undici would refuse the read stream
 * itself, so it gets an empty one, which _native then reads, leaving the Request used.
 */
function spentBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

function bodyUnusable(): TypeError {
  return new TypeError("Body is unusable: Body has already been read");
}

/**
 * The whole request body, read straight from the IncomingMessage, as `finish` makes it of the bytes
 * (a decoded string, parsed JSON...). `finish` runs when the last chunk is in, so the promise
 * settles once, with the value the app asked for: resolving one with a Buffer would make V8 look up
 * `then` along Buffer's prototype chain, and a second promise hop would cost a microtask.
 * The listeners stay on the request when it is done: it is dropped with them when the exchange
 * ends, and removing them (or `once`'s wrappers) turns node:http's per-request listener maps into
 * dictionaries, which slows every request after (measured with perf on Node 20: `delete` in
 * removeListener made the IncomingMessage and EventEmitter code megamorphic).
 */
function readAll<T>(req: IncomingMessage, finish: (body: Buffer) => T): Promise<T> {
  if (req.readableEnded) return settle(Buffer.alloc(0), finish);
  if (req.destroyed) return Promise.reject(req.errored ?? abortError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      try {
        resolve(finish(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    req.on("error", fail);
    // 'close' before 'end': the client went away mid-body. (After 'end' it is the exchange's own
    // close: the error is not built then, as building one captures a stack.)
    req.on("close", () => {
      if (!settled) fail(req.errored ?? abortError());
    });
  });
}

/** `finish(body)` as a settled promise (an empty body already read). */
function settle<T>(body: Buffer, finish: (body: Buffer) => T): Promise<T> {
  try {
    return Promise.resolve(finish(body));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The Fetch spec's "UTF-8 decode", which text() and json() use: a leading byte order mark is dropped
 * (as undici, Bun and Deno's text() drop it), so JSON sent with one still parses.
 */
function utf8Decode(buf: Buffer): string {
  const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return buf.toString("utf8", bom ? 3 : 0);
}

function parseJson(buf: Buffer): unknown {
  return JSON.parse(utf8Decode(buf));
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  // Node Buffers may view a shared pool: copy out exactly this body.
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function toBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(toArrayBuffer(buf));
}

/**
 * How values of a header sent twice are joined: Cookie with "; " (a cookie list, as undici's
 * Headers, node:http, Bun and Deno join it: with ", " a parser would read "a=1, b=2" as one cookie),
 * every other header with ", ".
 */
function joiner(key: string): string {
  return key === "cookie" ? "; " : ", ";
}

/**
 * The last two names found to be tokens: the proxy check asks every request for the same two headers
 * it almost never has, and a regular expression test for each was ~0.2% of a json request on Node 20
 * (perf). Seeded with a space, which no token holds.
 */
let knownToken = " ";
let knownTokenBefore = " ";

function isToken(key: string): boolean {
  if (key === knownToken || key === knownTokenBefore) return true;
  if (!TOKEN.test(key)) return false;
  knownTokenBefore = knownToken;
  knownToken = key;
  return true;
}

/** Is the raw header name `name` the lowercase `key`? (No string built unless the case differs.) */
function sameName(name: string, key: string): boolean {
  return name.length === key.length && (name === key || name.toLowerCase() === key);
}

/** The request's headers: `get`/`has` read node:http's parsed headers; the rest builds undici Headers. */
export class NodeRequestHeaders {
  #req: IncomingMessage;
  #native: Headers | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
  }

  /** The real Headers, built once from the raw header list (duplicates and order kept). */
  get _native(): Headers {
    if (!this.#native) {
      const headers = new NativeHeaders();
      const raw = this.#req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
      this.#native = headers;
    }
    return this.#native;
  }

  /** From now on, be the headers of this (materialized) Request. */
  _adopt(headers: Headers): void {
    this.#native = headers;
  }

  // get/has scan the raw header list: node:http's headersDistinct (or headers) would build an
  // object of every header on first use, for a lookup or two per request (the proxy-headers check
  // asks every request for two headers it almost never has). A name that is not a token goes to
  // undici, to throw its TypeError.
  get(name: string): string | null {
    if (this.#native) return this.#native.get(name);
    const key = String(name).toLowerCase();
    const raw = this.#req.rawHeaders;
    let value: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      if (sameName(raw[i] as string, key)) {
        value = value === null ? (raw[i + 1] as string) : `${value}${joiner(key)}${raw[i + 1] as string}`;
      }
    }
    if (value !== null) return value;
    return isToken(key) ? null : this._native.get(name);
  }

  has(name: string): boolean {
    if (this.#native) return this.#native.has(name);
    const key = String(name).toLowerCase();
    const raw = this.#req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (sameName(raw[i] as string, key)) return true;
    return isToken(key) ? false : this._native.has(name);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this._native[Symbol.iterator]();
  }
}
delegateMissing(NodeRequestHeaders.prototype, NativeHeaders.prototype, "_native");
Object.setPrototypeOf(NodeRequestHeaders.prototype, NativeHeaders.prototype);

export class NodeRequest {
  #req: IncomingMessage;
  #res: ServerResponse;
  #secure: boolean;
  /** Built on first use: many apps (and a hello world) never read it. */
  #url: string | undefined;
  #headers: NodeRequestHeaders | undefined;
  #abort: AbortController | undefined;
  #native: Request | undefined;
  /** undefined: not asked for yet; null: no body (GET/HEAD). */
  #body: ReadableStream<Uint8Array> | null | undefined;
  #bodyUsed = false;
  /** The client sent `Expect: 100-continue` and is told to send its body once the app reads it. */
  #continueOwed: boolean;

  constructor(req: IncomingMessage, res: ServerResponse, secure: boolean, continueOwed = false) {
    this.#req = req;
    this.#res = res;
    this.#secure = secure;
    this.#continueOwed = continueOwed;
  }

  /**
   * `100 Continue`, as uvicorn sends it: when the app first reads the body. An app that answers
   * without reading it (a 401, a 413) spares the client the upload; node:http then closes the
   * connection after the answer, as the client may not send the body at all.
   */
  #sendContinue(): void {
    if (!this.#continueOwed) return;
    this.#continueOwed = false;
    if (!this.#res.headersSent) this.#res.writeContinue();
  }

  get method(): string {
    return this.#req.method ?? "GET";
  }

  get url(): string {
    this.#url ??= requestUrl(this.#req, this.#secure);
    return this.#url;
  }

  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    this.#headers ??= new NodeRequestHeaders(this.#req);
    return this.#headers as unknown as Headers;
  }

  /** Aborted when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    if (this.#native) return this.#native.signal;
    return this.#controller().signal;
  }

  #controller(): AbortController {
    if (!this.#abort) {
      const controller = new AbortController();
      this.#abort = controller;
      const res = this.#res;
      const onClose = () => {
        if (!res.writableFinished) controller.abort(this.#req.errored ?? abortError());
      };
      if (res.closed || res.destroyed) onClose();
      else res.once("close", onClose);
    }
    return this.#abort;
  }

  #hasBody(): boolean {
    const method = this.#req.method;
    return method !== "GET" && method !== "HEAD";
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#native) return this.#native.body;
    if (this.#body === undefined) {
      if (!this.#hasBody()) this.#body = null;
      // Read by text() and the like: the body is still there, used, as undici's is.
      else if (this.#bodyUsed) return this._native.body;
      else this.#body = requestBodyStream(this.#req, this.#res, () => this.#sendContinue());
    }
    return this.#body;
  }

  get bodyUsed(): boolean {
    if (this.#native) return this.#native.bodyUsed;
    if (!this.#bodyUsed && this.#body && Readable.isDisturbed(this.#body as never)) this.#bodyUsed = true;
    return this.#bodyUsed;
  }

  /** The body read straight from the socket and made into a `finish`, when nothing else has claimed it. */
  #buffered<T>(finish: (body: Buffer) => T): Promise<T> | undefined {
    if (this.#native || this.#body) return undefined;
    // No body (GET, HEAD) is never used: each read gives "", as undici's does.
    if (!this.#hasBody()) return settle(Buffer.alloc(0), finish);
    if (this.#bodyUsed) return Promise.reject(bodyUnusable());
    this.#bodyUsed = true;
    this.#sendContinue();
    return readAll(this.#req, finish);
  }

  text(): Promise<string> {
    return this.#buffered(utf8Decode) ?? this._native.text();
  }

  json(): Promise<unknown> {
    return this.#buffered(parseJson) ?? this._native.json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#buffered(toArrayBuffer) ?? this._native.arrayBuffer();
  }

  bytes(): Promise<Uint8Array> {
    const buffered = this.#buffered(toBytes);
    if (buffered) return buffered;
    const native = this._native as Request & { bytes?: () => Promise<Uint8Array> };
    return native.bytes ? native.bytes() : native.arrayBuffer().then((ab) => new Uint8Array(ab));
  }

  /** The real undici Request, built once; from then on every property forwards to it. */
  get _native(): Request {
    if (!this.#native) {
      const unread = this.#hasBody() ? this.#unreadBody() : null;
      const body = unread === undefined ? spentBody() : unread;
      this.#headers ??= new NodeRequestHeaders(this.#req);
      const init: RequestInit & { duplex?: "half" } = {
        // undici refuses a Request for CONNECT, TRACE and TRACK (the fetch spec's forbidden
        // methods), which node:http hands over like any other: reading such a request's body threw
        // (a 500 and tsuv's stack trace). The real Request gets a method that takes the same body;
        // this one's `method` stays the request's.
        method: FORBIDDEN_METHOD.test(this.method) ? (body ? "POST" : "GET") : this.method,
        headers: this.#headers._native,
        signal: this.#controller().signal,
      };
      if (body) {
        init.body = body;
        init.duplex = "half";
      }
      const native = new NativeRequest(this.url, init);
      // A body read here already (text() and the like, or its stream): the real Request's is used
      // too, so a second read or a clone() is refused as undici refuses it.
      if (unread === undefined) void native.arrayBuffer().catch(() => {});
      this.#headers?._adopt(native.headers);
      this.#native = native;
      this.#body = undefined;
    }
    return this.#native;
  }

  /** The request's body stream for the real Request, or undefined when it has been read. */
  #unreadBody(): ReadableStream<Uint8Array> | undefined {
    const stream = this.#bodyUsed ? undefined : this.body;
    if (!stream || streamUsedOrLocked(stream)) return undefined;
    return stream;
  }

  get [kToNative](): Request {
    return this._native;
  }
}
delegateMissing(NodeRequest.prototype, NativeRequest.prototype, "_native");
Object.setPrototypeOf(NodeRequest.prototype, NativeRequest.prototype);
