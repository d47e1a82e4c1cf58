// src/request-handler.ts: which of the two proxy-header questions (trusted peer? X-Forwarded-* sent?)
// is asked first depends on what the runtime makes cheap; the answers never depend on the order.
import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../src/config.ts";
import { loggerFromConfig } from "../src/logging.ts";
import { createRequestHandler } from "../src/request-handler.ts";
import type { RequestInfo } from "../src/runtime/adapter.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

const quietLogger = () =>
  loggerFromConfig(
    { logLevel: "critical", logFormat: "text", accessLog: false, useColors: false },
    { stdout: () => {}, stderr: () => {}, isTTY: false, noColor: true },
  );

/** A request that counts reads of its headers, and a peer that counts reads of its address. */
function probe(peerHost: string, headers: Record<string, string> = {}) {
  const counts = { headers: 0, peer: 0 };
  const real = new Request("http://127.0.0.1:8000/who", { headers });
  const request = new Proxy(real, {
    get(target, key) {
      if (key === "headers") counts.headers++;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const peer: RequestInfo = {
    get remoteAddr() {
      counts.peer++;
      return { hostname: peerHost, port: 4000 };
    },
  };
  return { request, peer, counts };
}

function handlerFor(peerAddressCheap: boolean, ...args: string[]) {
  const config = resolveConfig(["main:app", ...args], {}, { runtime: fakeRuntime() });
  const calls: [Request, RequestInfo][] = [];
  // What the app saw, read only when asked: reading it here would count as the server's reads.
  const seen = () =>
    calls.map(([request, info]) => `${info.remoteAddr.hostname} ${new URL(request.url).protocol}`);
  const { handler } = createRequestHandler(
    config,
    (request, info) => {
      calls.push([request, info]);
      return new Response("ok");
    },
    quietLogger(),
    () => {},
    { writesDateHeader: false, peerAddressCheap },
  );
  return { handler, seen };
}

describe.each([true, false])("peerAddressCheap: %p", (peerAddressCheap) => {
  test("a trusted proxy's X-Forwarded-For and -Proto are applied", () => {
    const { handler, seen } = handlerFor(peerAddressCheap);
    const { request, peer } = probe("127.0.0.1", {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
    });
    handler(request, peer);
    expect(seen()).toEqual(["203.0.113.7 https:"]);
  });

  test("an untrusted peer's X-Forwarded-* are ignored", () => {
    const { handler, seen } = handlerFor(peerAddressCheap, "--forwarded-allow-ips", "10.0.0.1");
    const { request, peer } = probe("198.51.100.4", {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
    });
    handler(request, peer);
    expect(seen()).toEqual(["198.51.100.4 http:"]);
  });

  test("--forwarded-allow-ips '*' trusts any peer", () => {
    const { handler, seen } = handlerFor(peerAddressCheap, "--forwarded-allow-ips", "*");
    const { request, peer } = probe("198.51.100.4", { "x-forwarded-for": "203.0.113.7" });
    handler(request, peer);
    expect(seen()).toEqual(["203.0.113.7 http:"]);
  });
});

test("where the peer is cheap, a request from an untrusted peer never has its headers read", () => {
  const { handler } = handlerFor(true, "--forwarded-allow-ips", "10.0.0.1");
  const { request, peer, counts } = probe("198.51.100.4", { "x-forwarded-for": "203.0.113.7" });
  handler(request, peer);
  expect(counts.headers).toBe(0);
  expect(counts.peer).toBeGreaterThan(0);
});

test("where the peer is dear (Bun), a request without X-Forwarded-* never has its peer read", () => {
  const { handler } = handlerFor(false);
  const { request, peer, counts } = probe("127.0.0.1");
  handler(request, peer);
  expect(counts.headers).toBeGreaterThan(0);
  expect(counts.peer).toBe(0);
});
