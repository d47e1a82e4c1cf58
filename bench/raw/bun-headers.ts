// What the header work of uvicorn's defaults costs Bun.serve itself: the hello-world route of
// bun-serve.ts with tsuv's header operations done by hand, chosen by MODE. Not a contender:
// scripts/bench/callgrind.ts runs it to explain the `tsuv lean` vs `tsuv` gap on Bun
// (docs/benchmarks.md, Notes), as deno-headers.ts does on Deno. PORT from the environment.
//   MODE=none       the plain route
//   MODE=headers    request.headers read (Bun builds the request's Headers on first read)
//   MODE=read2      ... .has("x-forwarded-for") || .has("x-forwarded-proto") (tsuv's proxy-header check)
//   MODE=peer       server.requestIP(request) (what the access log and a peer-first check read)
//   MODE=write      response.headers.has("server") then .set(...)   (tsuv's server header)
//   MODE=both       read2 and write together (what tsuv does by default without its access log)
const mode = process.env.MODE ?? "none";

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8000),
  fetch(request) {
    if (mode === "headers") request.headers;
    else if (mode === "read2" || mode === "both") {
      const headers = request.headers;
      if (!headers.has("x-forwarded-for")) headers.has("x-forwarded-proto");
    } else if (mode === "peer") server.requestIP(request);
    const response = new Response("Hello, world!");
    if ((mode === "write" || mode === "both") && !response.headers.has("server"))
      response.headers.set("server", "tsuv");
    return response;
  },
});
