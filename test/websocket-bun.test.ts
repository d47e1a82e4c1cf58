/**
 * --ws bun: apps written for Bun.serve's own WebSockets (`server.upgrade(request, { data })` in
 * fetch, handlers reading `ws.data`), served by a real tsuv on Bun, one worker and two thread
 * workers; and a real Hono app with hono/bun's upgradeWebSocket. The sockets get what crossws hooks
 * get (test/websocket.test.ts): log lines, default headers on the 101, proxy headers, keepalive,
 * 1011 for a throwing handler, 1012 at shutdown, --limit-concurrency slots. Other runtimes refuse
 * the flag (test/cli-errors.test.ts).
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, type RunningTsuv, startTsuv } from "./helpers/tsuv.ts";
import {
  deadPeer,
  echo,
  next,
  open,
  rawUpgradeStatus,
  serveWebSockets,
  upgradeRequest,
} from "./helpers/ws-client.ts";

const APP = "test/fixtures/apps/websocket-bun.ts";
const HONO_APP = "test/fixtures/apps/websocket-hono-bun.ts";
const ELYSIA_APP = "test/fixtures/apps/elysia-bun.ts";

afterEach(killAll);

/** tsuv on Bun with --ws bun. */
function serve(args: string[], workers = 1): Promise<RunningTsuv> {
  return serveWebSockets("bun", workers, ["--ws", "bun", ...args]);
}

for (const workers of [1, 2]) {
  const label = workers === 1 ? "one worker" : "2 thread workers";
  test(`Bun, ${label}: handlers written for Bun.serve, with tsuv's logs, headers, keepalive and shutdown`, async () => {
    const tsuv = await serve(
      [APP, "--ws-ping-interval", "1", "--ws-ping-timeout", "1", "--timeout-graceful-shutdown", "1"],
      workers,
    );
    const ws = tsuv.url.replace("http", "ws");
    const dead = await deadPeer(tsuv.port);
    const deadSince = Date.now();

    // The app's data reaches its handlers; the client is the one a trusted proxy named.
    const ann = await open(`${ws}/chat?user=ann`, { "x-forwarded-for": "203.0.113.7" });
    expect(await next(ann.ws)).toBe("hello ann from 203.0.113.7");
    await tsuv.waitFor(/203\.0\.113\.7:0 - "WebSocket \/chat\?user=ann" \[accepted\]/);
    expect(await echo(ann.ws, "text")).toBe("text");
    const bytes = new Uint8Array(64).map((_, i) => i);
    expect(new Uint8Array((await echo(ann.ws, bytes)) as ArrayBuffer)).toEqual(bytes);

    // Bun's pub/sub: server.publish() in fetch reaches the sockets of the worker that ran it.
    if (workers === 1) {
      const news = next(ann.ws);
      expect(await (await fetch(`${tsuv.url}/publish?m=extra`)).text()).toBe("true");
      expect(await news).toBe("extra");
    }

    // The 101 carries the app's headers and tsuv's defaults.
    const handshake = await upgradeRequest(`${tsuv.url}/chat`);
    expect(handshake.status).toBe(101);
    expect(handshake.headers.get("x-app")).toBe("yes");
    expect(handshake.headers.get("server")).toBe("tsuv");

    // A Host that is no authority: the app's fetch gets a url it can parse, on the request Bun's
    // server.upgrade() takes (a copy or a Proxy of it would fail its brand check).
    for (const host of ["x?", "[::1"])
      expect({ host, status: await rawUpgradeStatus(tsuv.port, "/chat?user=zed", host) }).toEqual({
        host,
        status: "HTTP/1.1 101 Switching Protocols",
      });

    // A request fetch did not upgrade is a request like any other.
    const refused = await upgradeRequest(`${tsuv.url}/reject`);
    expect([refused.status, await refused.text()]).toEqual([403, "Forbidden"]);
    await tsuv.waitFor(/"GET \/reject HTTP\/1\.1" 403/);

    // A handler that throws: logged with its stack, the socket closed with 1011.
    const boom = await open(`${ws}/chat?user=boom`);
    await next(boom.ws);
    boom.ws.send("boom");
    expect((await boom.closed).code).toBe(1011);
    await tsuv.waitFor(/Exception in WebSocket message hook\nError: message handler failed/);

    // Keepalive: the peer that never answers pings is dropped; live ones stay.
    const droppedAt = await Promise.race([dead.dropped, Bun.sleep(8000).then(() => -1)]);
    expect(droppedAt).toBeGreaterThan(0);
    expect(droppedAt - deadSince).toBeLessThan(8000);
    expect(await echo(ann.ws, "still here")).toBe("still here");

    // Upgraded requests are logged as sockets, not as HTTP requests.
    expect(tsuv.stdout() + tsuv.stderr()).not.toMatch(/"GET \/chat/);

    // Shutdown: 1012 for each open socket, the app's close handler runs with its data, exit in time.
    const bo = await open(`${ws}/chat?user=bo`);
    await next(bo.ws);
    const stoppedAt = Date.now();
    tsuv.signal("SIGTERM");
    expect(await Promise.all([ann.closed, bo.closed].map(async (c) => (await c).code))).toEqual([1012, 1012]);
    expect(await tsuv.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(tsuv.stdout()).toContain("app close 1012 ann");
    expect(tsuv.stdout()).toContain("app close 1012 bo");
    dead.socket.destroy();
  }, 60_000);
}

test("Bun: a Hono app's upgradeWebSocket; an open socket holds its request's --limit-concurrency slot", async () => {
  const tsuv = await serve([HONO_APP, "--limit-concurrency", "1"]);
  const ws = tsuv.url.replace("http", "ws");
  const socket = await open(`${ws}/ws?user=cy`);
  expect(await next(socket.ws)).toBe("open cy");
  expect(await echo(socket.ws, "hi")).toBe("hono hi");
  await tsuv.waitFor(/"WebSocket \/ws\?user=cy" \[accepted\]/);
  // What hono returns after upgrading (`new Response(null)`) is neither sent nor access-logged.
  expect(tsuv.stdout() + tsuv.stderr()).not.toMatch(/"GET \/ws/);
  // The one slot is the socket's: a request is refused while it is open...
  expect((await fetch(tsuv.url)).status).toBe(503);
  socket.ws.close(1000);
  await socket.closed;
  await tsuv.waitFor(/"WebSocket \/ws\?user=cy" \[closed 1000\]/);
  // ...and served once it has closed.
  const after = await fetch(tsuv.url);
  expect([after.status, await after.text()]).toEqual([200, "hono"]);
}, 30_000);

test("Bun: an Elysia app's .ws() route with --ws bun, and its context.server with the client proxy headers name", async () => {
  const tsuv = await serve([ELYSIA_APP]);
  const socket = await open(`${tsuv.url.replace("http", "ws")}/ws?user=kim`);
  expect(await next(socket.ws)).toBe("open kim");
  expect(await echo(socket.ws, "hey")).toBe("elysia hey");
  await tsuv.waitFor(/"WebSocket \/ws\?user=kim" \[accepted\]/);
  socket.ws.close(1000);
  await tsuv.waitFor(/elysia close 1000/);
  expect(await (await fetch(`${tsuv.url}/ip`)).text()).toBe("127.0.0.1");
  const proxied = await fetch(`${tsuv.url}/ip`, { headers: { "x-forwarded-for": "198.51.100.2" } });
  expect(await proxied.text()).toBe("198.51.100.2");
}, 30_000);

test("Bun: without --ws bun, Elysia's context.server still answers; its .ws() route says what is missing", async () => {
  const tsuv = await serveWebSockets("bun", 1, [ELYSIA_APP]);
  expect(await (await fetch(`${tsuv.url}/ip`)).text()).toBe("127.0.0.1");
  const refused = await upgradeRequest(`${tsuv.url}/ws`);
  expect(refused.status).toBe(500);
  expect(await refused.text()).toContain("server.upgrade() needs --ws bun");
}, 30_000);

test("Bun: a failed server.upgrade() leaves the request its --limit-concurrency slot until it answers", async () => {
  const tsuv = await serve([APP, "--limit-concurrency", "1"]);
  const pending = fetch(`${tsuv.url}/upgrade-then-wait`);
  await Bun.sleep(150);
  expect((await fetch(`${tsuv.url}/plain`)).status).toBe(503);
  const answer = await pending;
  expect([answer.status, await answer.text()]).toEqual([400, "upgraded: false"]);
  expect((await fetch(`${tsuv.url}/plain`)).status).toBe(200);
}, 30_000);

test("Bun: --ws bun with an app that has no websocket handlers, or a node-interface app, is refused", async () => {
  for (const [args, line] of [
    [["test/fixtures/apps/behaviour.ts:app"], /--ws bun: the app exports no `websocket` object beside fetch/],
    [
      ["test/fixtures/apps/websocket-node.ts:withUpgrade", "--interface", "node"],
      /--ws bun serves a fetch app's Bun\.serve handlers; this app has the node interface/,
    ],
  ] as const) {
    const tsuv = startTsuv("bun", [...args, "--port", "0", "--ws", "bun"], { waitReady: false }).raw;
    expect(await tsuv.exited).toBe(1);
    expect(tsuv.stderr()).toMatch(line);
    expect(tsuv.stderr()).not.toMatch(/\n\s+at /);
  }
}, 30_000);
