/**
 * The Bun adapter (src/runtime/bun.ts) over real sockets: the shared adapter suite, plus what only
 * Bun needs checked — its idle timeout must not cut a slow handler, yet idle keep-alive connections
 * still close.
 */
import { expect, test } from "bun:test";
import { adapterSuite, closedWithin, rawRequest, tcp } from "./helpers/adapter-suite.ts";

const suite = adapterSuite("bun");

test("a handler slower than the keep-alive timeout is not cut; idle connections still close", async () => {
  const { server, address } = await suite.driver().serve({ listen: tcp(), keepAliveTimeoutMs: 1000 });
  const port = address.port as number;
  const idle = await rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  const idleClosed = closedWithin(idle.socket, 9000);
  // Bun's timer moves in ~4 s steps: without the per-request override, idleTimeout 1 cuts this at ~4 s.
  const slow = await rawRequest(port, "GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n");
  expect(slow.response).toStartWith("HTTP/1.1 200");
  expect(slow.response).toEndWith("slow a");
  expect(await idleClosed).toBeGreaterThanOrEqual(0);
  // The slow request's connection is back under the keep-alive timeout once answered.
  expect(await closedWithin(slow.socket, 9000)).toBeGreaterThanOrEqual(0);
  await suite.driver().send({ op: "forceClose", server });
}, 20000);

test("node interface with reusePort (node:net bridge): graceful close, idle connections closed", async () => {
  const driver = suite.driver();
  const { server, address, scheme } = await driver.serve({ iface: "node", listen: tcp(0, true) });
  expect(scheme).toBe("http");
  const port = address.port as number;
  const idle = await rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  // Closed once the slow request is being answered (its head flushed), not after a fixed wait: on
  // a loaded machine 100 ms was once too short, and the close reset a request not yet accepted.
  const slowResponse = await fetch(`http://127.0.0.1:${port}/slow?ms=600&flush=1`);
  const slow = slowResponse.text().then((text) => `${slowResponse.status} ${text}`);
  const closing = driver.send({ op: "close", server });
  const idleClosedAfter = await closedWithin(idle.socket, 2000);
  expect(idleClosedAfter).toBeGreaterThanOrEqual(0);
  expect(idleClosedAfter).toBeLessThan(400);
  expect(await slow).toBe("200 slow a");
  expect((await closing).ms as number).toBeGreaterThanOrEqual(300);
  await expect(fetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow();
});
