/**
 * The app every fetch-handler contender serves: tsuv (on each runtime) and `deno serve --parallel`
 * load this file as is, and the raw servers in bench/raw/ copy its two routes by hand, so the
 * handler work is the same everywhere and only the server differs.
 * - GET /          plaintext "Hello, world!"
 * - POST /json     parse the JSON body and send it back (the 1 KiB echo workload)
 * - GET /pid       the serving process's PID (the worker-replacement probe; not benchmarked)
 */
// Read on the /pid route, not at load: on Deno the first touch of `process` starts its Node
// compatibility layer (~30 ms), which the raw Deno server (Deno.pid) does not pay at start-up either.
const pid = () => (globalThis as { process?: { pid: number } }).process?.pid ?? 0;

export default {
  fetch(request: Request): Response | Promise<Response> {
    const url = request.url;
    if (url.endsWith("/json")) return request.json().then((body) => Response.json(body));
    if (url.endsWith("/pid")) return new Response(String(pid()));
    return new Response("Hello, world!");
  },
};
