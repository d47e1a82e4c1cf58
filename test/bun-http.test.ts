/**
 * tsuv on Bun over real HTTP, for what Bun.serve does differently from uvicorn (src/runtime/bun.ts):
 * a silent streamed body cut by the keep-alive timer, a relative request.url for a missing or
 * invalid Host, the 128 MiB body limit, the peer of a slow request (Bun's requestIP, read late).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedWithin } from "./helpers/raw-http.ts";
import { type RunningTsuv, startTsuv } from "./helpers/tsuv.ts";

const APP = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();
// Three chunks, the next one \`gap\` ms after the previous one.
function ticks(gap) {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i > 0) await sleep(gap);
      controller.enqueue(encoder.encode("tick" + i + "\\n"));
      if (++i === 3) controller.close();
    },
  });
}
export default {
  fetch(request, info) {
    const url = new URL(request.url);
    const gap = Number(url.searchParams.get("gap") ?? 0);
    switch (url.pathname) {
      case "/sync-stream":
        return new Response(ticks(gap));
      case "/async-stream":
        return sleep(10).then(() => new Response(ticks(gap)));
      case "/slow":
        return sleep(Number(url.searchParams.get("ms") ?? 0)).then(() => new Response("slow"));
      case "/count":
        return (async () => {
          let bytes = 0;
          for await (const chunk of request.body ?? []) bytes += chunk.length;
          return new Response(String(bytes));
        })();
      case "/ignore-body":
        return new Response("ignored");
      default:
        return request.text().then((body) => new Response(request.method + " " + url.href + " " + body));
    }
  },
};
`;

let dir: string;
let tsuv: RunningTsuv;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsuv-bun-http-"));
  writeFileSync(join(dir, "app.mjs"), APP);
  tsuv = await startTsuv("bun", [join(dir, "app.mjs"), "--port", "0", "--timeout-keep-alive", "1"], {
    persistent: true,
  });
});

afterAll(async () => {
  await tsuv?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends `request` on a new connection; resolves with all it got once the server closes it. */
function exchange(request: string | Buffer[], limitMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(tsuv.port, "127.0.0.1");
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      got += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
    setTimeout(() => socket.destroy(), limitMs);
    if (typeof request === "string") socket.write(request);
    else {
      // Written as the socket drains, not all queued at once.
      let i = 0;
      const more = () => {
        while (i < request.length) if (!socket.write(request[i++] as Buffer)) return;
      };
      socket.on("drain", more);
      more();
    }
  });
}

test("a streamed body silent for longer than the keep-alive timeout is not cut (sync and async handlers)", async () => {
  // --timeout-keep-alive 1: Bun's timer would cut the silent stream within 4 s of its last chunk.
  const read = (path: string) =>
    fetch(`${tsuv.url}${path}?gap=3000`).then(async (r) => {
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return `done:${text}`;
          text += new TextDecoder().decode(value);
        }
      } catch {
        return `cut:${text}`;
      }
    });
  const [sync, async_] = await Promise.all([read("/sync-stream"), read("/async-stream")]);
  expect(sync).toBe("done:tick0\ntick1\ntick2\n");
  expect(async_).toBe("done:tick0\ntick1\ntick2\n");
}, 20_000);

/** Sends `request` on a new connection: what came back, and ms until the server closed it (-1: not in 15 s). */
async function untilClosed(request: string): Promise<{ got: string; closed: number }> {
  const socket = connect(tsuv.port, "127.0.0.1");
  let got = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    got += chunk;
  });
  socket.write(request);
  const closed = await closedWithin(socket, 15_000);
  return { got, closed };
}

test("the connection of a streamed body still closes once idle after it", async () => {
  const { got, closed } = await untilClosed("GET /sync-stream?gap=100 HTTP/1.1\r\nHost: x\r\n\r\n");
  expect(got).toEndWith("tick2\n\r\n0\r\n\r\n");
  expect(closed).toBeGreaterThan(0);
}, 20_000);

test("a handler slower than the keep-alive timeout is not cut; its connection still closes once idle", async () => {
  // Bun's timer moves in ~4 s steps: without tsuv turning it off for the request while the app
  // works (RequestInfo.awaiting, in the request handler's wait), --timeout-keep-alive 1 cuts this.
  const { got, closed } = await untilClosed("GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n");
  expect(got).toStartWith("HTTP/1.1 200");
  expect(got).toEndWith("slow");
  // Answered after 5 s, then closed by the keep-alive timer (-1 would be this test's limit).
  expect(closed).toBeGreaterThan(5000);
}, 20_000);

test("a missing or invalid Host header still gives the app an absolute URL", async () => {
  const base = `http://127.0.0.1:${tsuv.port}`;
  const cases: [string, string][] = [
    ["GET /a?q=1 HTTP/1.0\r\n\r\n", `200 OK|GET ${base}/a?q=1 `],
    ["GET /b HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n", `200 OK|GET ${base}/b `],
    ["GET /c HTTP/1.1\r\nHost: x\\y\r\nConnection: close\r\n\r\n", `200 OK|GET ${base}/c `],
    ["GET /d HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n", `200 OK|GET ${base}/d `],
    [
      "POST /e HTTP/1.1\r\nHost: a b\r\nContent-Length: 7\r\nConnection: close\r\n\r\npayload",
      `200 OK|POST ${base}/e payload`,
    ],
    // A valid Host is left as it is.
    [
      "GET /f HTTP/1.1\r\nHost: example.com:81\r\nConnection: close\r\n\r\n",
      "200 OK|GET http://example.com:81/f ",
    ],
  ];
  for (const [request, expected] of cases) {
    const response = await exchange(request);
    const status = response.slice(9, response.indexOf("\r\n"));
    const body = response.slice(response.indexOf("\r\n\r\n") + 4);
    expect(`${status}|${body}`).toBe(expected);
  }
  // The access log shows the path, not the whole URL.
  await tsuv.waitFor(/"GET \/a\?q=1 HTTP\/1\.1" 200/);
  await tsuv.waitFor(/"POST \/e HTTP\/1\.1" 200/);
});

test("request bodies over Bun's default 128 MiB limit are taken", async () => {
  // A declared length over the limit: Bun answered 413 before calling the app.
  const declared = await exchange(
    "POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\nConnection: close\r\n\r\nabc",
    5000,
  );
  expect(declared).toStartWith("HTTP/1.1 200");
  // A chunked upload over it, counted by the app as it streams in.
  const chunk = Buffer.alloc(1024 * 1024, 120);
  const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
  const count = 130;
  const parts = [
    Buffer.from("POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
    ...Array.from({ length: count }, () => frame),
    Buffer.from("0\r\n\r\n"),
  ];
  const chunked = await exchange(parts, 15_000);
  expect(chunked).toStartWith("HTTP/1.1 200");
  expect(chunked).toEndWith(`\r\n\r\n${count * chunk.length}`);
}, 20_000);

test("a slow request's access line names its client (the peer is read after the app's await)", async () => {
  const socket = connect(tsuv.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const localPort = socket.localPort;
  const answered = new Promise<string>((resolve) => socket.once("data", (chunk) => resolve(String(chunk))));
  socket.write("GET /slow?ms=300&stays=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  expect(await answered).toStartWith("HTTP/1.1 200");
  socket.destroy();
  await tsuv.waitFor(/ - "GET \/slow\?ms=300&stays=1 HTTP\/1\.1" 200/, 5000);
  expect(tsuv.stdout() + tsuv.stderr()).toContain(
    `127.0.0.1:${localPort} - "GET /slow?ms=300&stays=1 HTTP/1.1" 200`,
  );
});
