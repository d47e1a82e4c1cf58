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

/** A character no byte encodes: WebIDL's ByteString conversion refuses it before anything is checked. */
const ABOVE_BYTE = /[\u0100-\uffff]/;

/** WebIDL's ByteString conversion, as undici words its TypeError. */
export function byteString(value: unknown): string {
  const text = String(value);
  const at = text.search(ABOVE_BYTE);
  if (at !== -1) {
    throw new TypeError(
      `Cannot convert argument to a ByteString because the character at index ${at} has a value of ${text.charCodeAt(at)} which is greater than 255.`,
    );
  }
  return text;
}

/**
 * undici's TypeError for a header its Headers would refuse, or undefined. A character above 0xFF
 * is thrown at once: WebIDL's conversion of the init, which comes before every other check. (A
 * valid name and value hold none, so only a refused header is looked at twice.)
 */
function headerError(name: unknown, value: unknown): TypeError | undefined {
  const key = String(name);
  const text = headerValue(value);
  const goodName = TOKEN.test(key);
  if (goodName && !BAD_VALUE.test(text)) return undefined;
  byteString(key);
  byteString(text);
  return goodName
    ? new TypeError(`Headers.append: "${text}" is an invalid header value.`)
    : new TypeError(`Headers.append: "${key}" is an invalid header name.`);
}

/** undici's refusals of a header, which a Response constructor throws only after its status checks. */
const refusals = new WeakSet<object>();

/** Is `error` checkedHeaders()' refusal of a header (not WebIDL's conversion error)? */
export const isHeaderRefusal = (error: unknown): boolean =>
  typeof error === "object" && error !== null && refusals.has(error);

/**
 * The checks undici makes of a Response's init headers, made at construction as undici makes them,
 * so an app gets the same TypeError at the same place (node:http would refuse the header only when
 * sending, after the app had answered and its access line said 200). WebIDL's conversion errors
 * (not an object, a character above 0xFF, in any header) come first; then the first header undici
 * refuses, marked (isHeaderRefusal) for the constructor to throw after its status checks, in
 * undici's order. Returns the headers to keep: any iterable but an array as an array of pairs, since
 * it may be one that reads only once (a generator) and the headers are read again when the response
 * is sent.
 */
export function checkedHeaders(headers: unknown): object {
  if (headers instanceof NativeHeaders) return headers;
  // WebIDL's HeadersInit is an object: null, a string (iterable, char by char) or a number is refused.
  if (headers === null || (typeof headers !== "object" && typeof headers !== "function")) {
    throw new TypeError(
      "Headers constructor: Argument 1 could not be converted to one of: sequence<sequence<ByteString>>, record<ByteString, ByteString>.",
    );
  }
  let refused: TypeError | undefined;
  let kept = headers as object;
  const iterator = (headers as Partial<Iterable<unknown>>)[Symbol.iterator];
  if (typeof iterator !== "function") {
    const record = headers as Record<string, unknown>;
    for (const name of Object.keys(record)) refused ??= headerError(name, record[name]);
  } else {
    const pairs = Array.isArray(headers) ? headers : [...(headers as Iterable<unknown>)];
    for (const pair of pairs as unknown[][]) {
      if (pair?.length !== 2) {
        refused ??= new TypeError(
          `Headers constructor: expected name/value pair to be length 2, found ${pair?.length}.`,
        );
      } else refused ??= headerError(pair[0], pair[1]);
    }
    kept = pairs;
  }
  if (refused !== undefined) {
    refusals.add(refused);
    throw refused;
  }
  return kept;
}
