/**
 * The Deno adapter (src/runtime/deno.ts), driven in a Deno child process: the shared adapter suite,
 * plus Deno's graceful-close workaround (denoland/deno#36809) and its force-close limit, and the
 * header values Deno's server ends the process on (src/runtime/deno-header-values.ts).
 */
import { expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { deno, ROOT } from "../scripts/tools.mjs";
import { adapterSuite, readStream, sleep, tcp } from "./helpers/adapter-suite.ts";

const suite = adapterSuite("deno");

test("close() lets a running handler still read its request body (denoland/deno#36809)", async () => {
  const driver = suite.driver();
  const { server, address } = await driver.serve({ listen: tcp() });
  const base = `http://127.0.0.1:${address.port}`;
  const upload = fetch(`${base}/read-late?ms=400`, { method: "POST", body: "x".repeat(1000) }).then(
    async (r) => `${r.status} ${await r.text()}`,
  );
  await sleep(100);
  const closing = driver.send({ op: "close", server });
  await sleep(50);
  // While the running handler finishes, a new request is turned away the way uvicorn does it.
  const late = await fetch(`${base}/echo`);
  expect(late.status).toBe(503);
  expect(late.headers.get("connection")).toBe("close");
  expect(await upload).toBe("200 read 1000");
  expect((await closing).error).toBeUndefined();
});

test("a retiring server closes its listener at once while a handler without a body runs", async () => {
  // reusePort: while a retiring worker's listener stays bound, the kernel routes its share of new
  // connections to it; they used to get 503 for as long as the slowest request ran.
  const driver = suite.driver();
  const { server, address } = await driver.serve({ listen: tcp() });
  const base = `http://127.0.0.1:${address.port}`;
  const slow = fetch(`${base}/slow?ms=1500`).then(async (r) => `${r.status}`);
  await sleep(100);
  const closing = driver.send({ op: "close", server, retire: true });
  await sleep(600); // past the 200 ms linger
  const late = await fetch(`${base}/echo`).then(
    (r) => `answered ${r.status}`,
    () => "refused",
  );
  expect(late).toBe("refused");
  expect(await slow).toBe("200");
  expect((await closing).error).toBeUndefined();
});

test("a retiring server still waits for a handler reading its body before shutdown()", async () => {
  const driver = suite.driver();
  const { server, address } = await driver.serve({ listen: tcp() });
  const base = `http://127.0.0.1:${address.port}`;
  const upload = fetch(`${base}/read-late?ms=800`, { method: "POST", body: "x".repeat(1000) }).then(
    async (r) => `${r.status} ${await r.text()}`,
  );
  await sleep(100);
  const closing = driver.send({ op: "close", server, retire: true });
  expect(await upload).toBe("200 read 1000");
  expect((await closing).error).toBeUndefined();
});

test("forceClose during close() cuts a hung handler", async () => {
  const driver = suite.driver();
  const { server, address } = await driver.serve({ listen: tcp() });
  const hung = fetch(`http://127.0.0.1:${address.port}/slow?ms=60000`).then(
    () => "answered",
    () => "cut",
  );
  await sleep(100);
  const closing = driver.send({ op: "close", server });
  await sleep(200);
  await driver.send({ op: "forceClose", server });
  expect(await Promise.race([hung, sleep(3000).then(() => "not cut")])).toBe("cut");
  expect((await closing).error).toBeUndefined();
});

test("a body still streaming after shutdown() began ends with the process", async () => {
  const driver = suite.driver();
  const { server, address } = await driver.serve({ listen: tcp() });
  const response = await fetch(`http://127.0.0.1:${address.port}/hang`);
  const body = readStream(response);
  void driver.send({ op: "close", server });
  await sleep(200);
  await driver.send({ op: "forceClose", server });
  // Deno has no way to cut it in-process (denoland/deno#25792); the worker's exit does.
  expect(await Promise.race([body, sleep(300).then(() => "open")])).toBe("open");
  driver.kill();
  expect(await Promise.race([body, sleep(3000).then(() => "not cut")])).toStartWith("cut:h");
});

test("a raw quote and UTF-8 in the request target reach the access line percent-encoded", async () => {
  const { startTsuv } = await import("./helpers/tsuv.ts");
  const { rawRequest } = await import("./helpers/raw-http.ts");
  const server = await startTsuv("deno", ["test/fixtures/apps/main.ts:app", "--port", "0"]);
  try {
    // Deno.serve passes the path on as the client wrote it (Bun and Node refuse or encode it).
    const { socket, response } = await rawRequest(
      server.port,
      'GET /caf\u00e9/"x?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    socket.destroy();
    expect(response).toStartWith("HTTP/1.1 200");
    await server.waitFor(/"GET \/caf%C3%A9\/%22x\?q=1 HTTP\/1\.1" 200/);
  } finally {
    await server.kill();
  }
});

test("the header values Deno's server ends the process on are found, in Deno's own header list", () => {
  // Each is checked as the request handler checks a response: after the app (and tsuv) set headers.
  const script = `
    import { headerListVia, unsendableHeaderValue } from "./src/runtime/deno-header-values.ts";
    const late = new Response("x");
    late.headers.set("x-late", "a\\x1fb");
    const cookies = new Response("x");
    cookies.headers.append("set-cookie", "a=1");
    cookies.headers.append("set-cookie", "b=\\x7f");
    const found = (response) => unsendableHeaderValue(response)?.match(/header "([^"]+)"/)?.[1] ?? null;
    console.log(JSON.stringify({
      via: headerListVia(),
      plain: found(new Response("Hello")),
      sent: found(new Response("x", { headers: { "x-tab": "a\\tb", "x-latin1": "caf\\u00e9", "x-high": "a\\u0080" } })),
      init: found(new Response("x", { headers: { "Content-Disposition": "attachment; filename=a\\x01.txt" } })),
      json: found(Response.json({}, { headers: { "x-json": "\\x0b" } })),
      late: found(late),
      cookies: found(cookies),
      shown: unsendableHeaderValue(late),
    }));
  `;
  const out = JSON.parse(execFileSync(deno(), ["eval", script], { cwd: ROOT, encoding: "utf8" }));
  expect(out).toEqual({
    // Deno's own array, not the public iterator (1.5-5 us a response): a Deno that keeps its header
    // list elsewhere fails here, and the check should be looked at again.
    via: "header list",
    plain: null,
    sent: null,
    init: "content-disposition",
    json: "x-json",
    late: "x-late",
    cookies: "set-cookie",
    shown:
      'The app\'s response header "x-late" has a control character in its value ("a\\u001fb"), which Deno\'s server cannot send (Deno 2.9 ends the process on it): answered 500 instead.',
  });
});
