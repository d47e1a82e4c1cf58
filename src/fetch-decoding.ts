/**
 * What a runtime's fetch() does with a compressed answer: it hands over the body decoded, and
 * keeps the headers as received (`Content-Encoding: gzip`, the compressed `Content-Length`), as
 * the Fetch spec says. An app that proxies by returning that Response (`return fetch(upstream)`,
 * the one-line reverse proxy) then had it sent with headers that describe another body: on Node,
 * node:http refused the longer body (ERR_HTTP_CONTENT_LENGTH_MISMATCH: a logged error and a cut
 * connection); on Deno, a copy of it (made to add tsuv's default headers) went out cut to the
 * compressed length, still marked gzip. Deno.serve drops both headers from a Response that its
 * fetch decoded; tsuv does the same on Node and Deno, for the codings each runtime's fetch decodes
 * (nodejs/undici#2514, WinterTC55/fetch#23; Bun.serve has the bug itself, oven-sh/bun#35546).
 */

/** The codings a runtime's fetch() decodes, and whether it decodes a list of them (`gzip, br`). */
export interface FetchDecoding {
  readonly codings: readonly string[];
  readonly chains: boolean;
}

/** Does a fetch() with `decoding` hand over the body of an answer with this Content-Encoding decoded? */
function fetchDecodes(contentEncoding: string, decoding: FetchDecoding): boolean {
  const codings = contentEncoding.toLowerCase().split(",");
  if (codings.length > 1 && !decoding.chains) return false;
  // undici decodes a list only when it knows every coding in it (and at most five).
  if (codings.length > 5) return false;
  for (const coding of codings) if (!decoding.codings.includes(coding.trim())) return false;
  return true;
}

/**
 * Is `response` a fetch() result (or a clone of one: only those have a url) whose body that
 * fetch() decoded, so that its Content-Encoding and Content-Length describe another body?
 */
export function decodedByFetch(
  response: Response,
  contentEncoding: string | null,
  decoding: FetchDecoding | null,
): boolean {
  return (
    decoding !== null &&
    contentEncoding !== null &&
    response.url !== "" &&
    response.body !== null &&
    fetchDecodes(contentEncoding, decoding)
  );
}

/**
 * The hop-by-hop headers of a fetch() result: they describe the connection to the upstream, not
 * the one this answer goes out on (RFC 9110 7.6.1: a proxy removes them). Passed on, Deno sent an
 * upstream's `connection: keep-alive` and `keep-alive: timeout=5` beside its own `connection:
 * close`.
 */
const UPSTREAM_HOP_HEADERS = ["connection", "keep-alive", "proxy-connection", "transfer-encoding"];

/**
 * Drop from `headers` (a copy of `response`'s being made) what describes the upstream's message
 * rather than this one: when `response` is a fetch() result, its hop-by-hop headers, and the
 * coding headers of a body its fetch() decoded.
 */
export function dropUpstreamHeaders(
  response: Response,
  headers: Headers,
  decoding: FetchDecoding | null,
): void {
  if (response.url === "") return;
  for (const name of UPSTREAM_HOP_HEADERS) headers.delete(name);
  if (decodedByFetch(response, headers.get("content-encoding"), decoding)) {
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
}
