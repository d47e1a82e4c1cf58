/**
 * The WebSocket opening handshake as tsuv checks it, the same on every runtime (RFC 6455 4.2.1).
 */
import { statusPhrase } from "./http-status.ts";
import { newResponse } from "./native-response.ts";

/**
 * Is this request a WebSocket upgrade? `Upgrade: websocket` in any case, and `upgrade` among the
 * Connection header's options (RFC 6455 4.2.1; RFC 9110 7.8: an Upgrade the Connection header does
 * not name is ignored). Without it the request is a plain one, as uvicorn and node:http take it:
 * Bun.serve upgraded it, Deno.upgradeWebSocket refused it with 400.
 */
export function isWebSocketUpgrade(request: Request): boolean {
  const upgrade = request.headers.get("upgrade");
  if (upgrade === null || upgrade.toLowerCase() !== "websocket") return false;
  const connection = request.headers.get("connection");
  return connection !== null && CONNECTION_UPGRADE.test(connection);
}

/** `upgrade` as one of a Connection header's comma-separated options, in any case. */
const CONNECTION_UPGRADE = /(?:^|,)[ \t]*upgrade[ \t]*(?:,|$)/i;

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/** RFC 6455 4.2.1 checks the runtimes make too, but each with its own answer: made here once. */
export function handshakeProblem(request: Request): Response | null {
  // With its reason phrase, and no body for a HEAD: on Node.js crossws writes the refusal to the
  // socket itself, as given (Bun.serve and Deno.serve put in their phrase and drop a HEAD's body).
  const plain = (status: number, text: string, headers: Record<string, string> = {}) =>
    newResponse(request.method === "HEAD" ? null : text, {
      status,
      statusText: statusPhrase(status),
      headers: { "content-type": "text/plain; charset=utf-8", connection: "close", ...headers },
    });
  if (request.method !== "GET") return plain(405, "Method Not Allowed");
  if (!WEBSOCKET_KEY.test(request.headers.get("sec-websocket-key") ?? "")) {
    return plain(400, "Missing or invalid Sec-WebSocket-Key header");
  }
  if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
    return plain(426, "Upgrade Required", { "sec-websocket-version": "13" });
  }
  return null;
}
