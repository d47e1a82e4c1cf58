/**
 * FastResponse: the Response class fetch apps get on Node.js (installed as globalThis.Response by
 * node-globals.ts), and responseParts(), which turns any Response into what node:http writes.
 *
 * FastResponse keeps the body and init as given and hands them to node:http directly: a string or
 * bytes body goes out in one `res.end()` with its Content-Length, with no ReadableStream built. It
 * builds a real undici Response only when the app reads something it does not implement itself
 * (`body`, `text()`, `clone()`...). `instanceof Response` holds for it and for undici's own.
 * Its framing follows the rules of node-response-framing.ts, as an undici Response's does.
 */
import { Readable } from "node:stream";
import { byteString, checkedHeaders, headerValue, isHeaderRefusal } from "./node-headers.ts";
import { delegateMissing, nativeClass } from "./node-lazy.ts";
import {
  ABOVE_ASCII,
  type Body,
  dropHeader,
  emptyLength,
  NativeResponse,
  type NodeResponseParts,
  NULL_BODY,
  nativeParts,
  ownsEmptyFraming,
  serverOwnedHeader,
} from "./node-response-framing.ts";

const NativeHeaders = nativeClass(Symbol.for("tsuv.nativeHeaders"), globalThis.Headers);

/** What undici sets for a string body. */
const TEXT_PLAIN = "text/plain;charset=UTF-8";
const JSON_HEADERS = Object.freeze({ "content-type": "application/json" });
/** RFC 9110 reason-phrase characters (undici and node:http refuse others). */
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * `response[ADD_DEFAULT_HEADERS](list)`: take tsuv's default headers (server, date, --header) to be
 * added at write time, for each name the response does not have, instead of through a Headers
 * object (default-headers.ts calls it when present). Returns false when it cannot (then the caller
 * sets them through `response.headers`).
 */
export const ADD_DEFAULT_HEADERS: unique symbol = Symbol.for("tsuv.addDefaultHeaders");

type HeaderList = readonly (readonly [string, string])[];
type BodyInit = ConstructorParameters<typeof Response>[0];
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** The default header list last checked for values above ASCII (the same list every request). */
let checkedDefaults: HeaderList | undefined;
let defaultsAboveAscii = false;

function aboveAscii(defaults: HeaderList): boolean {
  if (defaults !== checkedDefaults) {
    checkedDefaults = defaults;
    defaultsAboveAscii = defaults.some(([, value]) => ABOVE_ASCII.test(value));
  }
  return defaultsAboveAscii;
}

export class FastResponse {
  #status: number;
  #statusText: string;
  #body: unknown;
  #init: ResponseInit | undefined;
  #headers: Headers | undefined;
  #native: Response | undefined;
  /** Default headers to add where the response has none of that name (see ADD_DEFAULT_HEADERS). */
  #defaults: HeaderList | undefined;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    // In undici's order, so an app sees the same error where its init is wrong twice: WebIDL's
    // conversion of the init (status, statusText, then headers: `status: "201"` is 201), the body,
    // then the checks of status, statusText and headers, and a body on a null-body status.
    const status = init?.status === undefined ? 200 : Math.trunc(Number(init.status));
    const headers = init?.headers;
    const statusText = FastResponse.#convertStatusText(init);
    let kept: object | undefined;
    let refused: unknown;
    if (headers !== undefined && headers !== JSON_HEADERS) {
      try {
        kept = checkedHeaders(headers);
      } catch (error) {
        if (!isHeaderRefusal(error)) throw error;
        refused = error;
      }
    }
    if (body instanceof ReadableStream && body.locked) {
      throw new TypeError("Response body object should not be disturbed or locked");
    }
    if (!(status >= 200 && status <= 599)) {
      throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
    }
    if (statusText !== "" && !REASON.test(statusText)) throw new TypeError("Invalid statusText");
    if (refused !== undefined) throw refused;
    if (body != null && NULL_BODY.has(status)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#body = body ?? null;
    if (kept !== undefined && kept !== headers) {
      this.#init = { ...init, headers: kept as ResponseInit["headers"] };
    } else {
      this.#init = init ?? undefined;
    }
  }

  /**
   * WebIDL's conversion of an init's statusText ("" when none). Where it cannot be converted, the
   * headers' conversion error comes instead on a Node whose undici converts them first (Node 24's,
   * WebIDL's order of a dictionary's members being lexicographic; Node 20's converts them after).
   */
  static #convertStatusText(init: ResponseInit | undefined): string {
    try {
      return init?.statusText === undefined ? "" : byteString(init.statusText);
    } catch (error) {
      if (init?.headers !== undefined && headersConvertedFirst()) {
        try {
          checkedHeaders(init.headers);
        } catch (conversion) {
          if (!isHeaderRefusal(conversion)) throw conversion;
        }
      }
      throw error;
    }
  }

  /** WebIDL's conversion of a ResponseInit's statusText and headers: its errors, nothing else. */
  static #convert(init: ResponseInit): void {
    FastResponse.#convertStatusText(init);
    if (init.headers === undefined) return;
    try {
      checkedHeaders(init.headers);
    } catch (error) {
      if (!isHeaderRefusal(error)) throw error;
    }
  }

  /** A body _toNode sends itself: none, a string, bytes or a stream. */
  static #fastBody(body: unknown): boolean {
    return (
      body === null ||
      typeof body === "string" ||
      body instanceof Uint8Array ||
      body instanceof ArrayBuffer ||
      body instanceof ReadableStream
    );
  }

  /** A FastResponse made here, whatever the app's realm did to globalThis.Response. */
  static isFast(value: unknown): value is FastResponse {
    return typeof value === "object" && value !== null && #body in value;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // `Response` checks accept undici's responses too; a subclass checks its own prototype.
    // biome-ignore lint/complexity/noThisInStatic: the class the check was called on
    if (this === FastResponse) return value instanceof NativeResponse;
    // biome-ignore lint/complexity/noThisInStatic: the class the check was called on
    return Object.prototype.isPrototypeOf.call(this.prototype, value as object);
  }

  static json(data: unknown, init?: ResponseInit): FastResponse {
    // undici converts the init before it serializes the data: an init WebIDL refuses is the error.
    if (init) FastResponse.#convert(init);
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError("Value is not JSON serializable");
    if (init?.headers === undefined)
      return new FastResponse(body, init ? { ...init, headers: JSON_HEADERS } : { headers: JSON_HEADERS });
    const headers = new NativeHeaders(init.headers as HeadersInit);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new FastResponse(body, { ...init, headers });
  }

  get status(): number {
    return this.#native ? this.#native.status : this.#status;
  }

  get statusText(): string {
    return this.#native ? this.#native.statusText : this.#statusText;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status < 300;
  }

  get type(): Response["type"] {
    return this.#native ? this.#native.type : "default";
  }

  get url(): string {
    return this.#native ? this.#native.url : "";
  }

  get redirected(): boolean {
    return this.#native ? this.#native.redirected : false;
  }

  /** Mutable, as a constructed Response's headers are; built from init on first use. */
  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    if (!this.#headers) {
      // A body undici extracts itself (a Blob, FormData, URLSearchParams, a number) implies its own
      // content type, a form's boundary included, which only undici's Response knows: _toNode sends
      // those through it too.
      if (!FastResponse.#fastBody(this.#body)) return this._native.headers;
      const headers = new NativeHeaders(this.#init?.headers as HeadersInit | undefined);
      if (typeof this.#body === "string" && !headers.has("content-type"))
        headers.set("content-type", TEXT_PLAIN);
      const defaults = this.#defaults;
      if (defaults) {
        this.#defaults = undefined;
        const missing = defaults.filter(([name]) => !headers.has(name));
        for (const [name, value] of missing) headers.append(name, value);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  [ADD_DEFAULT_HEADERS](list: HeaderList): boolean {
    // Once a Headers object exists, the app may be holding it: add to it the ordinary way.
    if (this.#native || this.#headers) return false;
    this.#defaults = list;
    return true;
  }

  get bodyUsed(): boolean {
    if (this.#native) return this.#native.bodyUsed;
    const body = this.#body;
    return body instanceof ReadableStream && Readable.isDisturbed(body as never);
  }

  /**
   * A copy that keeps the fast path: a string, bytes or no body is shared (nothing can change it
   * through a Response), where undici's clone() would tee a stream and the copy go out chunked.
   * Any other body, or one already read, is cloned by undici (which throws if it was read).
   */
  clone(): Response {
    const body = this.#body;
    const shareable =
      body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer;
    if (this.#native || this.#defaults || !shareable) return this._native.clone() as unknown as Response;
    const headers = this.#headers ? new NativeHeaders(this.#headers) : this.#init?.headers;
    const init = { status: this.#status, statusText: this.#statusText, headers };
    return new FastResponse(body as BodyInit | null, init) as unknown as Response;
  }

  /** The real undici Response, built once; from then on every property forwards to it. */
  get _native(): Response {
    if (!this.#native) {
      const native = new NativeResponse(this.#body as BodyInit | null, {
        status: this.#status,
        statusText: this.#statusText,
        headers: this.#headers ?? this.#init?.headers,
      });
      // Default headers not yet added (the headers getter adds them where it builds the Headers):
      // after the app's and the body's content type, as that getter orders them.
      const defaults = this.#defaults;
      if (defaults) {
        this.#defaults = undefined;
        const headers = native.headers;
        for (const [name, value] of defaults.filter(([name]) => !headers.has(name)))
          headers.append(name, value);
      }
      this.#native = native;
      this.#body = null;
      this.#init = undefined;
      this.#headers = undefined;
    }
    return this.#native;
  }

  /**
   * Status, headers and body for node:http, without building an undici Response if avoidable.
   * `head`: the request was HEAD (a bodiless response's Content-Length is then the app's to give).
   */
  _toNode(head = false): NodeResponseParts {
    if (this.#native) return nativeParts(this.#native, head);
    let body: Body;
    let length = -1;
    let defaultType: string | undefined;
    const source = this.#body;
    const status = this.#status;
    if (source === null) {
      body = null;
    } else if (typeof source === "string") {
      body = source;
      length = Buffer.byteLength(source);
      defaultType = TEXT_PLAIN;
    } else if (source instanceof Uint8Array) {
      body = source;
      length = source.byteLength;
    } else if (source instanceof ArrayBuffer) {
      body = new Uint8Array(source);
      length = source.byteLength;
    } else if (source instanceof ReadableStream) {
      body = source as ReadableStream<Uint8Array>;
    } else {
      // Blob, FormData, URLSearchParams, other views: undici knows their bytes and content-type.
      return nativeParts(this._native, head, knownLength(source));
    }
    // Drop the app's framing headers where the real length is known or there is no body.
    const ours = length >= 0 || (source === null && ownsEmptyFraming(status, head));
    const headers: string[] = [];
    let hasType = false;
    let hasLength = false;
    let hasCoding = false;
    // The reason phrase is a byte string too ("Café" goes out with the byte 0xE9).
    let latin1Head = this.#statusText !== "" && ABOVE_ASCII.test(this.#statusText);
    const init = this.#headers ?? this.#init?.headers;
    if (init) {
      const add = (name: string, value: unknown) => {
        const key = name.toLowerCase();
        const text = headerValue(value);
        if (key.length === 10 && serverOwnedHeader(key, text)) return;
        if (key === "content-type") hasType = true;
        else if (key === "content-length") {
          if (ours) return;
          hasLength = true;
        } else if (key === "transfer-encoding") {
          // node:http's to decide (node-response-framing.ts's nativeParts says why).
          if (!ours) hasCoding = true;
          return;
        }
        if (ABOVE_ASCII.test(text)) latin1Head = true;
        headers.push(key, text);
      };
      if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
        for (const pair of init as Iterable<[string, string]>) add(pair[0], pair[1]);
      } else {
        const record = init as Record<string, string>;
        for (const name of Object.keys(record)) add(name, record[name]);
      }
    }
    if (hasLength && hasCoding) dropHeader(headers, "content-length");
    if (defaultType !== undefined && !hasType) headers.push("content-type", defaultType);
    if (length >= 0) headers.push("content-length", String(length));
    else if (source === null && emptyLength(status, head, ours, hasLength))
      headers.push("content-length", "0");
    const defaults = this.#defaults;
    if (defaults) {
      const own = headers.length;
      for (const [name, value] of defaults) {
        let found = false;
        for (let k = 0; k < own; k += 2) {
          if (headers[k] === name) {
            found = true;
            break;
          }
        }
        if (!found) headers.push(name, value);
      }
      if (aboveAscii(defaults)) latin1Head = true;
    }
    if (latin1Head && typeof body === "string") body = Buffer.from(body);
    return { status, statusText: this.#statusText, headers, body };
  }
}
delegateMissing(FastResponse.prototype, NativeResponse.prototype, "_native");
Object.setPrototypeOf(FastResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(FastResponse, NativeResponse);

let headersFirst: boolean | undefined;

/** Does this Node's undici convert a ResponseInit's headers before its statusText? Asked once. */
function headersConvertedFirst(): boolean {
  if (headersFirst === undefined) {
    try {
      new NativeResponse(null, { statusText: "\u0100", headers: 0 as never });
      headersFirst = false;
    } catch (error) {
      headersFirst = String((error as Error).message).startsWith("Headers");
    }
  }
  return headersFirst;
}

/** The byte length of a body undici extracts itself, where it is known without reading it. */
function knownLength(source: unknown): number {
  if (source instanceof Blob) return source.size;
  if (ArrayBuffer.isView(source)) return source.byteLength;
  if (source instanceof URLSearchParams) return Buffer.byteLength(source.toString());
  return -1; // FormData (a multipart body undici builds), anything else
}

/** Status, headers and body of any Response, ours or undici's (`head`: answering a HEAD request). */
export function responseParts(response: Response, head = false): NodeResponseParts {
  return FastResponse.isFast(response) ? response._toNode(head) : nativeParts(response, head);
}
