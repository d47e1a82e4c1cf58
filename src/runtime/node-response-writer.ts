/**
 * Writing a Response's parts (node-response.ts) to node:http: the head and a known body in one
 * write, or a stream pumped with backpressure, cancelled when the client goes away, and cut when
 * it does not match its own Content-Length.
 */
import type { ServerResponse } from "node:http";
import { streamUsedOrLocked } from "./node-lazy.ts";
import { dropHeader, type NodeResponseParts, NULL_BODY } from "./node-response-framing.ts";

/**
 * Write `parts` to `res`. A string/bytes body goes out with the head in one write; a stream is
 * pumped with backpressure and cancelled if the client goes away. Errors of a streaming body
 * (after the head is sent, so nothing but a cut connection can report them) go to `onError`.
 */
export function writeResponse(
  res: ServerResponse,
  parts: NodeResponseParts,
  onError: (error: unknown) => void,
): void {
  const { body } = parts;
  // A stream already read or locked (the app returned a Response whose body it had used) cannot
  // be sent: thrown before the head, so the caller answers 500, as Bun and Deno do, instead of a
  // head left unsent on a cut connection.
  if (body instanceof ReadableStream && streamUsedOrLocked(body)) {
    throw new TypeError("The Response's body was already used or locked; a body can be sent once.");
  }
  writeHead(res, parts);
  if (body === null) {
    res.end();
  } else if (typeof body === "string" || body instanceof Uint8Array) {
    res.end(body);
  } else if (res.req.method === "HEAD" || NULL_BODY.has(parts.status)) {
    body.cancel().catch(() => {});
    res.end();
  } else {
    // A stream against the app's own Content-Length: node:http throws on a mismatch (a write past
    // it, or an end short of it) instead of sending it, and pump() then ends the connection.
    res.strictContentLength = true;
    pump(body, res, onError);
  }
}

/**
 * node:http refuses a Trailer header on a response it does not send chunked (a known length, a
 * HEAD, a 204 or 304, an HTTP/1.0 client): ERR_HTTP_TRAILER_INVALID, which would turn the app's
 * answer into a 500. Bun and Deno send it as given. A fetch Response never has trailers to
 * announce, so there it goes without the header; where node:http chunks, it is sent as given.
 */
function writeHead(res: ServerResponse, parts: NodeResponseParts): void {
  try {
    res.writeHead(parts.status, parts.statusText || undefined, parts.headers);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_HTTP_TRAILER_INVALID") throw error;
    dropHeader(parts.headers, "trailer");
    res.writeHead(parts.status, parts.statusText || undefined, parts.headers);
  }
}

/** The part of a stream reader pump() uses (Node's and Bun's type declarations differ). */
interface ChunkReader {
  read(): Promise<{ done: boolean; value?: Uint8Array | string }>;
  cancel(reason?: unknown): Promise<void>;
}

function pump(
  stream: ReadableStream<Uint8Array>,
  res: ServerResponse,
  onError: (error: unknown) => void,
): void {
  let reader: ChunkReader;
  try {
    reader = stream.getReader() as unknown as ChunkReader;
  } catch (error) {
    // Not after writeResponse()'s check (kept for a stream that fails getReader() otherwise): the
    // head is out, so all we can do is cut the connection.
    onError(error);
    res.destroy();
    return;
  }
  let finished = false;
  const stop = () => {
    if (finished) return;
    finished = true;
    res.off("close", onClose);
  };
  // The client went away (or the server was force-closed): stop producing.
  const onClose = () => {
    if (finished) return;
    stop();
    reader.cancel().catch(() => {});
  };
  res.once("close", onClose);
  const next = (): void => {
    reader.read().then(onChunk, onFail);
  };
  const onChunk = (result: { done: boolean; value?: Uint8Array | string }): void => {
    if (finished) return;
    let written: boolean;
    try {
      if (result.done) {
        stop();
        res.end();
        return;
      }
      // node:http writes strings too; undici would refuse them, which would help nobody here.
      written = res.write(result.value as Uint8Array | string);
    } catch (error) {
      // The body does not match its Content-Length (ERR_HTTP_CONTENT_LENGTH_MISMATCH): sending on
      // would desync the connection, so it ends here.
      if (!finished) {
        stop();
        reader.cancel(error).catch(() => {});
      }
      onError(error);
      res.destroy();
      return;
    }
    if (written) next();
    else res.once("drain", next);
  };
  const onFail = (error: unknown): void => {
    if (finished) return;
    stop();
    onError(error);
    res.destroy();
  };
  next();
}
