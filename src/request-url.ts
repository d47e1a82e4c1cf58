/**
 * The request as the app sees it under another URL (a trusted X-Forwarded-Proto, --root-path).
 *
 * A copy (`new Request(url, request)`) keeps method, headers, body and signal, and is what the app
 * gets, except for these requests:
 * - a WebSocket upgrade: an app that upgrades by itself hands the request back to the runtime
 *   (Deno.upgradeWebSocket), which accepts only the object its server gave, and a copy breaks the
 *   handshake (the client sees a protocol error);
 * - CONNECT, TRACE and TRACK, which the Request constructor refuses (the fetch spec's forbidden
 *   methods; Node's and Deno's throw, Bun's does not) while every server hands them to the app: a
 *   copy threw, and such a request (a security scanner's TRACE) was a 500 with tsuv's stack trace
 *   logged at ERROR, on Node and Deno with --root-path, a trusted X-Forwarded-Proto, or (Deno) a
 *   Host that needed mending;
 * - a method the copy would rewrite: the constructor upper-cases DELETE, GET, HEAD, OPTIONS, POST and
 *   PUT in any case, so `post` reached the app as `POST`, and a `get` with a body (Deno serves
 *   lowercase methods with their body) was refused: a 500 where Deno.serve alone answers.
 * Those are wrapped in a Proxy that answers `url` and forwards everything else, internal slots
 * included, to the original. Only those: a Proxy fails the brand checks of Bun's native classes
 * (fetch(request)), which a forbidden method fails anyway.
 */
import { isWebSocketUpgrade } from "./websocket-handshake.ts";

export function withUrl(request: Request, url: string): Request {
  const method = request.method;
  if (
    !FORBIDDEN_METHOD.test(method) &&
    !(NORMALIZED_METHOD.test(method) && method !== method.toUpperCase()) &&
    !isWebSocketUpgrade(request)
  )
    return new Request(url, request);
  return new Proxy(request, {
    get(target, key) {
      if (key === "url") return url;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The fetch spec's forbidden methods, which `new Request()` refuses, matched as it matches them. */
export const FORBIDDEN_METHOD = /^(?:CONNECT|TRACE|TRACK)$/i;

/** The methods `new Request()` upper-cases (the fetch spec's normalize), matched as it matches them. */
const NORMALIZED_METHOD = /^(?:DELETE|GET|HEAD|OPTIONS|POST|PUT)$/i;

/** A host as a URL (or uvicorn's "running on" line) writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
