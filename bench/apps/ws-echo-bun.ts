/**
 * The WebSocket echo written for Bun.serve's own WebSockets (server.upgrade() in fetch, handlers
 * taking Bun's ServerWebSocket), as bench/raw/bun-ws.ts is: what tsuv serves with --ws bun in the
 * WebSocket benchmark (scripts/bench/websocket.ts). GET / answers "Hello, world!" (the readiness probe).
 */
interface BunServerLike {
  upgrade(request: Request): boolean;
}
interface BunSocket {
  send(message: string | Uint8Array): void;
}

export default {
  fetch(request: Request, server: BunServerLike): Response | undefined {
    if (server.upgrade(request)) return undefined;
    return new Response("Hello, world!");
  },
  websocket: {
    message(ws: BunSocket, message: string | Uint8Array) {
      ws.send(message);
    },
  },
};
