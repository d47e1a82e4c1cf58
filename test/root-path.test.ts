// --root-path (src/middleware/root-path.ts): normalised once, then put in front of every path the
// app sees, on a fetch app, its WebSocket upgrade hook (node apps: test/node-app.test.ts).
import { afterEach, describe, expect, test } from "bun:test";
import { resolveConfig } from "../src/config.ts";
import { UsageError } from "../src/errors.ts";
import { normalizeRootPath, withRootPathTarget, withRootPathUrl } from "../src/middleware/root-path.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { killAll, RUNTIMES, startTsuv } from "./helpers/tsuv.ts";

describe("normalizeRootPath", () => {
  test.each([
    [undefined, ""],
    ["", ""],
    ["/", ""],
    ["/api", "/api"],
    ["/api/", "/api"],
    ["/a/b//", "/a/b"],
    ["/caf%C3%A9", "/caf%C3%A9"],
  ])("%p -> %p", (raw, expected) => {
    expect(normalizeRootPath(raw)).toBe(expected);
  });

  test.each([
    ["api", "'api' must start with '/'"],
    ["/api?x=1", "no query, fragment or spaces"],
    ["/api#top", "no query, fragment or spaces"],
    ["/my api", "no query, fragment or spaces"],
    ["/api\n", "no query, fragment or spaces"],
  ])("%p is a usage error", (raw, message) => {
    expect(() => normalizeRootPath(raw)).toThrow(UsageError);
    expect(() => normalizeRootPath(raw)).toThrow(message);
  });
});

test("the root path goes after the authority of an absolute URL, before the path and query", () => {
  expect(withRootPathUrl("http://127.0.0.1:8000/users?x=1", "/api")).toBe(
    "http://127.0.0.1:8000/api/users?x=1",
  );
  expect(withRootPathUrl("https://[::1]:8443/", "/api")).toBe("https://[::1]:8443/api/");
  expect(withRootPathUrl("http://host", "/api")).toBe("http://host/api/");
});

test("a node:http target gets the prefix; `*` and absolute-form targets are left alone", () => {
  expect(withRootPathTarget("/users?x=1", "/api")).toBe("/api/users?x=1");
  expect(withRootPathTarget("*", "/api")).toBe("*");
  expect(withRootPathTarget("http://h/x", "/api")).toBe("http://h/x");
});

describe("config", () => {
  const resolve = (argv: string[], env: Record<string, string> = {}) =>
    resolveConfig(["main:app", ...argv], env, { runtime: fakeRuntime() });

  test("unset is empty; the flag and TSUV_ROOT_PATH are normalised", () => {
    expect(resolve([]).rootPath).toBe("");
    expect(resolve(["--root-path", "/api/"]).rootPath).toBe("/api");
    expect(resolve([], { TSUV_ROOT_PATH: "/v1" }).rootPath).toBe("/v1");
  });

  test("a bad value names where it came from", () => {
    expect(() => resolve(["--root-path", "api"])).toThrow(
      "Invalid value for '--root-path': 'api' must start with '/'.",
    );
    expect(() => resolve([], { TSUV_ROOT_PATH: "api" })).toThrow("Invalid value for 'TSUV_ROOT_PATH'");
  });
});

describe.each(RUNTIMES)("%s: --root-path on a real server", (runtime) => {
  afterEach(killAll);
  const serveUnderApi = () =>
    startTsuv(runtime, ["test/fixtures/apps/root-path.ts", "--port", "0", "--root-path", "/api/"]);

  test("a fetch app and its upgrade hook see the full path; the access log shows it", async () => {
    const server = await serveUnderApi();
    expect(await (await fetch(`${server.url}/items?x=1`)).text()).toBe("GET /api/items?x=1 ");
    const posted = await fetch(`${server.url}/items`, { method: "POST", body: "payload" });
    expect(await posted.text()).toBe("POST /api/items payload");
    await server.waitFor(/"GET \/api\/items\?x=1 HTTP\/1\.1" 200 OK/);

    const socket = new WebSocket(`${server.url.replace("http", "ws")}/chat`);
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send("hi");
      socket.onmessage = (event) => resolve(String(event.data));
      socket.onerror = () => reject(new Error("WebSocket failed"));
    });
    socket.close();
    expect(echoed).toBe("hi");
    expect(await (await fetch(`${server.url}/last-upgrade`)).text()).toBe("/api/chat");
    await server.waitFor(/"WebSocket \/api\/chat" \[accepted\]/);
  });

  test("TRACE and CONNECT reach the app under it too, and with a trusted X-Forwarded-Proto", async () => {
    // The Request constructor refuses to copy them (Node's and Deno's threw: a 500 and tsuv's stack
    // trace at ERROR for each security scanner's TRACE).
    const server = await serveUnderApi();
    const heads = [
      "TRACE /x HTTP/1.1\r\nHost: h\r\n",
      "TRACE /x HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n",
    ];
    const answers: string[] = [];
    for (const head of heads) {
      const { socket, response } = await rawRequest(server.port, `${head}Connection: close\r\n\r\n`);
      socket.destroy();
      answers.push(`${response.split("\r\n")[0]} ${response.slice(response.indexOf("\r\n\r\n") + 4)}`);
    }
    expect(answers).toEqual([
      "HTTP/1.1 200 OK TRACE /api/x ",
      "HTTP/1.1 200 OK TRACE /api/x ",
      "HTTP/1.1 200 OK CONNECT /api/ ",
    ]);
    expect(server.stderr()).not.toContain("ERROR");
  });
});

describe("deno: a lowercase method under --root-path", () => {
  afterEach(killAll);

  test("keeps its case and its body (the Request constructor upper-cases it)", async () => {
    // Deno serves lowercase methods (Node's and Bun's parsers refuse them). A copy turned `post`
    // into POST, and refused a `get` with a body: a 500 where Deno.serve alone answers.
    const server = await startTsuv("deno", [
      "test/fixtures/apps/root-path.ts",
      "--port",
      "0",
      "--root-path",
      "/api",
    ]);
    const answers: string[] = [];
    for (const head of [
      "post /x HTTP/1.1\r\nHost: h\r\n",
      "get /x HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n",
      "Delete /x HTTP/1.1\r\nHost: h\r\n",
    ]) {
      const { socket, response } = await rawRequest(
        server.port,
        `${head}Content-Length: 5\r\nConnection: close\r\n\r\nhello`,
      );
      socket.destroy();
      answers.push(`${response.split("\r\n")[0]} ${response.slice(response.indexOf("\r\n\r\n") + 4)}`);
    }
    expect(answers).toEqual([
      "HTTP/1.1 200 OK post /api/x hello",
      "HTTP/1.1 200 OK get /api/x hello",
      "HTTP/1.1 200 OK Delete /api/x hello",
    ]);
    expect(server.stderr()).not.toContain("ERROR");
  });
});

/** One message over a WebSocket, and the answer (the test fails on an error or after 5 s). */
function echo(url: string, headers: Record<string, string> = {}): Promise<string> {
  const socket = new WebSocket(url, { headers } as unknown as string[]);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer")), 5000);
    socket.onopen = () => socket.send("hi");
    socket.onmessage = (event) => {
      clearTimeout(timer);
      socket.close();
      resolve(String(event.data));
    };
    socket.onerror = (event) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket failed: ${(event as ErrorEvent).message ?? event.type}`));
    };
  });
}

describe("deno: an app that upgrades by itself (Deno.upgradeWebSocket) keeps working", () => {
  afterEach(killAll);

  test("when tsuv shows it another URL (--root-path)", async () => {
    const server = await startTsuv("deno", [
      "test/fixtures/apps/deno-upgrade.ts",
      "--port",
      "0",
      "--root-path",
      "/api",
    ]);
    const ws = server.url.replace("http", "ws");
    expect(await echo(`${ws}/chat`)).toBe("http:/api/chat hi");
    expect(await (await fetch(`${server.url}/x`)).text()).toBe(`${server.url}/api/x`);
  });

  test("and when a trusted proxy says https (X-Forwarded-Proto)", async () => {
    const server = await startTsuv("deno", ["test/fixtures/apps/deno-upgrade.ts", "--port", "0"]);
    const ws = server.url.replace("http", "ws");
    expect(await echo(`${ws}/chat`, { "x-forwarded-proto": "https" })).toBe("https:/chat hi");
    expect(await echo(`${ws}/chat`)).toBe("http:/chat hi");
  });
});
