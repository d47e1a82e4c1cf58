// The WebSocket echo on Node.js with crossws alone, no tsuv: node:http and crossws's Node adapter
// (which bundles `ws`) serving the hooks bench/apps/ws-echo.ts serves. Beside tsuv and
// node:http + ws (node-ws.mjs) in the WebSocket benchmark, it tells crossws's share of tsuv's cost
// per message from tsuv's own. Configured as src/runtime/ws-node.ts configures it: no keepalive
// sweep of crossws's own (tsuv pings on its own timers), which would add a listener per message.
// PORT from the environment.
import { createServer } from "node:http";
import crossws from "crossws/adapters/node";

const ws = crossws({
  idleTimeout: 0,
  hooks: {
    message(peer, message) {
      peer.send(message.text());
    },
  },
});

const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
  res.end("Hello, world!");
});
server.on("upgrade", (req, socket, head) => ws.handleUpgrade(req, socket, head));

process.once("SIGINT", () => process.exit(0));
server.listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? "127.0.0.1");
