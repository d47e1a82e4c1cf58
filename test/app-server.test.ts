/**
 * The `server` an Elysia app gets under tsuv on Node.js and Deno (src/app-server.ts): the listening
 * address as Bun's Server gives it, and requestIP() from the info tsuv attached to the request.
 */
import { expect, test } from "bun:test";
import { portableAppServer } from "../src/app-server.ts";
import { attachInfo } from "../src/request-ip.ts";
import { NO_PEER_INFO } from "../src/runtime/peer.ts";

type Stand = {
  port?: number;
  hostname?: string;
  url?: URL;
  requestIP(request: Request): { address: string; family: string; port: number } | null;
};

test("a TCP listener: port, hostname and url, an IPv6 host in brackets", () => {
  const v4 = portableAppServer({ kind: "tcp", host: "127.0.0.1", port: 8000 }, "http") as Stand;
  expect([v4.port, v4.hostname, v4.url?.href]).toEqual([8000, "127.0.0.1", "http://127.0.0.1:8000/"]);
  const v6 = portableAppServer({ kind: "tcp", host: "::1", port: 8443 }, "https") as Stand;
  expect(v6.url?.href).toBe("https://[::1]:8443/");
});

test("a unix socket: no port or url, and no client", () => {
  const stand = portableAppServer({ kind: "unix", path: "/tmp/app.sock" }, "http") as Stand;
  expect([stand.port, stand.url]).toEqual([undefined, undefined]);
  const request = new Request("http://localhost/");
  attachInfo(request, NO_PEER_INFO);
  expect(stand.requestIP(request)).toBeNull();
});

test("requestIP: the client tsuv attached (after proxy headers), null for a request tsuv did not hand over", () => {
  const stand = portableAppServer({ kind: "tcp", host: "0.0.0.0", port: 80 }, "http") as Stand;
  const request = new Request("http://localhost/");
  expect(stand.requestIP(request)).toBeNull();
  attachInfo(request, { remoteAddr: { hostname: "2001:db8::7", port: 4321 } });
  expect(stand.requestIP(request)).toEqual({ address: "2001:db8::7", family: "IPv6", port: 4321 });
  attachInfo(request, { remoteAddr: { hostname: "198.51.100.2", port: 0 } });
  expect(stand.requestIP(request)).toEqual({ address: "198.51.100.2", family: "IPv4", port: 0 });
});
