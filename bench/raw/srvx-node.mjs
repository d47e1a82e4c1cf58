// Peer baseline: srvx (h3js/srvx, pinned devDependency) on Node, with bench/apps/hello.ts's routes
// as a fetch handler. PORT from the environment.
import { serve } from "srvx/node";

serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8000),
  silent: true,
  fetch(request) {
    const url = request.url;
    if (url.endsWith("/json")) return request.json().then((body) => Response.json(body));
    if (url.endsWith("/pid")) return new Response(String(process.pid));
    return new Response("Hello, world!");
  },
});
