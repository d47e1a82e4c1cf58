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

/** The last Host header found usable, and the authority it gives: almost every request repeats it. */
let lastHost: string | undefined;
let lastSecure = false;
let lastAuthority = "";

/**
 * The authority `request.url` gets from a Host header (request-authority.ts), or undefined if it
 * cannot be one (the local address stands in). Written as the URL parser writes it, as undici's
 * Request reports it: lower case, without the scheme's default port (`X.Test:80` is `x.test`), IPv4
 * shorthand expanded. Worked out once per Host.
 */
function hostAuthority(host: string, secure: boolean): string | undefined {
  if (host === lastHost && secure === lastSecure) return lastAuthority;
  if (!usableAuthority(host)) return undefined;
  lastAuthority = new URL(`${secure ? "https" : "http"}://${host}/`).host;
  lastHost = host;
  lastSecure = secure;
  return lastAuthority;
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
    const base = scheme + authority(req, secure);
    return PATH_NEEDS_PARSER.test(target) ? new URL(base + target).href : base + target;
  }
  if (target === "*") return `${scheme}${authority(req, secure)}/*`;
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

function authority(req: IncomingMessage, secure: boolean): string {
  const host = hostHeader(req);
  const fromHost = host === undefined ? undefined : hostAuthority(host, secure);
  if (fromHost !== undefined) return fromHost;
  const socket = req.socket;
  const local = socket.localAddress;
  if (!local) return "localhost";
  const port = socket.localPort;
  const name = urlHost(local);
  // As the URL parser writes it: the scheme's default port left out.
  return port && port !== (secure ? 443 : 80) ? `${name}:${port}` : name;
}
