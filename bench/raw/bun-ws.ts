// Raw baseline for the WebSocket echo benchmark: Bun.serve's own WebSockets. PORT from the environment.
process.once("SIGINT", () => process.exit(0));

Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8000),
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response("Hello, world!");
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
});
