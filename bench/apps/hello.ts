/**
 * The app every fetch-handler contender serves: tsuv (on each runtime) and `deno serve --parallel`
 * load this file as is, and the raw servers in bench/raw/ copy its two routes by hand, so the
 * handler work is the same everywhere and only the server differs.
 * - GET /          plaintext "Hello, world!"
 * - POST /json     parse the JSON body and send it back (the 1 KiB echo workload)
 * - GET /pid       the serving process's PID (the worker-replacement probe; not benchmarked)
 */
const pid = (globalThis as { process?: { pid: number } }).process?.pid ?? 0;

export default {
  fetch(request: Request): Response | Promise<Response> {
    const url = request.url;
    if (url.endsWith("/json")) return request.json().then((body) => Response.json(body));
    if (url.endsWith("/pid")) return new Response(String(pid));
    return new Response("Hello, world!");
  },
};
