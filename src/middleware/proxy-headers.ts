/**
 * Proxy headers (uvicorn's ProxyHeadersMiddleware): when the connecting peer is a trusted proxy,
 * the client address comes from X-Forwarded-For and the scheme from X-Forwarded-Proto.
 *
 * Where we differ from uvicorn, on purpose:
 * - `--forwarded-allow-ips` entries that are neither an IP, a CIDR nor `*` are a usage error here;
 *   uvicorn keeps them as literals that silently never match an address.
 * - IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`, what Node reports on a dual-stack `::` socket)
 *   match their IPv4 form, and a CIDR with host bits set (`10.0.0.1/8`) is masked, not refused.
 * - An X-Forwarded-For entry that is not an address (`unknown`, empty) is never taken as the client:
 *   if the entry the algorithm picks is garbage, the peer stays the client. Skipping it and reading
 *   further left would trust a value the client itself wrote. `ip:port` and `[v6]:port` entries
 *   (some load balancers append the port) are understood.
 * - X-Forwarded-Proto is read whatever its case (`HTTPS`; URI schemes are case-insensitive), and
 *   from its right-most entry: uvicorn takes the last of several header lines, which every runtime
 *   here hands over joined by ", " (`https, https` from two proxies that both add one was ignored, an
 *   app that redirects plain requests to https then looped); a single line listing several is read
 *   the same way, as Werkzeug's ProxyFix reads it, where uvicorn ignores it.
 */
import { UsageError } from "../errors.ts";
import type { ClientAddress } from "../runtime/adapter.ts";

/** An address: IPv4 as a uint32, IPv6 as eight 16-bit words. IPv4-mapped IPv6 is stored as IPv4. */
type Ip = { v: 4; n: number } | { v: 6; w: number[] };
type Network = { ip: Ip; prefix: number };

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted-quad to uint32, or -1. A char loop (no split, no regex): peers are parsed on the request path. */
function parseV4(text: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros ("01" could mean octal to some parsers; Python refuses it too).
      if (digits === 1 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + part;
}

function parseV6(input: string): number[] | null {
  let text = input;
  const zone = text.indexOf("%");
  if (zone !== -1) {
    if (zone === text.length - 1) return null;
    text = text.slice(0, zone);
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string | undefined): string[] => (half ? half.split(":") : []);
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const words: number[] = [];
  const push = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const group = list[i] as string;
      if (last && i === list.length - 1 && group.includes(".")) {
        const v4 = parseV4(group);
        if (v4 < 0) return false;
        words.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (HEX_GROUP.test(group)) {
        words.push(Number.parseInt(group, 16));
      } else {
        return false;
      }
    }
    return true;
  };
  if (halves.length === 1) {
    if (!push(head, true) || words.length !== 8) return null;
    return words;
  }
  if (!push(head, false)) return null;
  const headCount = words.length;
  if (!push(tail, true)) return null;
  const missing = 8 - words.length;
  // `::` stands for one or more zero groups.
  if (missing < 1) return null;
  words.splice(headCount, 0, ...new Array<number>(missing).fill(0));
  return words;
}

/** Parses a bare address (`1.2.3.4`, `::1`, `[::1]`, `fe80::1%eth0`); null if it is not one. */
function parseIp(input: string): Ip | null {
  let text = input;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (!text.includes(":")) {
    const n = parseV4(text);
    return n < 0 ? null : { v: 4, n };
  }
  const w = parseV6(text);
  if (w === null) return null;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return { v: 4, n: (w[6] as number) * 65536 + (w[7] as number) };
  }
  return { v: 6, w };
}

function key(ip: Ip): string {
  return ip.v === 4 ? `4:${ip.n}` : `6:${ip.w.join(":")}`;
}

function parseNetwork(text: string): Network | null {
  const slash = text.indexOf("/");
  const ip = parseIp(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (ip === null || !/^\d{1,3}$/.test(bits)) return null;
  let prefix = Number(bits);
  // A v4-mapped network given in IPv6 form: its prefix counts the 96 mapping bits too.
  const v6Form = text.slice(0, slash).includes(":");
  if (ip.v === 4 && v6Form) {
    if (prefix < 96 || prefix > 128) return null;
    prefix -= 96;
  }
  if (prefix > (ip.v === 4 ? 32 : 128)) return null;
  return { ip, prefix };
}

function inNetwork(ip: Ip, net: Network): boolean {
  if (ip.v === 4) {
    if (net.ip.v !== 4) return false;
    if (net.prefix === 0) return true;
    const shift = 32 - net.prefix;
    // Division instead of >>> so 32-bit values stay unsigned.
    return Math.floor(ip.n / 2 ** shift) === Math.floor(net.ip.n / 2 ** shift);
  }
  if (net.ip.v !== 6) return false;
  const netWords = net.ip.w;
  for (let i = 0; i < 8; i++) {
    const bits = net.prefix - 16 * i;
    if (bits <= 0) return true;
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((ip.w[i] as number) & mask) !== ((netWords[i] as number) & mask)) return false;
  }
  return true;
}

export interface TrustedHosts {
  /** `*`: every peer is trusted. */
  readonly all: boolean;
  /** Is this peer (or X-Forwarded-For entry) a trusted proxy? */
  has(host: string): boolean;
}

interface ParsedSpec {
  all: boolean;
  exact: Set<string>;
  networks: Network[];
  literals: string[];
}

function parseSpec(spec: string, source: string): ParsedSpec {
  const parsed: ParsedSpec = { all: false, exact: new Set(), networks: [], literals: [] };
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "*") {
      parsed.all = true;
      continue;
    }
    if (entry.includes("/")) {
      const net = parseNetwork(entry);
      if (net !== null) {
        parsed.networks.push(net);
        continue;
      }
    } else {
      const ip = parseIp(entry);
      if (ip !== null) {
        parsed.exact.add(key(ip));
        parsed.literals.push(entry);
        continue;
      }
    }
    throw new UsageError(
      `Invalid value for '${source}': '${entry}' is not an IP address, a CIDR network or '*'.`,
    );
  }
  return parsed;
}

/** Throws UsageError naming the first entry that is neither an IP, a CIDR nor `*`. */
export function validateForwardedAllowIps(spec: string, source = "--forwarded-allow-ips"): void {
  parseSpec(spec, source);
}

/** Peers seen lately, with their verdict: connections repeat, parsing them need not. */
const MEMO_LIMIT = 1024;

export function createTrustedHosts(spec: string, source = "--forwarded-allow-ips"): TrustedHosts {
  const { all, exact, networks, literals } = parseSpec(spec, source);
  if (all) return { all: true, has: () => true };
  const memo = new Map<string, boolean>();
  // The addresses as the user wrote them: the usual peer string ("127.0.0.1") matches without parsing.
  for (const literal of literals) memo.set(literal, true);
  const seed = memo.size;
  const lookup = (host: string): boolean => {
    const ip = parseIp(host);
    if (ip === null) return false;
    if (exact.has(key(ip))) return true;
    for (const net of networks) if (inNetwork(ip, net)) return true;
    return false;
  };
  return {
    all: false,
    has(host: string): boolean {
      const known = memo.get(host);
      if (known !== undefined) return known;
      const verdict = lookup(host);
      if (memo.size >= MEMO_LIMIT + seed) {
        memo.clear();
        for (const literal of literals) memo.set(literal, true);
      }
      memo.set(host, verdict);
      return verdict;
    },
  };
}

/** One X-Forwarded-For entry: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`. Null if garbage. */
function parseForwardedEntry(entry: string): ClientAddress | null {
  let host = entry;
  let port = 0;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close === -1) return null;
    const rest = host.slice(close + 1);
    host = host.slice(1, close);
    if (rest !== "") {
      if (!/^:\d{1,5}$/.test(rest)) return null;
      port = Number(rest.slice(1));
    }
  } else {
    const colon = host.indexOf(":");
    if (colon !== -1 && colon === host.lastIndexOf(":")) {
      const rest = host.slice(colon + 1);
      if (!/^\d{1,5}$/.test(rest)) return null;
      port = Number(rest);
      host = host.slice(0, colon);
    }
  }
  if (port > 65535 || parseIp(host) === null) return null;
  return { hostname: host, port };
}

export type ForwardedScheme = "http" | "https" | "ws" | "wss";

export interface ProxyResult {
  client: ClientAddress;
  /** From X-Forwarded-Proto, as sent (http/https/ws/wss); a WebSocket caller maps http(s) to ws(s). */
  scheme: ForwardedScheme | null;
}

function forwardedClient(header: string, trusted: TrustedHosts): ClientAddress | null {
  const entries = header.split(",");
  if (trusted.all) return parseForwardedEntry((entries[0] as string).trim());
  // Each proxy appends the address it saw: read from the right, the first untrusted one is the client.
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = parseForwardedEntry((entries[i] as string).trim());
    if (entry === null) return null;
    if (!trusted.has(entry.hostname)) return entry;
  }
  // Every hop was a trusted proxy: the client was one too, and the left-most is as far as we can see.
  return parseForwardedEntry((entries[0] as string).trim());
}

/**
 * The client and scheme to use for this request. Never throws; headers are only read when the
 * peer is trusted, so an untrusted peer costs a memoised lookup and nothing else.
 */
export function applyProxyHeaders(request: Request, peer: ClientAddress, trusted: TrustedHosts): ProxyResult {
  if (!trusted.all && !trusted.has(peer.hostname)) return { client: peer, scheme: null };
  const headers = request.headers;
  const forwardedProto = headers.get("x-forwarded-proto");
  const client = clientFromTrusted(peer, headers.get("x-forwarded-for"), trusted);
  let scheme: ForwardedScheme | null = null;
  if (forwardedProto !== null) {
    // Two X-Forwarded-Proto lines reach us joined by ", ": the right-most entry is the nearest proxy's.
    const comma = forwardedProto.lastIndexOf(",");
    const proto = (comma === -1 ? forwardedProto : forwardedProto.slice(comma + 1)).trim().toLowerCase();
    if (proto === "http" || proto === "https" || proto === "ws" || proto === "wss") scheme = proto;
  }
  return { client, scheme };
}

/**
 * The client for a peer and its X-Forwarded-For header (null: none): the forwarded one when the
 * peer is a trusted proxy and the header names a usable address, else the peer. Never throws.
 */
export function proxiedClient(
  peer: ClientAddress,
  forwardedFor: string | null,
  trusted: TrustedHosts,
): ClientAddress {
  if (!trusted.all && !trusted.has(peer.hostname)) return peer;
  return clientFromTrusted(peer, forwardedFor, trusted);
}

/** The client a trusted peer names in X-Forwarded-For, or the peer when it names none usable. */
function clientFromTrusted(
  peer: ClientAddress,
  forwardedFor: string | null,
  trusted: TrustedHosts,
): ClientAddress {
  return forwardedFor === null ? peer : (forwardedClient(forwardedFor, trusted) ?? peer);
}
