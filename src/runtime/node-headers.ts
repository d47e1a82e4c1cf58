/**
 * What fetch's Headers accept, checked as undici checks them, for tsuv's lazy Request and Response
 * on Node.js (node-request.ts, node-response.ts): they keep headers as the app or node:http gave
 * them, without building undici Headers, and must still refuse and normalise what undici would.
 */
import { TOKEN } from "../http-fields.ts";
import { nativeClass } from "./node-lazy.ts";

const NativeHeaders = nativeClass(Symbol.for("tsuv.nativeHeaders"), globalThis.Headers);

/** What a header value may not hold once normalized: NUL, CR, LF, or a character no byte encodes. */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;
/** HTTP whitespace at either end, which the Fetch spec's header value "normalize" strips. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** A header value as undici's Headers would hold it: a string, HTTP whitespace at its ends stripped. */
export function headerValue(value: unknown): string {
  const text = String(value);
  return text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32
    ? text.replace(EDGE_WHITESPACE, "")
    : text;
}

/** Throws undici's TypeError for a header undici's Headers would refuse. */
function checkHeader(name: unknown, value: unknown): void {
  const key = String(name);
  if (!TOKEN.test(key)) throw new TypeError(`Headers.append: "${key}" is an invalid header name.`);
  const text = headerValue(value);
  if (BAD_VALUE.test(text)) throw new TypeError(`Headers.append: "${text}" is an invalid header value.`);
}

/**
 * The checks undici's Headers makes of a Response's init headers, made at construction as undici
 * makes them, so an app gets the same TypeError at the same place (node:http would refuse the
 * header only when sending, after the app had answered and its access line said 200). Returns the
 * headers to keep: any iterable but an array as an array of pairs, since it may be one that reads
 * only once (a generator) and the headers are read again when the response is sent.
 */
export function checkedHeaders(headers: object): object {
  if (headers instanceof NativeHeaders) return headers;
  const iterator = (headers as Partial<Iterable<unknown>>)[Symbol.iterator];
  if (typeof iterator !== "function") {
    const record = headers as Record<string, unknown>;
    for (const name of Object.keys(record)) checkHeader(name, record[name]);
    return headers;
  }
  const pairs = Array.isArray(headers) ? headers : [...(headers as Iterable<unknown>)];
  for (const pair of pairs as unknown[][]) {
    if (pair?.length !== 2)
      throw new TypeError(
        `Headers constructor: expected name/value pair to be length 2, found ${pair?.length}.`,
      );
    checkHeader(pair[0], pair[1]);
  }
  return pairs;
}
