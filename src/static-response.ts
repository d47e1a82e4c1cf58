/**
 * A static route's answer (Bun.serve's `routes: { "/health": new Response("OK") }`): one Response
 * served to every request. Its body is read once, at the first request, and each request gets a new
 * Response with the same status, headers and bytes (a body can be read only once; clone() would keep
 * a copy of every answer in the original's unread branch).
 *
 * As Bun.serve does for such a route, an answer with a body carries an ETag (the Response's own, or
 * one made from the bytes: the first 16 hex digits of their SHA-1, where Bun takes their xxHash64),
 * and a GET or HEAD whose If-None-Match names it (weakly compared, in a list, or `*`) gets 304 with
 * the same headers but Content-Length, and no body.
 */

type Answer = (request: Request) => Response | Promise<Response>;

/** The opaque tags an If-None-Match lists, weak ones as their strong form (RFC 9110's weak comparison). */
function listedTags(header: string): string[] {
  return header.split(",").map((tag) => tag.trim().replace(/^W\//, ""));
}

export function staticAnswer(response: Response): Answer {
  const { status, statusText } = response;
  const given = [...response.headers];
  if (response.body === null) {
    // 204, a redirect: nothing to tag or read.
    return () => new Response(null, { status, statusText, headers: given });
  }
  const ownTag = response.headers.get("etag");
  let ready: {
    bytes: ArrayBuffer;
    etag: string;
    headers: [string, string][];
    notModified: [string, string][];
  };
  let reading: Promise<unknown> | undefined;
  const load = async () => {
    const bytes = await response.arrayBuffer();
    let etag = ownTag;
    if (etag === null) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
      const hex = Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
      etag = `"${hex}"`;
    }
    const headers: [string, string][] = ownTag === null ? [...given, ["etag", etag]] : given;
    const notModified = headers.filter(([name]) => name.toLowerCase() !== "content-length");
    ready = { bytes, etag: etag.replace(/^W\//, ""), headers, notModified };
  };
  const answer = (request: Request): Response => {
    const method = request.method;
    if (method === "GET" || method === "HEAD") {
      const condition = request.headers.get("if-none-match");
      if (condition !== null) {
        const tags = listedTags(condition);
        if (tags.includes("*") || tags.includes(ready.etag)) {
          return new Response(null, { status: 304, headers: ready.notModified });
        }
      }
    }
    return new Response(ready.bytes, { status, statusText, headers: ready.headers });
  };
  return (request) => {
    if (reading === undefined) reading = load();
    // Answered at once from the second request on: a resolved load leaves `ready` set.
    return ready === undefined ? reading.then(() => answer(request)) : answer(request);
  };
}
