// Raw baseline for the WebSocket echo benchmark on Node.js: node:http and the `ws` package, the
// usual Node WebSocket server (Node has no server of its own). PORT from the environment.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ noServer: true });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));

const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
  res.end("Hello, world!");
});
server.on("upgrade", (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)),
);

process.once("SIGINT", () => process.exit(0));
server.listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? "127.0.0.1");
