/**
 * What `request.url` is on Node.js: node:http gives the request target as sent, and this makes the
 * absolute URL a fetch app expects from it (the Host header when it is an authority, else the local
 * address; absolute-form and CONNECT's authority-form targets; `*`), and says which targets cannot
 * be given to an app at all. Used by the Request stand-in (node-request.ts), node-http.ts's check
 * before it, and WebSocket upgrades (ws-node.ts).
 */
import type { IncomingMessage } from "node:http";
import { connectTargetUrl, usableAuthority } from "../request-authority.ts";
import { urlHost } from "../request-url.ts";

/**
 * A request path that the URL parser would change (dot segments, backslashes, characters it
 * percent-encodes, non-ASCII): such paths go through `new URL` so `request.url` is exactly what
 * undici's Request would report. Everything else is concatenated as is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const PATH_NEEDS_PARSER = /(?:^|\/)(?:\.|%2e){1,2}(?:[/?#]|$)|[\\^#"'<>{}`|\x00-\x20\x7f-\uffff]/i;

/** The last Host header found usable: almost every request repeats it, so it is checked once. */
let lastUsableHost: string | undefined;

/** Can `host` be the authority of `request.url` (request-authority.ts)? Anything else falls back to the local address. */
function usableHost(host: string): boolean {
  if (host === lastUsableHost) return true;
  if (!usableAuthority(host)) return false;
  lastUsableHost = host;
  return true;
}

/** An absolute-form request target (meant for a proxy) that is an http(s) URL. */
function absoluteForm(target: string): URL | undefined {
  if (!URL.canParse(target)) return undefined;
  const url = new URL(target);
  return (url.protocol === "http:" || url.protocol === "https:") && url.host !== "" ? url : undefined;
}

/** CONNECT's authority-form target (`CONNECT example.com:443`) as request.url, or undefined. */
function connectUrl(req: IncomingMessage, target: string, secure: boolean): string | undefined {
  return req.method === "CONNECT" ? connectTargetUrl(secure ? "https" : "http", target) : undefined;
}

/** Can a request with this target be given to the app? (Checked per request, so cheap first.) */
export function servableTarget(req: IncomingMessage): boolean {
  const target = req.url ?? "/";
  return (
    target.charCodeAt(0) === 47 /* / */ ||
    target === "*" ||
    absoluteForm(target) !== undefined ||
    connectUrl(req, target, false) !== undefined
  );
}

/** The absolute URL of a request whose target passed servableTarget(). */
export function requestUrl(req: IncomingMessage, secure: boolean): string {
  const target = req.url ?? "/";
  const scheme = secure ? "https://" : "http://";
  if (target.charCodeAt(0) === 47 /* / */) {
    const base = scheme + authority(req);
    return PATH_NEEDS_PARSER.test(target) ? new URL(base + target).href : base + target;
  }
  if (target === "*") return `${scheme}${authority(req)}/*`;
  const connect = connectUrl(req, target, secure);
  if (connect !== undefined) return connect;
  // absolute-form: its own authority wins over Host (RFC 9112 3.2.2), but not its scheme: any
  // client could make a plain connection look like https (an app deciding on Secure cookies or an
  // https redirect by request.url), which only a trusted X-Forwarded-Proto may (request-handler.ts).
  const url = absoluteForm(target) as URL;
  url.protocol = secure ? "https:" : "http:";
  return url.href;
}

/** The Host header, from the raw list: `req.headers` would build an object of every header. */
function hostHeader(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && (name === "Host" || name === "host" || name.toLowerCase() === "host"))
      return raw[i + 1];
  }
  return undefined;
}

function authority(req: IncomingMessage): string {
  const host = hostHeader(req);
  if (host !== undefined && usableHost(host)) return host;
  const socket = req.socket;
  const local = socket.localAddress;
  if (!local) return "localhost";
  const port = socket.localPort;
  const name = urlHost(local);
  return port ? `${name}:${port}` : name;
}
