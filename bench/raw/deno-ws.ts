// Raw baseline for the WebSocket echo benchmark: Deno.upgradeWebSocket. PORT from the environment.
Deno.serve(
  {
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8000),
    onListen() {},
  },
  (request) => {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Hello, world!");
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  },
);
