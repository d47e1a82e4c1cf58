/**
 * WebSockets end to end: a real tsuv on Node 20, Node 24, Bun and Deno, one worker and two thread
 * workers, serving test/fixtures/apps/websocket.ts; this process is the client (Bun's WebSocket,
 * fetch with upgrade headers for refusals, and a raw TCP peer that never answers pings).
 * One server per configuration runs every check, then is shut down with sockets and an SSE stream
 * open, so the whole file stays well under a minute and a half.
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, RUNTIMES } from "./helpers/tsuv.ts";
import {
  deadPeer,
  echo,
  KEY,
  next,
  open,
  rawAnswer,
  rawUpgradeStatus,
  serveWebSockets,
  upgradeRequest,
} from "./helpers/ws-client.ts";

const APP = "test/fixtures/apps/websocket.ts";
const NODE_APPS = "test/fixtures/apps/websocket-node.ts";
const RESOLVE_APP = "test/fixtures/apps/websocket-resolve.ts";
const MAX_SIZE = 1_100_000;
const GRACEFUL_SECONDS = 1;

afterEach(killAll);

/** Reads an endless body; resolves once the server cuts it. */
async function readUntilCut(response: Response): Promise<void> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    while (!(await reader.read()).done) {}
  } catch {
    // Cut mid-stream.
  }
}

for (const runtime of RUNTIMES) {
  for (const workers of [1, 2]) {
    const label = workers === 1 ? "one worker" : "2 thread workers";
    test(`${runtime}, ${label}: echo, limits, keepalive, refusals, 200 sockets, shutdown with 1012`, async () => {
      const tsuv = await serveWebSockets(runtime, workers, [
        APP,
        "--ws-max-size",
        String(MAX_SIZE),
        "--ws-ping-interval",
        "1",
        "--ws-ping-timeout",
        "1",
        "--timeout-graceful-shutdown",
        String(GRACEFUL_SECONDS),
      ]);
      const ws = tsuv.url.replace("http", "ws");

      // Keepalive: started first, checked last (a dead peer is dropped about 2 s in).
      const dead = await deadPeer(tsuv.port);
      const deadSince = Date.now();

      // Echo: text as text, binary as binary, and 1 MiB of each.
      const chat = await open(`${ws}/chat`);
      expect(await echo(chat.ws, "hello")).toBe("hello");
      const bytes = new Uint8Array(256).map((_, i) => i);
      expect(new Uint8Array((await echo(chat.ws, bytes)) as ArrayBuffer)).toEqual(bytes);
      const mib = "m".repeat(1024 * 1024);
      expect(((await echo(chat.ws, mib)) as string).length).toBe(mib.length);
      const mibBytes = new Uint8Array(1024 * 1024).fill(7);
      expect(((await echo(chat.ws, mibBytes)) as ArrayBuffer).byteLength).toBe(mibBytes.length);

      // Over --ws-max-size: closed with 1009.
      const big = await open(`${ws}/chat`);
      big.ws.send("x".repeat(MAX_SIZE + 1));
      expect((await big.closed).code).toBe(1009);

      // An exception in a hook: logged, socket closed with 1011.
      const boom = await open(`${ws}/chat`);
      boom.ws.send("boom");
      expect((await boom.closed).code).toBe(1011);
      await tsuv.waitFor(/Exception in WebSocket message hook/);

      // Refusals: the app's Response, a throwing upgrade hook (500), a bad handshake (400).
      const refused = await upgradeRequest(`${tsuv.url}/reject`);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toBe("Forbidden");
      expect((await upgradeRequest(`${tsuv.url}/throws`)).status).toBe(500);
      expect((await upgradeRequest(`${tsuv.url}/chat`, { "sec-websocket-key": "short" })).status).toBe(400);
      await tsuv.waitFor(/127\.0\.0\.1:\d+ - "WebSocket \/reject" 403/);
      await tsuv.waitFor(/"WebSocket \/throws" 500/);
      await tsuv.waitFor(/127\.0\.0\.1:\d+ - "WebSocket \/chat" \[accepted\]/);

      // Proxy headers: the hooks and the log see the forwarded client (127.0.0.1 is trusted).
      const who = await open(`${ws}/whoami`, { "x-forwarded-for": "203.0.113.7" });
      expect(await next(who.ws)).toBe("203.0.113.7");
      await tsuv.waitFor(/203\.0\.113\.7:0 - "WebSocket \/whoami" \[accepted\]/);
      who.ws.close(1000);

      // A Host that is no authority: the hooks still get a url they can parse (request-authority.ts).
      for (const host of ["x?", "[::1", "x:99999"])
        expect({ host, status: await rawUpgradeStatus(tsuv.port, "/chat", host) }).toEqual({
          host,
          status: "HTTP/1.1 101 Switching Protocols",
        });

      // Plain HTTP beside WebSockets.
      expect(await (await fetch(`${tsuv.url}/plain`)).text()).toBe("http /plain upgrade=-");

      // An upgrade to anything but WebSocket (curl --http2's and Java's HttpClient's h2c offer), and
      // an Upgrade the Connection header does not name, are plain requests, as uvicorn takes them
      // (Node answered the first 400, Bun upgraded the second, Deno refused it).
      const ask = (head: string) => rawAnswer(tsuv.port, `${head}Host: x\r\n\r\n`);
      const h2c =
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n";
      expect(await ask(`GET /plain HTTP/1.1\r\n${h2c}`)).toEqual({
        status: "HTTP/1.1 200 OK",
        body: "http /plain upgrade=h2c",
      });
      const noConnection = `Upgrade: websocket\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`;
      expect(await ask(`GET /chat HTTP/1.1\r\nConnection: keep-alive\r\n${noConnection}`)).toEqual({
        status: "HTTP/1.1 200 OK",
        body: "http /chat upgrade=websocket",
      });
      // With a body: Node 20 has no way to hand such a request back whole, so it refuses it rather
      // than cut it short; Deno.serve answers 400 itself (a bare Deno.serve too, 2.9.6), pinned.
      const posted = await rawAnswer(
        tsuv.port,
        `POST /plain HTTP/1.1\r\nContent-Length: 2\r\n${h2c}Host: x\r\n\r\nhi`,
      );
      const refusesBody = runtime === "node20" || runtime === "deno";
      expect(posted.status).toBe(refusesBody ? "HTTP/1.1 400 Bad Request" : "HTTP/1.1 200 OK");
      // A handshake with another method: 405 on every runtime (Node's built its request as a GET),
      // HEAD's without a body.
      const handshakeBy = (method: string) =>
        ask(`${method} /chat HTTP/1.1\r\nConnection: Upgrade\r\n${noConnection}`);
      expect(await handshakeBy("POST")).toEqual({
        status: "HTTP/1.1 405 Method Not Allowed",
        body: "Method Not Allowed",
      });
      expect(await handshakeBy("HEAD")).toEqual({ status: "HTTP/1.1 405 Method Not Allowed", body: "" });

      // 200 sockets at once, each echoing its own message.
      const many = await Promise.all(Array.from({ length: 200 }, () => open(`${ws}/chat`)));
      const replies = await Promise.all(many.map((socket, i) => echo(socket.ws, `n${i}`)));
      expect(replies).toEqual(many.map((_, i) => `n${i}`));
      for (const socket of many) socket.ws.close(1000);
      await Promise.all(many.map((socket) => socket.closed));

      // The dead peer was dropped: ping after 1 s, no pong within 1 s (plus a tick, a margin).
      const droppedAt = await Promise.race([dead.dropped, Bun.sleep(8000).then(() => -1)]);
      expect(droppedAt).toBeGreaterThan(0);
      expect(droppedAt - deadSince).toBeLessThan(8000);
      // ...while live clients, which answer pings, stayed (the chat socket is older than that).
      expect(await echo(chat.ws, "still here")).toBe("still here");

      // Shutdown with open sockets and an endless SSE stream: 1012 for each socket, exit in time.
      const open3 = [chat, ...(await Promise.all([open(`${ws}/a`), open(`${ws}/b`)]))];
      const sse = await fetch(`${tsuv.url}/sse`);
      expect(sse.status).toBe(200);
      const sseDone = readUntilCut(sse);
      const stoppedAt = Date.now();
      tsuv.signal("SIGTERM");
      const codes = await Promise.all(open3.map(async (socket) => (await socket.closed).code));
      expect(codes).toEqual([1012, 1012, 1012]);
      expect(await tsuv.exited).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan((GRACEFUL_SECONDS + 4) * 1000);
      await sseDone;
      dead.socket.destroy();
    }, 60_000);
  }
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: open sockets count against --limit-concurrency, idle past the keep-alive timeout`, async () => {
    const tsuv = await serveWebSockets(runtime, 1, [
      APP,
      "--limit-concurrency",
      "2",
      "--ws-ping-interval",
      "0",
      "--timeout-keep-alive",
      "1",
    ]);
    const ws = tsuv.url.replace("http", "ws");
    const first = await open(`${ws}/one`);
    const second = await open(`${ws}/two`);
    // Both slots are held by open sockets: an upgrade (and a request) is refused with 503.
    expect((await upgradeRequest(`${tsuv.url}/three`)).status).toBe(503);
    await tsuv.waitFor(/"WebSocket \/three" 503/);
    // Idle longer than --timeout-keep-alive: a WebSocket is not an idle HTTP connection.
    await Bun.sleep(2000);
    expect(await echo(first.ws, "one")).toBe("one");
    second.ws.close(1000);
    await second.closed;
    const third = await open(`${ws}/three`);
    expect(await echo(third.ws, "three")).toBe("three");
  }, 30_000);

  test(`${runtime}: close codes: the client's, 1006 for a dropped connection, and peer.terminate()`, async () => {
    const tsuv = await serveWebSockets(runtime, 1, [APP, "--ws-ping-interval", "0"]);
    const ws = tsuv.url.replace("http", "ws");
    const clean = await open(`${ws}/clean`);
    clean.ws.close(4001, "bye");
    await clean.closed;
    // The connection ends without a close frame (RFC 6455 7.1.5: code 1006). Deno 2.9 reports 0.
    const dropped = await deadPeer(tsuv.port);
    dropped.socket.destroy();
    // Node and Bun drop the connection (1006); Deno cannot, and closes it with a frame (no code: 1005).
    const cut = runtime === "deno" ? 1005 : 1006;
    const terminated = await open(`${ws}/terminate`);
    expect((await terminated.closed).code).toBe(cut);
    let closes = "";
    for (let tries = 0; tries < 100 && closes.split("\n").length < 3; tries++) {
      await Bun.sleep(50);
      closes = await (await fetch(`${tsuv.url}/closes`)).text();
    }
    expect(closes.split("\n").sort()).toEqual(["/clean 4001 bye", "/dead 1006 ", `/terminate ${cut} `]);
    expect(tsuv.stderr()).not.toContain("Exception in WebSocket");
  }, 30_000);

  test(`${runtime}: node-interface apps, their own upgrade handler (ws) and crossws hooks`, async () => {
    const graceful = ["--interface", "node", "--timeout-graceful-shutdown", "10"];
    const [own, hooks] = await Promise.all([
      serveWebSockets(runtime, 1, [`${NODE_APPS}:withUpgrade`, ...graceful]),
      serveWebSockets(runtime, 1, [`${NODE_APPS}:withHooks`, ...graceful]),
    ]);
    const a = await open(`${own.url.replace("http", "ws")}/x`);
    expect(await echo(a.ws, "hi")).toBe("ws:hi");
    const b = await open(`${hooks.url.replace("http", "ws")}/x`);
    expect(await echo(b.ws, "hi")).toBe("hooks:hi");
    await hooks.waitFor(/"WebSocket \/x" \[accepted\]/);
    expect(await (await fetch(own.url)).text()).toBe("node");
    // Shutdown: tsuv's sockets get 1012; the app's own are cut, and neither holds the drain up.
    const stoppedAt = Date.now();
    own.signal("SIGTERM");
    hooks.signal("SIGTERM");
    expect((await b.closed).code).toBe(1012);
    await a.closed;
    expect(await own.exited).toBe(0);
    expect(await hooks.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  }, 30_000);
}

test("an exported http.Server with ws attached to it is served, requests and upgrades, on every runtime", async () => {
  const servers = await Promise.all(
    RUNTIMES.map((runtime) => serveWebSockets(runtime, 1, [`${NODE_APPS}:server`])),
  );
  for (const server of servers) {
    expect(await (await fetch(server.url)).text()).toBe("node server");
    const { ws } = await open(`${server.url.replace("http", "ws")}/x`);
    expect(await echo(ws, "hi")).toBe("server:hi");
    ws.close();
  }
}, 30_000);

test("per-route hooks resolved from the app's fetch (h3's defineWebSocketHandler), on every runtime", async () => {
  // `resolve` written out (the app's default export), and `websocket: {}` (tsuv takes them from fetch).
  const servers = await Promise.all(
    RUNTIMES.flatMap((runtime) => [
      serveWebSockets(runtime, 1, [RESOLVE_APP]),
      serveWebSockets(runtime, 1, [`${RESOLVE_APP}:fromFetch`]),
    ]),
  );
  for (const [index, tsuv] of servers.entries()) {
    const ws = tsuv.url.replace("http", "ws");
    const echoing = await open(`${ws}/echo`);
    expect(await echo(echoing.ws, "hi")).toBe("echo hi");
    const greeting = next((await open(`${ws}/greet`)).ws);
    expect(await greeting).toBe("hello /greet");
    if (index % 2 === 1) {
      // Hooks set on the request by fetch, none on its response (a middleware rebuilt it).
      const attached = await open(`${ws}/attached`);
      expect(await echo(attached.ws, "there")).toBe("echo there");
      attached.ws.close(1000);
      const withContext = await open(`${ws}/ctx`);
      expect(await echo(withContext.ws, "ctx")).toBe("echo ctx");
      withContext.ws.close(1000);
    }
    // A URL whose fetch answer carries no hooks: no socket, and uvicorn's refusal line.
    expect((await upgradeRequest(`${tsuv.url}/nothing`)).status).toBe(404);
    await tsuv.waitFor(/"WebSocket \/nothing" 404/);
    // Plain requests still go to fetch.
    expect((await fetch(`${tsuv.url}/echo`)).status).toBe(426);
    expect(await (await fetch(`${tsuv.url}/`)).text()).toBe("http /");
    echoing.ws.close(1000);
    await echoing.closed;
    await tsuv.kill();
  }
  // Without the `websocket` export the hooks go unserved (a bare 426): one warning names the fix.
  const unserved = await serveWebSockets("bun", 1, [`${RESOLVE_APP}:withoutWebsocket`]);
  for (let i = 0; i < 2; i++) expect((await upgradeRequest(`${unserved.url}/echo`)).status).toBe(426);
  const output = unserved.stdout() + unserved.stderr();
  expect(output.match(/but the app exports no `websocket` to serve them/g)?.length).toBe(1);
  await unserved.kill();
}, 60_000);

test("--ws none: upgrade requests reach the app's fetch, with one warning", async () => {
  for (const runtime of ["bun", "node20"] as const) {
    const tsuv = await serveWebSockets(runtime, 1, [APP, "--ws", "none"]);
    for (let i = 0; i < 2; i++) {
      const response = await upgradeRequest(`${tsuv.url}/chat`);
      expect(await response.text()).toBe("http /chat upgrade=websocket");
    }
    // tsuv writes the line before it answers, but this process reads the pipe on its own time.
    await tsuv.waitFor(/Unsupported upgrade request/);
    await Bun.sleep(200);
    const output = tsuv.stdout() + tsuv.stderr();
    expect(output.match(/Unsupported upgrade request/g)?.length).toBe(1);
    await tsuv.kill();
  }
}, 30_000);
