// Node-interface apps get uvicorn's per-request options as fetch apps do (src/node-app-handler.ts):
// default headers, --limit-concurrency (a slot held until the response is done), --limit-max-requests,
// the access log (with the client a trusted proxy names), and a logged 500 for an async rejection.
// Real tsuv on every runtime, real HTTP.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rawRequest } from "./helpers/raw-http.ts";
import { killAll, RUNTIMES, type RuntimeKey, runTsuv, startTsuv } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/node-app.ts";
const NODE = [APP, "--interface", "node", "--port", "0"];

afterEach(killAll);

describe.each(RUNTIMES)("%s: a node-interface app", (runtime) => {
  test("gets the default headers and --header; its own header wins; an access line per response", async () => {
    const server = await startTsuv(runtime, [...NODE, "--header", "x-team:a", "--header", "x-team:b"]);
    const response = await fetch(`${server.url}/?q=1`);
    expect(await response.text()).toBe("node says hi");
    expect(response.headers.get("server")).toBe("tsuv");
    expect(response.headers.get("x-team")).toBe("a, b");
    expect(response.headers.get("date")).toMatch(/ GMT$/);
    const own = await fetch(`${server.url}/own-server`);
    expect(own.headers.get("server")).toBe("app");
    await server.waitFor(/"GET \/own-server HTTP\/1\.1" 200 OK/);
    expect(server.stdout()).toMatch(/INFO: {5}127\.0\.0\.1:\d+ - "GET \/\?q=1 HTTP\/1\.1" 200 OK/);
  });

  test("--no-server-header, --no-date-header and --no-access-log turn them off", async () => {
    const server = await startTsuv(runtime, [
      ...NODE,
      "--no-server-header",
      "--no-date-header",
      "--no-access-log",
    ]);
    const response = await fetch(`${server.url}/`);
    expect(await response.text()).toBe("node says hi");
    expect(response.headers.get("server")).toBeNull();
    expect(response.headers.get("date")).toBeNull();
    server.signal("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.stdout()).not.toContain("GET /");
  });

  test("--limit-concurrency holds a slot until a streamed response is done, or its client left", async () => {
    const server = await startTsuv(runtime, [...NODE, "--limit-concurrency", "1"]);
    const streaming = await fetch(`${server.url}/stream?ms=800`);
    // The listener has returned and the first chunk is here; the response is still going on.
    const reader = (streaming.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const { socket, response: over } = await rawRequest(server.port, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    socket.destroy();
    expect(over).toMatch(/^HTTP\/1\.1 503 Service Unavailable/);
    expect(over.toLowerCase()).toContain("connection: close");
    expect(over).toContain("Service Unavailable");
    while (!(await reader.read()).done) {}
    expect((await fetch(`${server.url}/`)).status).toBe(200);

    // A client that goes away mid-stream gives its slot back.
    const controller = new AbortController();
    const abandoned = await fetch(`${server.url}/hang`, { signal: controller.signal });
    await (abandoned.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await Bun.sleep(20);
      status = (await fetch(`${server.url}/`)).status;
    }
    expect(status).toBe(200);
    await server.waitFor(/"GET \/x HTTP\/1\.1" 503 Service Unavailable/);
  });

  test("--limit-concurrency frees the slots of a client that left with pipelined requests", async () => {
    const server = await startTsuv(runtime, [...NODE, "--limit-concurrency", "2"]);
    const socket = connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve) => {
      socket.on("data", (chunk) => {
        if (chunk.toString("latin1").includes("never ends")) resolve();
      });
      // The second response waits behind the first (node:http queues it without the socket).
      socket.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    socket.destroy();
    // Both slots are free again: one for a hanging response, one for a request made while it runs.
    // At once, not when node:http gets round to the queued response's own 'close' (Node 20 and
    // Deno: half a second later; src/response-done.ts).
    const controller = new AbortController();
    const hanging = await fetch(`${server.url}/hang`, { signal: controller.signal });
    expect(hanging.status).toBe(200);
    let status = 0;
    for (let i = 0; i < 10 && status !== 200; i++) {
      await Bun.sleep(20);
      status = (await fetch(`${server.url}/`)).status;
    }
    expect(status).toBe(200);
    controller.abort();
  });

  test("--limit-max-requests: the server exits gracefully after the limit", async () => {
    const server = await startTsuv(runtime, [...NODE, "--limit-max-requests", "2"]);
    expect((await fetch(`${server.url}/`)).status).toBe(200);
    expect((await fetch(`${server.url}/`)).status).toBe(200);
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("Maximum request limit of 2 exceeded. Terminating process.");
  });

  test("--proxy-headers: the access log names the forwarded client; req.socket is the app's own", async () => {
    const server = await startTsuv(runtime, [...NODE]);
    const response = await fetch(`${server.url}/peer`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(await response.text()).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    await server.waitFor(/INFO: {5}203\.0\.113\.7:0 - "GET \/peer HTTP\/1\.1" 200 OK/);

    // A peer outside --forwarded-allow-ips is logged as itself.
    const untrusted = await startTsuv(runtime, [...NODE, "--forwarded-allow-ips", "10.0.0.1"]);
    await fetch(`${untrusted.url}/peer`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    await untrusted.waitFor(/INFO: {5}127\.0\.0\.1:\d+ - "GET \/peer HTTP\/1\.1" 200 OK/);
    expect(untrusted.stdout()).not.toContain("203.0.113.7");
  });

  test("--root-path is put in front of req.url, and the access log shows the full path", async () => {
    const server = await startTsuv(runtime, [...NODE, "--root-path", "/api/"]);
    expect(await (await fetch(`${server.url}/url?x=1`)).text()).toBe("/api/url?x=1");
    await server.waitFor(/"GET \/api\/url\?x=1 HTTP\/1\.1" 200 OK/);
  });

  test("on a unix socket the access line has no client, as uvicorn's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-node-uds-"));
    try {
      const path = join(dir, "s.sock");
      const server = await startTsuv(runtime, [APP, "--interface", "node", "--uds", path]);
      const response = await fetch("http://localhost/uds", { unix: path } as RequestInit);
      expect(await response.text()).toBe("node says hi");
      await server.waitFor(/INFO: {5} - "GET \/uds HTTP\/1\.1" 200 OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an async listener that rejects: a logged 500, and the server keeps serving", async () => {
    const server = await startTsuv(runtime, [...NODE]);
    expect((await fetch(`${server.url}/async-throw`)).status).toBe(500);
    await server.waitFor(/async node handler exploded/);
    expect(server.stderr()).toMatch(/ERROR: {4}Exception in node handler/);
    expect(await (await fetch(`${server.url}/`)).text()).toBe("node says hi");
  });

  test("a response still running when the graceful timeout ends is named in the cancel line", async () => {
    const server = await startTsuv(runtime, [...NODE, "--timeout-graceful-shutdown", "1"]);
    const hanging = await fetch(`${server.url}/hang`);
    await (hanging.body as ReadableStream<Uint8Array>).getReader().read();
    server.signal("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain(
      "Cancel 1 running request(s), timeout graceful shutdown exceeded: GET /hang",
    );
  });
});

describe.each(RUNTIMES)("%s: a minified (e, t) function", (runtime) => {
  test("is served as fetch with a start-up warning naming --interface node, which serves it as a listener", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-minified-"));
    try {
      // What a bundler makes of `export default (req, res) => res.end(...)`.
      writeFileSync(join(dir, "app.mjs"), `export default (e, t) => t.end("node listener");\n`);
      const guessed = await startTsuv(runtime, ["app.mjs", "--port", "0"], { cwd: dir });
      expect(guessed.stderr()).toContain(
        `WARNING:  "app.mjs" is a function of two parameters whose names do not say what it is (minified?): it is served as a fetch handler (request, info). If it is a node:http listener (req, res), serve it with --interface node`,
      );
      const told = await startTsuv(runtime, ["app.mjs", "--interface", "node", "--port", "0"], { cwd: dir });
      expect(await (await fetch(`${told.url}/`)).text()).toBe("node listener");
      expect(told.stderr()).not.toContain("minified?");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// What opens a server of the app's own as it loads, by runtime: an Express app's app.listen(3000)
// (node:http; on Bun it goes through Bun.serve), Bun.serve() and Deno.serve() beside the export.
// Each on a free port here.
const OWN_SERVERS: [RuntimeKey, string, string][] = [
  [
    "node20",
    "node:http listen()",
    `(await import("node:http")).createServer(handler).listen(0, "127.0.0.1");`,
  ],
  [
    "node24",
    "node:http listen()",
    `(await import("node:http")).createServer(handler).listen(0, "127.0.0.1");`,
  ],
  ["bun", "node:http listen()", `(await import("node:http")).createServer(handler).listen(0, "127.0.0.1");`],
  ["bun", "Bun.serve()", `Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("own") });`],
  [
    "deno",
    "Deno.serve()",
    `Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => new Response("own"));`,
  ],
];

describe.each(RUNTIMES)("%s: Astro's standalone entry", (runtime) => {
  const ASTRO = "test/fixtures/apps/astro-standalone.mjs:handler";
  test("starts no server of its own: tsuv sets ASTRO_NODE_AUTOSTART=disabled, unless it is set", async () => {
    const t = await startTsuv(runtime, [ASTRO, "--port", "0", "--workers", "2", "--worker-class", "thread"]);
    expect(await (await fetch(`${t.url}/`)).text()).toBe("autostart disabled");
    expect(t.stderr() + t.stdout()).not.toContain("server of its own");
    await t.kill();
    const own = await startTsuv(runtime, [ASTRO, "--port", "0"], {
      env: { ASTRO_NODE_AUTOSTART: "enabled" },
    });
    expect(await (await fetch(`${own.url}/`)).text()).toBe("autostart enabled");
    // Deno: a node:http listen() as the app loads is not watched (see OWN_SERVERS).
    if (runtime !== "deno") expect(own.stderr() + own.stdout()).toContain("server of its own");
    await own.kill();
  });
});

describe.each(OWN_SERVERS)(
  "%s: an app that opens a server of its own as it loads (%s)",
  (runtime, _what, line) => {
    test("is warned about: its own server would run beside tsuv's, unsupervised", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-self-listen-"));
      try {
        writeFileSync(
          join(dir, "app.mjs"),
          [
            `const handler = (req, res) => res.end("served by tsuv");`,
            line,
            `export default handler;`,
            ``,
          ].join("\n"),
        );
        const server = await startTsuv(runtime, ["app.mjs", "--interface", "node", "--port", "0"], {
          cwd: dir,
        });
        expect(await (await fetch(`${server.url}/`)).text()).toBe("served by tsuv");
        expect(server.stderr() + server.stdout()).toContain(
          "WARNING:  The app started a server of its own as it loaded (as `app.listen(3000)` at the end of an Express app does",
        );
        // An app that does not: nothing said.
        const plain = await startTsuv(runtime, [...NODE]);
        expect(await (await fetch(`${plain.url}/`)).text()).toBe("node says hi");
        expect(plain.stderr() + plain.stdout()).not.toContain("server of its own");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("exporting no app besides, is refused with that said (a server's entry, as Nitro's node-server output)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-self-listen-"));
      try {
        const handler = `const handler = (req, res) => res.end("own");`;
        writeFileSync(join(dir, "server.mjs"), [handler, line, "export default {};", ""].join("\n"));
        const { code, stderr, stdout } = await runTsuv(runtime, ["server.mjs", "--port", "0"], { cwd: dir });
        expect(code).toBe(3);
        expect(stderr + stdout).toContain(
          `"server.mjs" is an empty object; expected a fetch handler, an object with fetch(), or a node (req, res) handler. It started a server of its own as it loaded: it is a server's entry, not an app.`,
        );
        // An attribute it does not export (SvelteKit's build/index.js has no app, only its server).
        const named = await runTsuv(runtime, ["server.mjs:handler", "--port", "0"], { cwd: dir });
        expect(named.code).toBe(3);
        expect(named.stderr + named.stdout).toContain(
          `Attribute "handler" not found in module "server". It exports: default. It started a server of its own as it loaded: it is a server's entry, not an app.`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
