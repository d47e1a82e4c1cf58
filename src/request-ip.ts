/**
 * `request.ip`: the client address, as srvx's servers put it on every request, and as h3 v2 reads
 * it (getRequestIP, getRequestFingerprint, proxyRequest's X-Forwarded-For). Without it those say
 * "unknown client" under tsuv, so a fingerprint-based rate limit would take every client for one.
 *
 * The value is the client as the access log names it (after trusted proxy headers), or undefined on
 * a unix socket. One getter on the runtime's own Request prototype, installed once per realm, reads
 * the request's info from a symbol property the request handler sets: the per-request cost is one
 * property store, and the peer is read only if the app asks (on Bun that is a native call).
 */
import type { RequestInfo } from "./runtime/adapter.ts";

const kInfo = Symbol.for("tsuv.requestInfo");

type WithInfo = { [kInfo]?: RequestInfo };

function ip(this: WithInfo): string | undefined {
  const info = this[kInfo];
  return info === undefined ? undefined : info.remoteAddr.hostname || undefined;
}

/**
 * The base of `Request.prototype`'s chain: the runtime's own class (on Node, undici's, which tsuv's
 * lazy requests and its Request subclass both inherit from).
 */
export function requestBasePrototype(requestClass: { prototype: object } = globalThis.Request): object {
  let base = requestClass.prototype;
  for (let parent = Object.getPrototypeOf(base); parent && parent !== Object.prototype; ) {
    base = parent;
    parent = Object.getPrototypeOf(base);
  }
  return base;
}

/** Defines the getter on requestBasePrototype(), unless it already has an `ip` of its own. */
export function installRequestIp(requestClass: { prototype: object } = globalThis.Request): void {
  const base = requestBasePrototype(requestClass);
  if (Object.hasOwn(base, "ip")) return;
  Object.defineProperty(base, "ip", { get: ip, configurable: true, enumerable: false });
}

/** Per request: what `request.ip` answers from. */
export function attachInfo(request: Request, info: RequestInfo): void {
  (request as WithInfo)[kInfo] = info;
}

/** The info the request handler attached to a request the app got (undefined for any other). */
export function requestInfoOf(request: unknown): RequestInfo | undefined {
  return typeof request === "object" && request !== null ? (request as WithInfo)[kInfo] : undefined;
}
