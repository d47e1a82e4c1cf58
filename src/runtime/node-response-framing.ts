/**
 * What node:http writes for a response: status, flat headers and one body (NodeResponseParts), the
 * framing rules every Response follows on Node.js, and nativeParts() for undici's own Responses.
 *
 * Responses built by undici (fetch() results, Response.redirect(), a Response created before tsuv
 * installed its globals) go out too: their headers are iterated, and their body is streamed, except
 * on Node versions whose undici exposes the original string/bytes (Node 20, 22), written at once.
 *
 * Framing is ours, not the app's, as on Bun and Deno: node:http would send an app's Content-Length
 * as is, and a wrong one desyncs a kept-alive connection (the client waits for bytes that never
 * come, or reads the surplus as the next response). So a body of known length (string, bytes,
 * Blob...) goes out with its real length, the app's Content-Length and Transfer-Encoding dropped; a
 * 204 has neither; a streamed body keeps the app's Content-Length, and a stream that does not
 * match it ends the connection (strictContentLength). A 304, and a HEAD answered without a body,
 * keep the app's Content-Length: there it describes a body not sent.
 */
import { decodedByFetch } from "../fetch-decoding.ts";
import { nodeFetchDecoding } from "./detect.ts";
import { nativeClass } from "./node-lazy.ts";

/** What this Node's fetch() decodes (fetch-decoding.ts). */
const FETCH_DECODING = nodeFetchDecoding(process.versions);

/** undici's Response class, behind whatever stand-in globalThis.Response is (node-lazy.ts). */
export const NativeResponse = nativeClass(Symbol.for("tsuv.nativeResponse"), globalThis.Response);

/** Statuses whose response has no body (fetch spec "null body status"). */
export const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * node:http writes the head together with a string body, in the body's encoding (UTF-8), so a
 * header value or reason phrase above ASCII ("é": the byte 0xE9 to fetch's byte strings) would go
 * out as two bytes, C3 A9. A string body under such a head goes as bytes instead: node:http then
 * writes the head as latin-1, one byte per character, as Bun and Deno write it.
 */
export const ABOVE_ASCII = /[\u0080-\uffff]/;

export type Body = string | Uint8Array | ReadableStream<Uint8Array> | null;

/** A response reduced to what node:http writes: flat [name, value, ...] headers and one body. */
export interface NodeResponseParts {
  status: number;
  statusText: string;
  headers: string[];
  body: Body;
}

/**
 * undici's internal state symbol on Node versions that use one (Node 20, 22): it holds the body's
 * original source, so a string body is written without reading the ReadableStream built for it.
 * Node 24's undici keeps it in private fields; there the stream is read.
 */
const kState: symbol | undefined = Object.getOwnPropertySymbols(new NativeResponse(null)).find(
  (symbol) => symbol.description === "state",
);

interface UndiciState {
  body?: { source?: unknown } | null;
}

/**
 * A bodiless response (null body) whose framing headers are ours to set: not a 304 (its
 * Content-Length describes the representation), not a HEAD (it describes what GET would send), and
 * a 204 always (RFC 9110 forbids both headers there).
 */
export function ownsEmptyFraming(status: number, head: boolean): boolean {
  return status === 204 || status < 200 || (status !== 304 && !head);
}

/**
 * Does a null body get `Content-Length: 0`? Where its framing is ours (not on a 204), as Bun, Deno
 * and uvicorn send it (node:http would send an empty chunked body); and on a HEAD the app gave no
 * length, since that is what GET would say. Never on a 304.
 */
export function emptyLength(status: number, head: boolean, ours: boolean, hasLength: boolean): boolean {
  if (status === 204 || status === 304) return false;
  return ours || (head && !hasLength);
}

/**
 * Is this one of an app's headers that node:http must not be given: its own `Connection` and
 * `Keep-Alive` (every fetch() result carries its upstream's). node:http took `connection:
 * keep-alive` as an order and kept the connection open though the client had asked for it to
 * close (HTTP/1.0, `Connection: close`) or tsuv was draining it, and a `keep-alive: timeout=N`
 * named another server's idle timeout to the client. Without them node:http decides and writes its
 * own, as Bun.serve and Deno.serve decide whatever the app's say. `Connection: close` stays
 * (node:http then closes after the answer, as the app asked), and an `upgrade`.
 * `key` is lower case; both names are 10 characters long, which the callers test first.
 */
export function serverOwnedHeader(key: string, value: string): boolean {
  if (key === "keep-alive") return true;
  return key === "connection" && !CLOSE_OR_UPGRADE.test(value);
}

const CLOSE_OR_UPGRADE = /(^|[\s,])(close|upgrade)([\s,]|$)/i;

/** Remove every `name` (lowercase) from a flat header list. */
export function dropHeader(headers: string[], name: string): void {
  for (let k = headers.length - 2; k >= 0; k -= 2) if (headers[k] === name) headers.splice(k, 2);
}

/**
 * Parts of an undici Response. `length`: the body's byte length where the caller knows it (-1 if
 * not); on Node 20 and 22 a string or bytes source gives it too.
 */
export function nativeParts(response: Response, head = false, length = -1): NodeResponseParts {
  let body: Body = response.body;
  if (body !== null && kState !== undefined && !response.bodyUsed) {
    const source = (response as unknown as Record<symbol, UndiciState | undefined>)[kState]?.body?.source;
    if (typeof source === "string") {
      body = source;
      length = Buffer.byteLength(source);
    } else if (source instanceof Uint8Array) {
      body = source;
      length = source.byteLength;
    }
  }
  const status = response.status;
  const ours = length >= 0 || (body === null && ownsEmptyFraming(status, head));
  const headers: string[] = [];
  let hasLength = false;
  let hasCoding = false;
  let contentEncoding: string | null = null;
  const statusText = response.statusText;
  let latin1Head = statusText !== "" && ABOVE_ASCII.test(statusText);
  for (const [name, value] of response.headers) {
    if (name.length === 10 && serverOwnedHeader(name, value)) continue;
    if (name === "content-length") {
      if (ours) continue;
      hasLength = true;
    } else if (name === "transfer-encoding") {
      // Never passed on: node:http chunks a stream itself where the client can take it (not an
      // HTTP/1.0 one, which an app's `chunked` made it send chunks to all the same).
      if (!ours) hasCoding = true;
      continue;
    } else if (name === "content-encoding") {
      contentEncoding = value;
    }
    if (ABOVE_ASCII.test(value)) latin1Head = true;
    headers.push(name, value);
  }
  if (hasLength && hasCoding) dropHeader(headers, "content-length");
  // A fetch() result served as it is, its body decoded: the headers of the compressed form go
  // (a copy made for the default headers has them dropped already: default-headers.ts).
  if (decodedByFetch(response, contentEncoding, FETCH_DECODING)) {
    dropHeader(headers, "content-encoding");
    dropHeader(headers, "content-length");
  }
  if (length >= 0) headers.push("content-length", String(length));
  else if (body === null && emptyLength(status, head, ours, hasLength)) headers.push("content-length", "0");
  if (latin1Head && typeof body === "string") body = Buffer.from(body);
  return { status, statusText, headers, body };
}
