/**
 * The example app: `npm start` serves it. A WinterTC-style app object, as Hono, h3 and Elysia
 * export: fetch(request, info) plus optional lifespan hooks.
 */
interface Info {
  remoteAddr: { hostname: string; port: number };
}

let startedAt = 0;

export const app = {
  startup() {
    startedAt = Date.now();
  },
  fetch(request: Request, info: Info): Response | Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/":
        return new Response("Hello, world!");
      case "/json":
        return Response.json({ client: info.remoteAddr.hostname, uptimeMs: Date.now() - startedAt });
      case "/echo":
        return request
          .text()
          .then((body) => new Response(body, { headers: { "content-type": "text/plain" } }));
      default:
        return new Response("Not Found", { status: 404 });
    }
  },
};

export default app;
