/**
 * A static route's answer (Bun.serve's `routes: { "/health": new Response("OK") }`): one Response
 * served to every request. Its body is read once, at the first request, and each request gets a new
 * Response with the same status, headers and bytes (a body can be read only once; clone() would keep
 * a copy of every answer in the original's unread branch).
 *
 * What Bun.serve (1.4.5) does for such a route, and this does too (measured against it: every
 * method, status and condition of scripts' kind in test/bun-routes.test.ts):
 * - a non-empty body gets an ETag unless it has one: Bun's is the bytes' xxHash64, this the first 16
 *   hex digits of their SHA-1 (an empty body gets none);
 * - only a 200, asked with GET or HEAD, is answered by its conditions: an If-Match that names no tag
 *   strongly equal to its ETag (a weak tag never is; without an ETag, any list but `*`) gets 412, then
 *   an If-None-Match that names its ETag (weakly compared, in a list, or `*` alone) gets 304. Both carry every header but Content-Length
 *   and no body. Tags are compared as Bun compares them: trimmed, `W/` dropped, one pair of
 *   enclosing quotes dropped (`v1` names `"v1"`);
 * - its content type is said in its headers on every answer: `new Response("OK")` is
 *   text/plain;charset=utf-8. Bun gives such a Response no content-type header until it is sent (the
 *   other runtimes write it at construction), and the bytes tsuv answers with would go out as
 *   application/octet-stream, which a browser downloads; Bun's Blob of the body says text/plain for
 *   bytes too, so bytes that are not UTF-8, and an empty body, get no type here, as Bun.serve sends
 *   none for them.
 */
import { newResponse } from "./native-response.ts";

type Answer = (request: Request) => Response | Promise<Response>;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The content type the body itself implies, where the headers name none (see above). */
function impliedType(blob: Blob, bytes: ArrayBuffer): string | undefined {
  if (blob.type === "" || bytes.byteLength === 0) return undefined;
  if (!blob.type.startsWith("text/plain")) return blob.type;
  try {
    UTF8.decode(bytes);
    return blob.type;
  } catch {
    return undefined;
  }
}

/** A tag as Bun compares it: trimmed, without `W/`, without one pair of enclosing quotes. */
function opaque(tag: string): string {
  let text = tag.trim();
  if (text.startsWith("W/")) text = text.slice(2);
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** The non-empty entries of an If-Match or If-None-Match list. */
const entries = (header: string): string[] =>
  header
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");

/** The route's ETag as conditions compare it, made once: its opaque part, and whether it is weak. */
interface Tag {
  opaque: string;
  weak: boolean;
}

/** If-Match holds: absent or empty, `*`, or an entry strongly equal to the route's tag (if it has one). */
function ifMatchHolds(header: string | null, tag: Tag | null): boolean {
  const value = header?.trim() ?? "";
  if (value === "" || value === "*") return true;
  if (tag === null || tag.weak) return false;
  return entries(value).some((entry) => !entry.startsWith("W/") && opaque(entry) === tag.opaque);
}

/** If-None-Match names the route's tag (weak comparison), or is `*`; never where there is no tag. */
function ifNoneMatchNames(header: string | null, tag: Tag | null): boolean {
  const value = header?.trim() ?? "";
  if (tag === null) return false;
  if (value === "*") return true;
  return value !== "" && entries(value).some((entry) => opaque(entry) === tag.opaque);
}

export function staticAnswer(response: Response): Answer {
  const { status, statusText } = response;
  const given = [...response.headers];
  if (response.body === null) {
    // 204, a redirect: nothing to tag or read.
    return () => newResponse(null, { status, statusText, headers: given });
  }
  const ownTag = response.headers.get("etag");
  let ready: {
    bytes: ArrayBuffer;
    tag: Tag | null;
    headers: [string, string][];
    /** 304's and 412's headers: all but Content-Length. */
    bodiless: [string, string][];
  };
  let reading: Promise<unknown> | undefined;
  const load = async () => {
    const blob = await response.blob();
    const bytes = await blob.arrayBuffer();
    let etag = ownTag;
    const headers: [string, string][] = [...given];
    if (etag === null && bytes.byteLength > 0) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
      const hex = Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
      etag = `"${hex}"`;
      headers.push(["etag", etag]);
    }
    const type = response.headers.has("content-type") ? undefined : impliedType(blob, bytes);
    if (type !== undefined) headers.push(["content-type", type]);
    const bodiless = headers.filter(([name]) => name.toLowerCase() !== "content-length");
    const tag = etag === null ? null : { opaque: opaque(etag), weak: etag.startsWith("W/") };
    ready = { bytes, tag, headers, bodiless };
  };
  const answer = (request: Request): Response => {
    const method = request.method;
    if (status === 200 && (method === "GET" || method === "HEAD")) {
      const conditions = request.headers;
      if (!ifMatchHolds(conditions.get("if-match"), ready.tag)) {
        return newResponse(null, { status: 412, headers: ready.bodiless });
      }
      if (ifNoneMatchNames(conditions.get("if-none-match"), ready.tag)) {
        return newResponse(null, { status: 304, headers: ready.bodiless });
      }
    }
    return newResponse(ready.bytes, { status, statusText, headers: ready.headers });
  };
  return (request) => {
    if (reading === undefined) reading = load();
    // Answered at once from the second request on: a resolved load leaves `ready` set.
    return ready === undefined ? reading.then(() => answer(request)) : answer(request);
  };
}
