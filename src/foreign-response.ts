/**
 * A Response made by another fetch implementation than the runtime's: the `undici` package's on
 * Node and Deno (a newer undici than the one Node bundles, for its fetch or its Response), or
 * node-fetch's. Not `instanceof Response`, so it was refused (500, "The app returned object, not
 * a Response."), where Bun, which maps both packages to its own classes, served it. Adopted here
 * as the runtime's Response with the same status, headers and body, the body streamed, not read
 * into memory. The same for a look-alike that only shares the runtime's prototype chain (an app's
 * replacement of globalThis.Response: native-response.ts).
 */
import { isNativeResponse, newResponse } from "./native-response.ts";

/** The part of a Response every implementation has. */
interface ResponseLike {
  status: number;
  statusText?: string;
  headers: Iterable<[string, string]> & { getSetCookie?: () => string[] };
  body: unknown;
  bodyUsed?: boolean;
}

type StreamFrom = (source: AsyncIterable<Uint8Array>) => ReadableStream<Uint8Array>;

/** A Response of any implementation: the runtime's, the undici package's, node-fetch's. */
export function isResponseLike(value: unknown): value is ResponseLike {
  if (typeof value !== "object" || value === null) return false;
  const like = value as Partial<ResponseLike>;
  return (
    typeof like.status === "number" &&
    typeof like.headers === "object" &&
    like.headers !== null &&
    typeof (like.headers as Partial<Iterable<unknown>>)[Symbol.iterator] === "function" &&
    "body" in like
  );
}

/** The body as a stream the runtime's Response takes, or undefined for one it cannot take. */
function bodyOf(body: unknown): ReadableStream<Uint8Array> | null | undefined {
  if (body === null || body === undefined) return null;
  if (body instanceof ReadableStream) return body;
  // node-fetch's body is a Node Readable; another web-streams implementation's is async iterable.
  if (typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === "function") {
    return (ReadableStream as unknown as { from: StreamFrom }).from(body as AsyncIterable<Uint8Array>);
  }
  return undefined;
}

/** The runtime's Response for another implementation's, or undefined when `value` is none. */
export function adoptForeignResponse(value: unknown): Response | undefined {
  if (isNativeResponse(value) || !isResponseLike(value) || value.bodyUsed === true) return undefined;
  const body = bodyOf(value.body);
  if (body === undefined) return undefined;
  const headers = new Headers();
  const iteratedCookies: string[] = [];
  for (const [name, headerValue] of value.headers) {
    if (name.toLowerCase() === "set-cookie") iteratedCookies.push(headerValue);
    else headers.append(name, headerValue);
  }
  // Each cookie its own header line where the implementation can list them (getSetCookie);
  // otherwise as its iteration gives them.
  const listed = value.headers.getSetCookie?.() ?? [];
  for (const cookie of listed.length > 0 ? listed : iteratedCookies) headers.append("set-cookie", cookie);
  const nullBody = value.status === 204 || value.status === 205 || value.status === 304;
  return newResponse(nullBody ? null : body, {
    status: value.status,
    statusText: value.statusText ?? "",
    headers,
  });
}
