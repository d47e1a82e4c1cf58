/**
 * The request as the app sees it under another URL (a trusted X-Forwarded-Proto, --root-path).
 *
 * A copy (`new Request(url, request)`) keeps method, headers, body and signal, and is what the app
 * gets, except for a WebSocket upgrade: an app that upgrades by itself hands the request back to
 * the runtime (Deno.upgradeWebSocket), which accepts only the object its server gave, and a copy
 * breaks the handshake (the client sees a protocol error). An upgrade request is therefore wrapped
 * in a Proxy that answers `url` and forwards everything else, internal slots included, to the
 * original. Only upgrades: a Proxy fails the brand checks of Bun's native classes (fetch(request)).
 */
export function withUrl(request: Request, url: string): Request {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Request(url, request);
  return new Proxy(request, {
    get(target, key) {
      if (key === "url") return url;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A host as a URL (or uvicorn's "running on" line) writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
