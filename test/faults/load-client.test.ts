/**
 * The fault suite's load client (test/faults/load-client.ts) against tiny raw-TCP servers that
 * answer in every shape it must parse, and fail in every way it must count: a client that hid a
 * failure would make every fault test pass, so each failure kind is checked here. Runs with
 * `npm test` (fast, no tsuv); the fault cases themselves run with `npm run test:faults`.
 */
import { afterEach, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { LoadClient, loadFor, medianThroughput, ResponseParser, recoveryMs } from "./load-client.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A raw server: `respond(socket, requestNumber)` runs once per request head received. */
async function rawServer(respond: (socket: Socket, n: number) => void): Promise<number> {
  let n = 0;
  const server = createServer((socket) => {
    let pending = "";
    socket.on("error", () => {});
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end !== -1; end = pending.indexOf("\r\n\r\n")) {
        pending = pending.slice(end + 4);
        respond(socket, n++);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

test("parser: content-length, chunked (split anywhere), 204, body until close, interim 100", () => {
  const whole =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
  for (let split = 1; split < whole.length; split++) {
    const parser = new ResponseParser();
    expect(parser.feed(Buffer.from(whole.slice(0, split)))).toBeUndefined();
    const rest = parser.feed(Buffer.from(whole.slice(split)));
    expect(rest?.length).toBe(0);
    expect(parser.body()).toBe("hello world");
  }
  const cl = new ResponseParser();
  expect(cl.feed(Buffer.from(ok("abc")))?.length).toBe(0);
  expect(cl.body()).toBe("abc");
  const noContent = new ResponseParser();
  expect(noContent.feed(Buffer.from("HTTP/1.1 204 No Content\r\n\r\n"))?.length).toBe(0);
  const interim = new ResponseParser();
  expect(interim.feed(Buffer.from(`HTTP/1.1 100 Continue\r\n\r\n${ok("x")}`))?.length).toBe(0);
  expect(interim.head?.status).toBe(200);
  const untilClose = new ResponseParser();
  expect(untilClose.feed(Buffer.from("HTTP/1.1 200 OK\r\n\r\npart"))).toBeUndefined();
  expect(untilClose.end()).toBe(true);
  expect(untilClose.body()).toBe("part");
  const cut = new ResponseParser();
  expect(cut.feed(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"))).toBeUndefined();
  expect(cut.end()).toBe(false);
  expect(() => new ResponseParser().feed(Buffer.from("garbage\r\n\r\n"))).toThrow();
});

test("keep-alive responses all count ok, spread over the connections, with throughput buckets", async () => {
  const port = await rawServer((socket, n) =>
    // Alternate the framing: content-length, then chunked in two writes.
    n % 2
      ? socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nid`) &&
        socket.write("\r\n0\r\n\r\n")
      : socket.write(ok("id")),
  );
  const client = await loadFor({ port, connections: 4 }, 300);
  const counts = client.counts();
  expect(counts.failed).toBe(0);
  expect(counts.ok).toBeGreaterThan(50);
  expect(counts.total).toBe(counts.ok);
  expect(client.lastBodies()).toEqual(["id", "id", "id", "id"]);
  expect(client.buckets.reduce((a, b) => a + b, 0)).toBe(counts.ok);
  expect(medianThroughput(client.buckets, 0, 300)).toBeGreaterThan(0);
});

test("a response with connection: close is a proper end of keep-alive (reconnect), not a failure", async () => {
  const port = await rawServer((socket, n) => {
    if (n % 3 === 2) {
      socket.end(ok("bye", "connection: close\r\n"));
    } else socket.write(ok("hi"));
  });
  const client = await loadFor({ port, connections: 2 }, 300);
  const counts = client.counts();
  expect(counts.failed).toBe(0);
  expect(counts.reconnects).toBeGreaterThan(5);

  // closeEach asks for it on every request: one request per connection, never a failure.
  const closing = await rawServer((socket) => socket.end(ok("once", "connection: close\r\n")));
  const each = await loadFor({ port: closing, connections: 2, closeEach: true }, 200);
  expect(each.counts().failed).toBe(0);
  expect(each.counts().reconnects).toBe(each.counts().ok);
  expect(each.counts().ok).toBeGreaterThan(5);
});

test("a reset in the middle of a response counts as a failure (reset), never as ok", async () => {
  const port = await rawServer((socket, n) => {
    if (n % 5 === 4) {
      // Half a response, then RST.
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
      setTimeout(() => socket.resetAndDestroy(), 5);
    } else socket.write(ok("fine"));
  });
  const client = await loadFor({ port, connections: 2 }, 400);
  const counts = client.counts();
  expect(counts.reset).toBeGreaterThan(0);
  expect(counts.failed).toBe(counts.reset);
  expect(counts.resetBeforeResponse).toBe(0);
  expect(counts.ok + counts.failed).toBe(counts.total);
  expect(client.failures.every((f) => f.kind === "reset" && f.lastBody === "fine")).toBe(true);
});

test("a FIN in the middle of a content-length body, or before any byte, counts as reset", async () => {
  const port = await rawServer((socket, n) => {
    if (n % 4 === 3) socket.end("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort");
    else if (n % 4 === 1) socket.end();
    else socket.write(ok("fine"));
  });
  const client = await loadFor({ port, connections: 2 }, 300);
  const counts = client.counts();
  expect(counts.reset).toBeGreaterThan(2);
  expect(counts.resetBeforeResponse).toBeGreaterThan(0);
  expect(counts.resetBeforeResponse).toBeLessThan(counts.reset);
  expect(counts.ok).toBeGreaterThan(0);
});

test("non-2xx, timeout and refused are each counted", async () => {
  const port = await rawServer((socket, n) => {
    if (n === 0) socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    else if (n === 1) {
      // never answers: a timeout
    } else socket.write(ok("x"));
  });
  const client = new LoadClient({ port, connections: 1, timeoutMs: 200 }).start();
  await Bun.sleep(500);
  const counts = await client.stop();
  expect(counts.non2xx).toBe(1);
  expect(client.failures[0]?.status).toBe(503);
  expect(counts.timeout).toBe(1);
  expect(counts.ok).toBeGreaterThan(0);

  // Nothing listening: every attempt is refused, with a backoff (not a spin).
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const freePort = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await loadFor({ port: freePort, connections: 2, refusedBackoffMs: 20 }, 200);
  expect(refused.counts().refused).toBeGreaterThan(2);
  expect(refused.counts().refused).toBeLessThan(40);
  expect(refused.counts().ok).toBe(0);
});

test("recoveryMs finds the first window back at the baseline", () => {
  const buckets = [10, 10, 10, 10, 0, 0, 2, 9, 10, 10, 10];
  expect(recoveryMs(buckets, 400, 10, 0.8)).toBe(1000 - 400);
  expect(recoveryMs([10, 0, 0], 100, 10)).toBe(Number.POSITIVE_INFINITY);
});
