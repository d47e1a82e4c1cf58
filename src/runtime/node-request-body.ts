/**
 * A Node.js request's body as the web stream `request.body` gives a fetch app (node-request.ts):
 * a byte stream read from node:http's IncomingMessage with backpressure, as undici's Request.body
 * is one (a BYOB reader works, as on Deno).
 *
 * Why not `Readable.toWeb(req)`: a body the app stops reading part-way left the connection stuck.
 * Cancelling toWeb's stream destroys the IncomingMessage after detaching it from its socket, and
 * a body merely left unread keeps node:http's socket paused (node:http discards an unread body
 * only if the app never started reading it). Either way the response went out with
 * `Connection: keep-alive`, and the next request on that connection was never answered until a
 * timeout reset it, behind a proxy's pooled upstream connection as well (measured with a 4 MiB
 * upload whose app read one chunk, on Node 20 and 24, srvx alike). Bun, Deno and uvicorn read
 * such a body to its end and discard it, and serve the next request. Here too: a cancelled body,
 * or one still unread when the response has gone out, is discarded as it arrives, and the
 * connection stays usable. A read after the response has gone out fails with an AbortError, as on
 * Bun (uvicorn's receive() says the client disconnected).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The error a body read gets when the client went away, or when it is no longer the app's. */
export function abortError(message = "The request was aborted."): DOMException {
  return new DOMException(message, "AbortError");
}

/** Bytes read ahead of the app, once it reads: node:http's own buffer for a request body. */
const AHEAD = 64 * 1024;

function afterResponse(): DOMException {
  return abortError("The response was sent before the request's body was read to its end.");
}

/**
 * `beforeRead` runs when the app first asks for bytes (the `100 Continue` a client may wait for).
 */
export function requestBodyStream(
  req: IncomingMessage,
  res: ServerResponse,
  beforeRead: () => void,
): ReadableStream<Uint8Array> {
  // Asked for only now: the client left, or node:http discarded the body after the response.
  if (req.destroyed || req.readableEnded || res.writableFinished) {
    const error = res.writableFinished ? afterResponse() : (req.errored ?? abortError());
    return new ReadableStream({ type: "bytes", start: (c) => c.error(error) });
  }
  let controller!: ReadableByteStreamController;
  /** The stream is closed or errored: nothing more goes to the app. */
  let settled = false;
  // The listeners stay once settled (they do nothing then): removing listeners from node:http's
  // objects slows every request after (see node-request.ts's readAll).
  const fail = (error: unknown) => {
    if (settled) return;
    settled = true;
    controller.error(error);
  };
  /** Read the rest of the body and drop it, so node:http can parse the connection's next request. */
  const discard = () => {
    settled = true;
    req.resume();
  };
  req.pause();
  req.on("data", (chunk: Buffer) => {
    if (settled) return;
    // A copy: the chunk views the socket's read buffer, and a byte stream takes its buffer over.
    controller.enqueue(new Uint8Array(chunk));
    // The queue's high-water mark is 0 (see below), so its size is -desiredSize: once reading
    // has begun, up to AHEAD bytes are read before the app asks for them.
    if ((controller.desiredSize ?? 0) <= -AHEAD) req.pause();
  });
  req.on("end", () => {
    if (settled) return;
    settled = true;
    controller.close();
    // A BYOB read waiting for bytes is told the stream is done.
    controller.byobRequest?.respond(0);
  });
  req.on("error", fail);
  // 'close' before 'end': the client went away mid-body.
  req.on("close", () => fail(req.errored ?? abortError()));
  res.once("finish", () => {
    if (settled) return;
    fail(afterResponse());
    discard();
  });
  return new ReadableStream(
    {
      type: "bytes",
      start(c) {
        controller = c;
      },
      pull() {
        beforeRead();
        req.resume();
      },
      cancel() {
        discard();
      },
    },
    // No bytes asked for before the app reads (a 100 Continue is sent on the first read); the
    // IncomingMessage buffers the next chunk meanwhile.
    { highWaterMark: 0 },
  );
}
