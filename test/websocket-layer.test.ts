/**
 * src/websocket.ts without a network: the wrapped hooks driven as crossws drives them, with fake
 * peers. The real runtimes are test/websocket.test.ts's.
 */
import { expect, setSystemTime, test } from "bun:test";
import type { Peer, PeerContext } from "crossws";
import { createLogger } from "../src/logging.ts";
import { createDefaultHeaders } from "../src/middleware/default-headers.ts";
import { ConcurrencyLimit } from "../src/middleware/limits.ts";
import { createTrustedHosts } from "../src/middleware/proxy-headers.ts";
import type { FetchHandler, WebSocketHooks } from "../src/runtime/adapter.ts";
import { WebSocketLayer, type WebSocketLayerOptions, warnOnUpgrade } from "../src/websocket.ts";
import { HANDSHAKE_HEADERS } from "./helpers/ws-client.ts";

function logs() {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    format: "text",
    useColors: false,
    accessLog: true,
    stdout: (line) => lines.push(line),
    stderr: (line) => lines.push(line),
  });
  return { lines, logger };
}

function layer(hooks: WebSocketHooks = {}, options: Partial<WebSocketLayerOptions> = {}) {
  const { lines, logger } = logs();
  const ws = new WebSocketLayer({
    hooks,
    logger,
    concurrency: null,
    trusted: createTrustedHosts("127.0.0.1"),
    defaultHeaders: null,
    maxMessageBytes: 1024,
    perMessageDeflate: true,
    pingIntervalSeconds: 1,
    pingTimeoutSeconds: 1,
    ...options,
  });
  return { ws, lines, serve: ws.serveOptions() };
}

function upgradeRequest(path = "/chat", headers: Record<string, string> = {}, context?: PeerContext) {
  const request = new Request(`http://127.0.0.1:8000${path}`, {
    headers: { ...HANDSHAKE_HEADERS, ...headers },
  });
  (request as Request & { context?: PeerContext }).context = context;
  return request;
}

class FakePeer {
  closedWith: number | undefined;
  terminated = false;
  pings = 0;
  constructor(
    readonly context: PeerContext,
    readonly request: Request,
  ) {}
  get remoteAddress(): string {
    return "socket-address";
  }
  close(code?: number) {
    this.closedWith = code;
  }
  terminate() {
    this.terminated = true;
  }
  ping() {
    this.pings++;
  }
}

/** The wrapped hooks, all of which the layer defines. */
function hooksOf(l: ReturnType<typeof layer>): Required<WebSocketHooks> {
  return l.ws.hooks as Required<WebSocketHooks>;
}

/** Upgrade then open, as crossws does; returns the peer. */
async function connect(l: ReturnType<typeof layer>, path = "/chat", port = 5000) {
  const context = l.serve.context({ hostname: "127.0.0.1", port });
  const request = upgradeRequest(path, {}, context);
  const result = await hooksOf(l).upgrade(request);
  expect(result).not.toBeInstanceOf(Response);
  const peer = new FakePeer(context, request);
  await hooksOf(l).open(peer as unknown as Peer);
  return peer;
}

test("accepted sockets are logged as uvicorn does, refusals with their status", async () => {
  const l = layer({
    upgrade: (request) =>
      new URL(request.url).pathname === "/no" ? new Response("no", { status: 403 }) : undefined,
  });
  const peer = await connect(l, "/chat?x=1");
  expect(l.lines).toContain('INFO:     127.0.0.1:5000 - "WebSocket /chat?x=1" [accepted]');
  const context = l.serve.context({ hostname: "127.0.0.1", port: 5001 });
  const refused = await hooksOf(l).upgrade(upgradeRequest("/no", {}, context));
  expect((refused as Response).status).toBe(403);
  expect(l.lines).toContain('INFO:     127.0.0.1:5001 - "WebSocket /no" 403');
  await hooksOf(l).close(peer as unknown as Peer, { code: 1000, reason: "bye" });
  expect(l.lines).toContain('DEBUG:    127.0.0.1:5000 - "WebSocket /chat?x=1" [closed 1000 bye]');
  expect(l.ws.open.size).toBe(0);
});

test("bad handshakes are refused before the app's upgrade hook runs", async () => {
  let called = 0;
  const l = layer({ upgrade: () => void called++ });
  const refuse = async (headers: Record<string, string>) => {
    const context = l.serve.context({ hostname: "127.0.0.1", port: 1 });
    return ((await hooksOf(l).upgrade(upgradeRequest("/", headers, context))) as Response).status;
  };
  expect(await refuse({ "sec-websocket-key": "nope" })).toBe(400);
  expect(await refuse({ "sec-websocket-version": "8" })).toBe(426);
  expect(called).toBe(0);
});

test("an upgrade hook that throws: a thrown Response is the answer, anything else a logged 500", async () => {
  const l = layer({
    upgrade: (request) => {
      if (request.url.endsWith("/response")) throw new Response("teapot", { status: 418 });
      throw new Error("kaput");
    },
  });
  const status = async (path: string) => {
    const context = l.serve.context({ hostname: "127.0.0.1", port: 1 });
    return ((await hooksOf(l).upgrade(upgradeRequest(path, {}, context))) as Response).status;
  };
  expect(await status("/response")).toBe(418);
  expect(await status("/error")).toBe(500);
  expect(l.lines.some((line) => line.includes("Exception in WebSocket upgrade hook"))).toBe(true);
});

test("open sockets hold --limit-concurrency slots until they close; failed upgrades give theirs back", async () => {
  const concurrency = new ConcurrencyLimit(2);
  const l = layer({}, { concurrency });
  const a = await connect(l, "/a");
  const failedContext = l.serve.context({ hostname: "127.0.0.1", port: 2 });
  await hooksOf(l).upgrade(upgradeRequest("/b", {}, failedContext));
  expect(concurrency.active).toBe(2);
  const context = l.serve.context({ hostname: "127.0.0.1", port: 3 });
  expect(((await hooksOf(l).upgrade(upgradeRequest("/c", {}, context))) as Response).status).toBe(503);
  // The runtime refused /b after the hook accepted it: its slot comes back.
  l.serve.upgradeFailed(failedContext);
  expect(concurrency.active).toBe(1);
  // ...once only, and not for a socket that opened.
  l.serve.upgradeFailed(failedContext);
  l.serve.upgradeFailed(a.context);
  expect(concurrency.active).toBe(1);
  await hooksOf(l).close(a as unknown as Peer, { code: 1000 });
  expect(concurrency.active).toBe(0);
});

test("proxy headers: the hooks see the forwarded client and scheme", async () => {
  let seenUrl = "";
  const l = layer({
    upgrade: (request) => {
      seenUrl = request.url;
    },
  });
  const context = l.serve.context({ hostname: "127.0.0.1", port: 9 });
  const request = upgradeRequest(
    "/p",
    { "x-forwarded-for": "203.0.113.7:4000", "x-forwarded-proto": "wss" },
    context,
  );
  await hooksOf(l).upgrade(request);
  const peer = new FakePeer(context, request);
  await hooksOf(l).open(peer as unknown as Peer);
  expect(seenUrl).toBe("https://127.0.0.1:8000/p");
  expect(peer.remoteAddress).toBe("203.0.113.7");
  expect(l.lines).toContain('INFO:     203.0.113.7:4000 - "WebSocket /p" [accepted]');
});

test("default headers go with the 101, after the app's own", async () => {
  const defaultHeaders = createDefaultHeaders({
    serverHeader: true,
    dateHeader: false,
    headers: [["x-extra", "1"]],
  });
  const l = layer({ upgrade: () => ({ headers: { "x-extra": "app" } }) }, { defaultHeaders });
  const context = l.serve.context({ hostname: "127.0.0.1", port: 1 });
  const result = (await hooksOf(l).upgrade(upgradeRequest("/", {}, context))) as { headers: Headers };
  expect(result.headers.get("server")).toBe("tsuv");
  expect(result.headers.get("x-extra")).toBe("app");
});

test("keepalive: a ping every interval; a peer silent for the timeout after it is cut", async () => {
  const l = layer();
  const quiet = await connect(l, "/quiet", 1);
  const chatty = await connect(l, "/chatty", 2);
  const t0 = 1_000_000;
  l.ws.keepaliveTick(t0, 1000, 1000); // schedules the first pings
  l.ws.keepaliveTick(t0 + 1000, 1000, 1000); // pings both
  expect([quiet.pings, chatty.pings]).toEqual([1, 1]);
  await hooksOf(l).pong(chatty as unknown as Peer, new Uint8Array());
  l.ws.keepaliveTick(t0 + 2000, 1000, 1000);
  expect(quiet.terminated).toBe(true);
  expect(chatty.terminated).toBe(false);
  expect(chatty.pings).toBe(2);
  expect(l.lines.some((line) => line.includes('"WebSocket /quiet" [keepalive ping timeout]'))).toBe(true);
});

test("keepalive runs on the monotonic clock: the wall clock set back an hour holds no ping back", async () => {
  const l = layer({}, { pingIntervalSeconds: 0.05, pingTimeoutSeconds: 0.05 });
  const peer = await connect(l, "/steady", 1);
  /** Pong each ping (so the peer stays) until `count` pings have come, or 2 s. */
  const pingsReach = async (count: number) => {
    const started = performance.now();
    while (peer.pings < count && performance.now() - started < 2000) {
      await Bun.sleep(10);
      await hooksOf(l).pong(peer as unknown as Peer, new Uint8Array());
    }
    return peer.pings;
  };
  try {
    l.ws.startKeepalive();
    expect(await pingsReach(1)).toBe(1);
    // NTP steps the clock back an hour (a VM resumed, a container's first sync).
    setSystemTime(new Date(Date.now() - 3_600_000));
    expect(await pingsReach(4)).toBe(4);
    expect(peer.terminated).toBe(false);
  } finally {
    setSystemTime();
    l.ws.terminateAll();
  }
});

test("shutdown closes every socket with 1012 and waits for them, cutting those that never answer", async () => {
  const l = layer();
  const polite = await connect(l, "/polite", 1);
  const rude = await connect(l, "/rude", 2);
  const started = Date.now();
  const done = l.ws.closeAll(100);
  expect([polite.closedWith, rude.closedWith]).toEqual([1012, 1012]);
  await hooksOf(l).close(polite as unknown as Peer, { code: 1012 });
  await done;
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  expect(rude.terminated).toBe(true);
  expect(polite.terminated).toBe(false);
  // No new upgrade while shutting down.
  const context = l.serve.context({ hostname: "127.0.0.1", port: 3 });
  expect(((await hooksOf(l).upgrade(upgradeRequest("/late", {}, context))) as Response).status).toBe(503);
});

test("shutdown resolves as soon as the last socket closed", async () => {
  const l = layer();
  const peer = await connect(l);
  const done = l.ws.closeAll(10_000);
  await hooksOf(l).close(peer as unknown as Peer, { code: 1012 });
  const started = Date.now();
  await done;
  expect(Date.now() - started).toBeLessThan(1000);
});

test("resolve: each socket gets the hooks resolve gave for its request; none is a 404, a throw a logged 500", async () => {
  const seen: string[] = [];
  const route = (name: string): WebSocketHooks => ({
    upgrade: (request) =>
      request.url.endsWith("/refused") ? new Response("no", { status: 403 }) : undefined,
    open: () => void seen.push(`${name} open`),
    message: (_peer, message) => void seen.push(`${name} ${message as unknown as string}`),
    close: () => void seen.push(`${name} close`),
  });
  const l = layer({
    resolve: async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/boom") throw new Error("resolve failed");
      return path.startsWith("/a") ? route("a") : path.startsWith("/b") ? route("b") : undefined;
    },
    // Beside resolve, the object's own hooks are not called.
    open: () => void seen.push("static open"),
  });
  const a = await connect(l, "/a");
  const b = await connect(l, "/b");
  await hooksOf(l).message(b as unknown as Peer, "to b" as never);
  await hooksOf(l).message(a as unknown as Peer, "to a" as never);
  await hooksOf(l).close(a as unknown as Peer, { code: 1000, reason: "" });
  expect(seen).toEqual(["a open", "b open", "b to b", "a to a", "a close"]);
  const status = async (path: string) => {
    const context = l.serve.context({ hostname: "127.0.0.1", port: 1 });
    return ((await hooksOf(l).upgrade(upgradeRequest(path, {}, context))) as Response).status;
  };
  expect(await status("/nothing")).toBe(404);
  expect(await status("/a/refused")).toBe(403);
  expect(await status("/boom")).toBe(500);
  expect(l.lines).toContain('INFO:     127.0.0.1:1 - "WebSocket /nothing" 404');
  expect(l.lines.some((line) => line.includes("Exception in WebSocket resolve hook"))).toBe(true);
});

test("websocket: {} takes each upgrade's hooks from fetch: on the response, on the request, or refuses with fetch's answer", async () => {
  const seen: string[] = [];
  const hooks: WebSocketHooks = { open: () => void seen.push("open") };
  const fetch: FetchHandler = (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/response")
      return Object.assign(new Response("upgrade required", { status: 426 }), {
        crossws: Promise.resolve(hooks),
      });
    if (path === "/request") {
      (request as Request & Record<symbol, unknown>)[Symbol.for("crossws.hooks")] = hooks;
      return new Response("upgrade required", { status: 426 });
    }
    if (path === "/throws") throw new Error("fetch failed");
    return new Response("no such page", { status: 404 });
  };
  const l = layer({}, { fetch });
  await connect(l, "/response");
  await connect(l, "/request");
  expect(seen).toEqual(["open", "open"]);
  const refusal = async (path: string) => {
    const context = l.serve.context({ hostname: "127.0.0.1", port: 1 });
    return (await hooksOf(l).upgrade(upgradeRequest(path, {}, context))) as Response;
  };
  const notFound = await refusal("/elsewhere");
  expect([notFound.status, await notFound.text()]).toEqual([404, "no such page"]);
  expect((await refusal("/throws")).status).toBe(500);
  expect(l.lines.some((line) => line.includes("Exception in fetch handler"))).toBe(true);
  // Without a fetch (a node app), {} stays what it was: no hooks, every upgrade accepted.
  await connect(layer({}), "/anything");
});

test("hooks are called as methods: a hooks object written as a class keeps its `this`", async () => {
  class Chat {
    readonly seen: string[] = [];
    open() {
      this.seen.push("open");
    }
    message(_peer: Peer, message: unknown) {
      this.seen.push(String(message));
    }
    close() {
      this.seen.push("close");
    }
  }
  const chat = new Chat();
  const l = layer(chat as unknown as WebSocketHooks);
  const peer = await connect(l);
  await hooksOf(l).message(peer as unknown as Peer, "hi" as never);
  await hooksOf(l).close(peer as unknown as Peer, { code: 1000, reason: "" });
  expect(chat.seen).toEqual(["open", "hi", "close"]);
  expect(peer.closedWith).toBeUndefined();
});

test("an exception in a hook is logged and the socket closed with 1011", async () => {
  const l = layer({
    message: () => {
      throw new Error("sync");
    },
    open: async () => {
      throw new Error("async");
    },
  });
  const peer = await connect(l);
  await Bun.sleep(0);
  expect(peer.closedWith).toBe(1011);
  const other = await connect(l);
  await hooksOf(l).message(other as unknown as Peer, {} as never);
  expect(other.closedWith).toBe(1011);
  expect(l.lines.filter((line) => line.includes("Exception in WebSocket")).length).toBe(3);
});

test("hooks written for Bun.serve (hono/bun's websocket) fail with a line that says so", async () => {
  // hono/bun's open(ws) reads ws.data.events, set by server.upgrade(req, { data }) under Bun.serve.
  const l = layer({
    open: (ws) => {
      void (ws as unknown as { data: { events: unknown } }).data.events;
    },
  });
  const peer = await connect(l);
  expect(peer.closedWith).toBe(1011);
  expect(l.lines.join("\n")).toContain("ws.data: these WebSocket hooks were written for Bun.serve");
});

test("--ws none: the first upgrade request gets a warning, once", async () => {
  const { lines, logger } = logs();
  const app: FetchHandler = () => new Response("ok");
  const handler = warnOnUpgrade(app, logger);
  const info = { remoteAddr: { hostname: "127.0.0.1", port: 1 } };
  await handler(new Request("http://x/"), info);
  expect(lines.length).toBe(0);
  await handler(upgradeRequest(), info);
  await handler(upgradeRequest(), info);
  expect(lines.filter((line) => line.includes("Unsupported upgrade request")).length).toBe(1);
});

test("--ws bun: the app's Bun handlers get its own data; a socket upgraded while shutting down is refused", async () => {
  const seen: unknown[] = [];
  const l = layer(
    {
      open: (ws: unknown) => void seen.push((ws as { data: unknown }).data),
      backpressureLimit: 5,
    } as WebSocketHooks,
    { native: true },
  );
  const native = l.serve.native;
  if (!native) throw new Error("no native serve options");
  expect(native.options).toEqual({ backpressureLimit: 5 });
  const client = { hostname: "203.0.113.9", port: 0 };
  const upgrade = native.socket.upgradeOptions("http://x/room?a=1", client, { data: { user: "ann" } });
  if (!upgrade) throw new Error("refused");
  // Bun's socket: `data` is what server.upgrade() was given, writable, one object per socket.
  const ws = Object.assign(new FakePeer({}, upgradeRequest()), { data: upgrade.data });
  await native.socket.handlers.open?.(ws);
  expect(seen).toEqual([{ user: "ann" }]);
  expect(l.lines.join("\n")).toContain('203.0.113.9:0 - "WebSocket /room?a=1" [accepted]');
  expect(l.ws.open.size).toBe(1);
  // Shutdown: the open socket gets 1012; a new upgrade is refused and logged as a 503.
  const closing = l.ws.closeAll(50);
  expect(ws.closedWith).toBe(1012);
  expect(native.socket.upgradeOptions("http://x/late", client, undefined)).toBeNull();
  expect(l.lines.join("\n")).toContain('203.0.113.9:0 - "WebSocket /late" 503');
  native.socket.handlers.close?.(ws, 1012 as never, "" as never);
  await closing;
  expect(l.ws.open.size).toBe(0);
});
