// What one header costs Deno.serve itself: the hello-world route of deno-serve.ts with one header
// read or written, chosen by MODE. Not a contender: scripts/bench/callgrind.ts runs it to explain
// the `tsuv lean` vs `tsuv` gap on Deno (docs/benchmarks.md, Notes). PORT from the environment.
//   MODE=none       the plain route
//   MODE=read       request.headers.has("x-forwarded-for")            (tsuv's proxy-header check)
//   MODE=read2      ... || request.headers.has("x-forwarded-proto")    (both of its lookups)
//   MODE=write      response.headers.has("server") then .append(...)  (tsuv's server header)
//   MODE=both       read2 and write together (what tsuv does by default)
//   MODE=typed      a content-type given in the Response's init (what most apps send)
//   MODE=typed2     the same with `server` in the init too (one header more, no Headers calls)
//   MODE=url        request.url read (what tsuv's Deno adapter reads of every request)
const mode = Deno.env.get("MODE") ?? "none";
const TYPED = { "content-type": "text/plain;charset=UTF-8" };
const TYPED_SERVER = { ...TYPED, server: "tsuv" };

Deno.serve(
  {
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8000),
    onListen() {},
  },
  (request) => {
    if (mode === "url") request.url.startsWith("http://127.0.0.1:");
    else if (mode === "read") request.headers.has("x-forwarded-for");
    else if (mode === "read2" || mode === "both") {
      const headers = request.headers;
      if (!headers.has("x-forwarded-for")) headers.has("x-forwarded-proto");
    }
    if (mode === "typed") return new Response("Hello, world!", { headers: TYPED });
    if (mode === "typed2") return new Response("Hello, world!", { headers: TYPED_SERVER });
    const response = new Response("Hello, world!");
    if ((mode === "write" || mode === "both") && !response.headers.has("server"))
      response.headers.append("server", "tsuv");
    return response;
  },
);
