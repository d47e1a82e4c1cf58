// Raw baseline: Deno.serve with bench/apps/hello.ts's routes. PORT from the environment.
const pid = Deno.pid;

Deno.serve(
  {
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8000),
    onListen() {},
  },
  (request) => {
    const url = request.url;
    if (url.endsWith("/json")) return request.json().then((body) => Response.json(body));
    if (url.endsWith("/pid")) return new Response(String(pid));
    return new Response("Hello, world!");
  },
);
