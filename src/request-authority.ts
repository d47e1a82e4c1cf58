/**
 * A request URL's authority, as the app's `new URL(request.url)` needs it. Node's adapter builds
 * request.url itself and checks the Host header (runtime/node-request-url.ts); Bun.serve and Deno.serve
 * build it from the Host header as sent, so a client's `Host: x:99999` or `Host: [::1` made every
 * `new URL(request.url)` throw (a logged 500 per request on both), and on Deno `Host: x?` or
 * `Host: a b` did too, or turned the path into a query (denoland/deno#29872 is the upstream issue).
 * Their adapters run each request's url through urlAuthorityCheck(), which gives such a request the
 * server's own address instead, as Node's adapter does. Portable: no runtime globals.
 */
import { urlHost } from "./request-url.ts";
import type { BoundAddress } from "./runtime/adapter.ts";

/**
 * The shape of a Host usable as a URL authority. The shape is not enough (a port over 65535,
 * `1.2.3.256`, `a.1`, `[::1::2]`, bad punycode): see usableAuthority().
 */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?$/;

/** Can `host` be the authority of `request.url`, so that the app's `new URL(request.url)` works? */
export function usableAuthority(host: string): boolean {
  return AUTHORITY.test(host) && URL.canParse(`http://${host}/`);
}

/**
 * request.url for CONNECT's authority-form target (`CONNECT example.com:443`): the URL of the
 * authority it names, with the connection's scheme (`http://example.com:443/`, the form Deno's url
 * has), or undefined for a target that is no authority. Bun's adapter and Node's both give this.
 */
export function connectTargetUrl(scheme: string, target: string): string | undefined {
  return usableAuthority(target) ? `${scheme}://${target}/` : undefined;
}

/** A server's own origin for urlAuthorityCheck: `http://127.0.0.1:8000`; `http://localhost` off TCP. */
export function serverOrigin(scheme: "http" | "https", address: BoundAddress): string {
  return `${scheme}://${address.kind === "tcp" ? `${urlHost(address.host)}:${address.port}` : "localhost"}`;
}

/** How many recent good origins are remembered: a few Host names (www., an IP) cover a server. */
const REMEMBERED = 8;

/**
 * A checker for the urls one server's runtime builds. `origin()` is the server's own
 * (`http://127.0.0.1:8000`, no trailing slash), read only when a url needs it; its scheme is the
 * connection's. Returns undefined for a url the app can take as it is, else the url to give it:
 * - an authority that is not a host (`x?`, `a b`, `x@y`, `x:99999`, `[::1`, empty), or none (Bun's
 *   relative url for a missing or invalid Host): the origin's, with the path as it was, so
 *   `Host: x?` cannot turn `/admin` into a query string;
 * - Bun's bare authority for a CONNECT (`example.com:443`): `http://example.com:443/`;
 * - an absolute-form target's scheme that is not the connection's (`GET https://a/ HTTP/1.1` on a
 *   plain connection): the connection's, as on Node; only a trusted X-Forwarded-Proto may say https.
 * What no url can show is left: a Host with a `/` in it (`Host: a/b`) reads as a longer path on
 * Deno. nginx refuses such a Host with a 400 before it reaches the app.
 *
 * Per request, a url starting with a remembered good origin costs a few startsWith() calls; the
 * others are parsed once and remembered (the bad ones are not: each costs a regex and a parse).
 */
export function urlAuthorityCheck(origin: () => string): (url: string) => string | undefined {
  const good: string[] = [];
  return (url) => {
    for (let i = 0; i < good.length; i++) if (url.startsWith(good[i] as string)) return undefined;
    const own = origin();
    const scheme = own.slice(0, own.indexOf("://"));
    const separator = url.indexOf("://");
    if (separator === -1) {
      // Bun's url for a request whose Host it found missing or invalid: the path alone.
      if (url.charCodeAt(0) === 47 /* / */) return own + url;
      // Bun's url for CONNECT's authority-form target (the only bare authority Bun.serve lets through).
      return connectTargetUrl(scheme, url) ?? `${own}/`;
    }
    const slash = url.indexOf("/", separator + 3);
    const authority = url.slice(separator + 3, slash === -1 ? url.length : slash);
    const path = slash === -1 ? "/" : url.slice(slash);
    if (!usableAuthority(authority)) return own + path;
    if (url.slice(0, separator) !== scheme) return `${scheme}://${authority}${path}`;
    if (slash !== -1) {
      if (good.length === REMEMBERED) good.shift();
      good.push(url.slice(0, slash + 1));
    }
    return undefined;
  };
}
