/**
 * The WebSocket opening handshake as tsuv checks it, the same on every runtime (RFC 6455 4.2.1).
 */

/** Is this request a WebSocket upgrade? (The header is `websocket` in any case, RFC 6455 4.2.1.) */
export function isWebSocketUpgrade(request: Request): boolean {
  const upgrade = request.headers.get("upgrade");
  return upgrade !== null && upgrade.toLowerCase() === "websocket";
}

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/** RFC 6455 4.2.1 checks the runtimes make too, but each with its own answer: made here once. */
export function handshakeProblem(request: Request): Response | null {
  const plain = (status: number, text: string, headers: Record<string, string> = {}) =>
    new Response(text, {
      status,
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
