// Raw baseline: Bun.serve with bench/apps/hello.ts's routes. PORT from the environment.
// `REUSE_PORT=1` makes it one of bench/raw/bun-reuseport.ts's workers.
const pid = process.pid;

// Exit normally on SIGINT so `bun --cpu-prof` writes its profile (scripts/bench/profile.ts --raw).
process.once("SIGINT", () => process.exit(0));

Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8000),
  reusePort: process.env.REUSE_PORT === "1",
  fetch(request) {
    const url = request.url;
    if (url.endsWith("/json")) return request.json().then((body) => Response.json(body));
    if (url.endsWith("/pid")) return new Response(String(pid));
    return new Response("Hello, world!");
  },
});
