/**
 * The fetch globals a fetch app sees on Node.js under tsuv.
 *
 * - `Response` becomes FastResponse (node-response.ts): undici's Response costs about 20 us to build
 *   on Node 20 (a ReadableStream per body), as much as a whole raw node:http request. FastResponse
 *   extends it, and `instanceof Response` holds for both kinds.
 * - `Request` and `fetch` accept the lazy requests of node-request.ts everywhere undici's own
 *   Request is accepted (`new Request(request)`, `new Request(url, request)`, `fetch(request)`), by
 *   handing undici the real Request built from them. Without this, undici would read its private
 *   state off our stand-in and fail.
 * - `fetch` leaves out the hop-by-hop request headers undici refuses (REFUSED_BY_UNDICI).
 *
 * Installed once per thread (globals are per realm), before the app is imported.
 */

import { captureNativeResponse } from "../native-response.ts";
import { nativeClass } from "./node-lazy.ts";
import { kToNative } from "./node-request.ts";
import { FastResponse } from "./node-response.ts";
import { NativeResponse } from "./node-response-framing.ts";

const kInstalled = Symbol.for("tsuv.fastGlobals");

/**
 * Request headers undici's fetch() refuses outright ("invalid transfer-encoding header", "expect
 * header not supported"...). They are hop-by-hop: they describe the client's connection to this
 * server, not the one fetch() opens. A request forwarded as it came (`fetch(new Request(upstream,
 * request))`, or its headers copied into an init) failed on Node for every chunked upload, every
 * `Expect: 100-continue` (curl's, over 1 MiB) and every `Keep-Alive` or `Upgrade` its client
 * sent, where Bun's and Deno's fetch() send it. They are left out of what undici is given; a
 * `Connection` undici takes (`close`, `keep-alive`) stays.
 */
const REFUSED_BY_UNDICI = ["keep-alive", "transfer-encoding", "upgrade", "expect"];

/** The names in `headers` that undici would refuse: REFUSED_BY_UNDICI's, and a Connection but close or keep-alive. */
function refusedByUndici(headers: Headers): string[] {
  const refused = REFUSED_BY_UNDICI.filter((name) => headers.has(name));
  const connection = headers.get("connection");
  if (connection !== null && !/^\s*(close|keep-alive)\s*$/i.test(connection)) refused.push("connection");
  return refused;
}

function unwrap<T>(value: T): T {
  if (typeof value === "object" && value !== null && kToNative in value) {
    return (value as unknown as Record<symbol, T>)[kToNative] as T;
  }
  return value;
}

export function installFastGlobals(): void {
  const g = globalThis as unknown as Record<string | symbol, unknown>;
  if (g[kInstalled]) return;
  g[kInstalled] = true;

  const NativeRequest = nativeClass(Symbol.for("tsuv.nativeRequest"), globalThis.Request);
  const nativeFetch = globalThis.fetch;

  type Input = ConstructorParameters<typeof NativeRequest>[0];

  class Request extends NativeRequest {
    static override [Symbol.hasInstance](value: unknown): boolean {
      // `this` on purpose: a subclass of Request checks its own prototype.
      // biome-ignore lint/complexity/noThisInStatic: the class the check was called on
      if (this === Request) return value instanceof NativeRequest;
      // biome-ignore lint/complexity/noThisInStatic: the class the check was called on
      return Object.prototype.isPrototypeOf.call(this.prototype, value as object);
    }
    constructor(input: Input, init?: RequestInit) {
      super(unwrap(input), unwrap(init));
    }
  }

  // A library that stands in for a Request lazily copies the own methods and getters of
  // `globalThis.Request.prototype` as delegates to a real Request it builds on first use (srvx 0.8's
  // NodeRequest, which Nitro 3.0's node-middleware output bundles). undici's are one level up from
  // this subclass: without them here too (the same functions), such a stand-in ran undici's own
  // text() on itself, and a node app's every request body failed ("Cannot read properties of
  // undefined (reading 'body')").
  for (const key of Reflect.ownKeys(NativeRequest.prototype)) {
    if (key === "constructor" || Object.hasOwn(Request.prototype, key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(NativeRequest.prototype, key);
    if (descriptor) Object.defineProperty(Request.prototype, key, descriptor);
  }

  g.Response = FastResponse;
  // tsuv's Response is the runtime's from now on, and undici's (fetch()'s answers) with it.
  captureNativeResponse(NativeResponse);
  g.Request = Request;
  g.fetch = function fetch(input: Input, init?: RequestInit): Promise<Response> {
    let request = unwrap(input);
    let options = unwrap(init);
    // Copied only where such a header is there (a copy would also lose undici's own init
    // options, `dispatcher`: the init is spread instead).
    if (request instanceof NativeRequest) {
      const refused = refusedByUndici(request.headers);
      if (refused.length > 0) {
        request = new NativeRequest(request);
        for (const name of refused) request.headers.delete(name);
      }
    }
    if (options?.headers !== undefined) {
      const headers = new Headers(options.headers);
      const refused = refusedByUndici(headers);
      if (refused.length > 0) {
        for (const name of refused) headers.delete(name);
        options = { ...options, headers };
      }
    }
    return nativeFetch(request, options);
  };
}
