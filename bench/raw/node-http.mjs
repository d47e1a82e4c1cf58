// Raw baseline: node:http with res.end(), bench/apps/hello.ts's routes written against
// IncomingMessage/ServerResponse directly (no Request/Response objects). PORT from the environment.
// Imported by node-cluster.mjs, which runs it in each cluster worker.
import { createServer } from "node:http";

function handler(req, res) {
  if (req.url === "/json") {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
    return;
  }
  res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
  res.end(req.url === "/pid" ? String(process.pid) : "Hello, world!");
}

// Exit normally on SIGINT so `node --cpu-prof` writes its profile (scripts/bench/profile.ts --raw).
process.once("SIGINT", () => process.exit(0));

createServer(handler).listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? "127.0.0.1");
