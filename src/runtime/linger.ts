/**
 * The keep-alive linger of a retiring Bun or Deno worker (rolling restart, scale-down). Their
 * graceful stops (`stop(false)`, `shutdown()`) close idle keep-alive connections at once, and a
 * client that has just sent its next request on one sees a reset (the keep-alive close race,
 * docs/reliability.md). Neither can stop listening without closing them, so the adapter first
 * lingers: for LINGER_MS every response says `connection: close`, each busy connection ends cleanly
 * after a complete response, and its client reconnects (to another worker, since the others serve
 * on). Bun closes such a connection itself; Deno 2.9 sends the header but leaves the connection
 * open (denoland/deno#9411), so there the client, which must not reuse it, is the one that ends
 * it. Node does the same from the other side (graceUnread in node-http.ts).
 */
import { newResponse } from "../native-response.ts";
export const LINGER_MS = 200;

/** The response, marked to end its connection once it is complete. */
export function closeKeepAlive(result: Response | Promise<Response>): Response | Promise<Response> {
  return result instanceof Promise ? result.then(markClose) : markClose(result);
}

function markClose(response: Response): Response {
  // A WebSocket handshake (Deno's 101, or Bun's undefined once upgraded) is left as it is.
  if (!response || response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (Response.redirect(), a fetch() response): a copy with the same body.
    const copy = newResponse(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

export const linger = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, LINGER_MS));
