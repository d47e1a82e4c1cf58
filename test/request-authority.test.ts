import { expect, test } from "bun:test";
import { serverOrigin, urlAuthorityCheck, usableAuthority } from "../src/request-authority.ts";

test("usableAuthority: a host the URL parser takes as it is, with an optional port", () => {
  for (const host of [
    "x",
    "example.com:81",
    "127.0.0.1:8000",
    "[::1]:8000",
    "[::1]",
    "a..b",
    "x:65535",
    "EXAMPLE.com",
  ])
    expect({ host, usable: usableAuthority(host) }).toEqual({ host, usable: true });
  for (const host of [
    "",
    "a b",
    "x?",
    "x#",
    "x@y",
    "a/b",
    "x\\y",
    "x:99999",
    "x:65536",
    "[::1",
    "[::1::2]",
    "1.2.3.256",
    "a.1",
  ])
    expect({ host, usable: usableAuthority(host) }).toEqual({ host, usable: false });
});

test("urlAuthorityCheck leaves a good url alone and gives a bad authority the server's own", () => {
  let originReads = 0;
  const check = urlAuthorityCheck(() => {
    originReads++;
    return "http://127.0.0.1:8000";
  });
  expect(check("http://example.com/a?q=1")).toBeUndefined();
  // Remembered: the next url of that origin is a startsWith(), no origin read.
  const reads = originReads;
  expect(check("http://example.com/b")).toBeUndefined();
  expect(originReads).toBe(reads);
  // A prefix of a remembered origin is not that origin.
  expect(check("http://example.com.evil:99999/a")).toBe("http://127.0.0.1:8000/a");
  expect(check("http://x?/admin")).toBe("http://127.0.0.1:8000/admin");
  expect(check("http://x?a/b/c")).toBe("http://127.0.0.1:8000/b/c");
  expect(check("http://a b:80/p?x=1")).toBe("http://127.0.0.1:8000/p?x=1");
  expect(check("http://[::1/p")).toBe("http://127.0.0.1:8000/p");
  expect(check("http:///p")).toBe("http://127.0.0.1:8000/p");
  expect(check("http://x@y")).toBe("http://127.0.0.1:8000/");
  // Bun's relative url for a missing Host, and a target that is no path at all.
  expect(check("/a?q=1")).toBe("http://127.0.0.1:8000/a?q=1");
  expect(check("*")).toBe("http://127.0.0.1:8000/");
  // Bun's url for CONNECT's authority-form target: that authority, as Deno gives it.
  expect(check("example.com:443")).toBe("http://example.com:443/");
  expect(check("[::1]:8443")).toBe("http://[::1]:8443/");
  expect(check("x?:1")).toBe("http://127.0.0.1:8000/");
  // The connection's scheme, whatever an absolute-form target said; its authority is kept.
  expect(check("https://abs.test/x")).toBe("http://abs.test/x");
  expect(check("ftp://abs.test/x")).toBe("http://abs.test/x");
  // A bad url is never remembered: asked again, the same answer.
  expect(check("http://x?/admin")).toBe("http://127.0.0.1:8000/admin");
});

test("urlAuthorityCheck remembers the 8 most recent good origins, the oldest going first", () => {
  let originReads = 0;
  const check = urlAuthorityCheck(() => {
    originReads++;
    return "https://[::1]:8443";
  });
  for (let i = 0; i < 9; i++) expect(check(`https://h${i}.test/`)).toBeUndefined();
  expect(originReads).toBe(9);
  // h1..h8 are remembered; h0 went first and is checked (and remembered) again.
  expect(check("https://h8.test/again")).toBeUndefined();
  expect(check("https://h1.test/again")).toBeUndefined();
  expect(originReads).toBe(9);
  expect(check("https://h0.test/again")).toBeUndefined();
  expect(originReads).toBe(10);
  expect(check("http://h2.test/")).toBe("https://h2.test/");
  expect(check("https://bad host/x")).toBe("https://[::1]:8443/x");
});

test("serverOrigin: the bound address as a URL origin, an IPv6 host in brackets, localhost off TCP", () => {
  expect(serverOrigin("http", { kind: "tcp", host: "127.0.0.1", port: 8000 })).toBe("http://127.0.0.1:8000");
  expect(serverOrigin("https", { kind: "tcp", host: "::", port: 8443 })).toBe("https://[::]:8443");
  expect(serverOrigin("http", { kind: "unix", path: "/tmp/tsuv.sock" })).toBe("http://localhost");
});
