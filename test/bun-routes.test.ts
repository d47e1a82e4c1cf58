/**
 * Bun.serve's `routes` and `error`, Deno.serve's `onListen` and srvx's `middleware` on an app object
 * (src/bun-routes.ts, src/app-serve-options.ts, src/app-shapes.ts). The same requests go to Bun.serve itself serving the
 * fixture and to tsuv serving it on each runtime: every answer must be Bun's (and a few are also
 * checked against what Bun 1.4.5 answers, so that a change in Bun shows here rather than passes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toLoadedApp } from "../src/app-shapes.ts";
import { withBunRoutes } from "../src/bun-routes.ts";
import { AppLoadError } from "../src/errors.ts";
import { percentDecode } from "../src/percent-decode.ts";
import { RequestCookies } from "../src/request-cookies.ts";
import type { RequestInfo } from "../src/runtime/adapter.ts";
import { killAllStarted, type Running, start } from "./helpers/spawn.ts";
import { killAll, ROOT, RUNTIMES, type RunningTsuv, runTsuv, startTsuv } from "./helpers/tsuv.ts";

const FIXTURE = "test/fixtures/apps/bun-routes.ts";

/** Paths as sent (not normalised: `..`, `//`, bad escapes), each asked with GET unless it says. */
const REQUESTS: [method: string, path: string][] = [
  ["GET", "/"],
  ["GET", "/static"],
  ["POST", "/static"],
  ["GET", "/redirect"],
  ["GET", "/users/all"],
  ["GET", "/users/42"],
  ["GET", "/users/42/"],
  ["GET", "/users/"],
  ["GET", "/users/a%20b"],
  ["GET", "/users/a%2Fb"],
  ["GET", "/users/%E2%82%AC"],
  ["GET", "/users/%zz"],
  ["GET", "/users/%E2%82"],
  ["GET", "/users/a%2"],
  ["GET", "/users/%ED%A0%80x"],
  ["GET", "/users/42?q=/x"],
  ["GET", "/users/42/posts/7"],
  ["GET", "/users/7/edit"],
  ["GET", "/users/list"],
  ["GET", "/shop/cart"],
  ["GET", "/shop/cart/checkout"],
  ["GET", "/USERS/all"],
  ["GET", "//users/42"],
  ["GET", "/users//x"],
  ["GET", "/files/readme.txt"],
  ["GET", "/files/3/x/y"],
  ["GET", "/files/3/"],
  ["GET", "/files/3"],
  ["GET", "/api"],
  ["GET", "/api/"],
  ["GET", "/api/x/y"],
  ["GET", "/trail"],
  ["GET", "/trail/"],
  ["GET", "/caf%C3%A9"],
  ["GET", "/methods"],
  ["POST", "/methods"],
  ["DELETE", "/methods"],
  ["PUT", "/methods"],
  ["OPTIONS", "/methods"],
  ["HEAD", "/methods"],
  ["HEAD", "/static"],
  ["GET", "/only-post"],
  ["HEAD", "/only-post"],
  ["POST", "/only-post"],
  ["GET", "/off"],
  ["GET", "/boom"],
  ["GET", "/async-boom"],
  ["GET", "/unhandled"],
  ["GET", "/nothing"],
];

interface Answer {
  status: number;
  body: string;
}

interface AnswerWithHeaders extends Answer {
  headers: Record<string, string>;
}

/** One request on its own connection, read to the close; the body de-chunked where it is chunked. */
function ask(port: number, method: string, path: string, extraHeaders = ""): Promise<AnswerWithHeaders> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = text.slice(0, split);
      let body = text.slice(split + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(head)) {
        let decoded = "";
        for (let at = 0; ; ) {
          const eol = body.indexOf("\r\n", at);
          const size = Number.parseInt(body.slice(at, eol), 16);
          if (!size) break;
          decoded += body.slice(eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
        body = decoded;
      }
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n").slice(1)) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        // Set-Cookie lines one per line, in order.
        headers[name] = name === "set-cookie" && headers[name] ? `${headers[name]}\n${value}` : value;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body, headers });
    });
    const body = method === "POST" ? "hi" : "";
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${extraHeaders}\r\n${body}`,
    );
  });
}

async function askAll(port: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const [method, path] of REQUESTS) {
    const { status, body } = await ask(port, method, path);
    answers.push({ status, body });
  }
  return answers;
}

/**
 * A static route's ETag and 304, asked with the server's own tag (Bun's is the body's xxHash64,
 * tsuv's its SHA-1's first 16 hex digits): each answer's status, whether it has a body, and its tag.
 */
async function askConditional(port: number): Promise<string[]> {
  const first = await ask(port, "GET", "/static");
  const tag = first.headers.etag ?? "";
  const seen = [
    `GET /static: ${first.status} ${first.body} ${/^"[0-9a-f]{16}"$/.test(tag) ? "tagged" : tag}`,
  ];
  const cases: [method: string, path: string, condition: string][] = [
    ["GET", "/static", `If-None-Match: ${tag}`],
    ["GET", "/static", `If-None-Match: W/${tag}`],
    ["GET", "/static", `If-None-Match: "other", ${tag}`],
    ["GET", "/static", "If-None-Match: *"],
    ["GET", "/static", 'If-None-Match: *, "other"'],
    ["GET", "/static", 'If-None-Match: "other"'],
    ["GET", "/static", `If-None-Match: ${tag.replaceAll('"', "")}`],
    ["HEAD", "/static", `If-None-Match: ${tag}`],
    ["POST", "/static", `If-None-Match: ${tag}`],
    ["GET", "/static", `If-Match: ${tag}`],
    ["GET", "/static", 'If-Match: "other"'],
    ["HEAD", "/static", 'If-Match: "other"'],
    ["GET", "/static", `If-Match: W/${tag}`],
    ["GET", "/static", "If-Match: *"],
    ["POST", "/static", 'If-Match: "other"'],
    ["GET", "/static", `If-Match: "other"\r\nIf-None-Match: ${tag}`],
    ["GET", "/own-etag", 'If-None-Match: "mine"'],
    ["GET", "/own-etag", 'If-None-Match: "other"'],
    ["GET", "/methods-static", 'If-None-Match: "other"'],
    ["GET", "/created-static", "If-None-Match: *"],
    ["GET", "/created-static", 'If-Match: "other"'],
  ];
  for (const [method, path, condition] of cases) {
    const answer = await ask(port, method, path, `${condition}\r\n`);
    const etag = answer.headers.etag ?? "no tag";
    const named = (text: string) =>
      tag === "" ? text : text.replaceAll(tag, "TAG").replaceAll(tag.replaceAll('"', ""), "TAG");
    const made = /^"[0-9a-f]{16}"$/.test(etag) && etag !== tag ? "a tag of its own" : named(etag);
    // Node's and Deno's Response write their own content types with UTF-8 in capitals.
    const type = answer.headers["content-type"]?.toLowerCase() ?? "no type";
    seen.push(
      `${method} ${path} (${named(condition.replace("\r\n", " + "))}): ${answer.status} "${answer.body}" ${made} ${type}`,
    );
  }
  const redirect = await ask(port, "GET", "/redirect");
  seen.push(`GET /redirect: ${redirect.status} ${redirect.headers.etag ?? "no tag"}`);
  return seen;
}

/** request.cookies read and changed in a route, synchronously and after an await: bodies and Set-Cookie lines. */
async function askCookies(port: number): Promise<string[]> {
  const sent = 'Cookie: a=1; b=%20two; a=3; c=%zz; e; d="q"; f=x%2; g=%ED%A0%80\r\n';
  const now = await ask(port, "GET", "/cookies", sent);
  const later = await ask(port, "GET", "/cookies-later", sent);
  return [now.body, now.headers["set-cookie"] ?? "", `${later.status}`, later.headers["set-cookie"] ?? ""];
}

/** Bun.serve serving the fixture's export as its options: the reference. */
let reference: Answer[];
let referenceConditional: string[];
let referenceCookies: string[];
let bunServe: Running;
beforeAll(async () => {
  const code = `const { default: app } = await import(${JSON.stringify(`${ROOT}/${FIXTURE}`)});
const server = Bun.serve({ ...app, port: 0, hostname: "127.0.0.1", development: false });
console.log("port " + server.port);`;
  bunServe = start([process.execPath, "-e", code], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  const port = Number((await bunServe.waitFor(/port (\d+)/, 15_000))[1]);
  reference = await askAll(port);
  referenceConditional = await askConditional(port);
  referenceCookies = await askCookies(port);
});
afterAll(async () => {
  await killAllStarted();
  await killAll();
});

test("what Bun.serve answers (the reference itself, as Bun 1.4.5 gives it)", () => {
  const at = (method: string, path: string) =>
    reference[REQUESTS.findIndex(([m, p]) => m === method && p === path)] as Answer;
  expect(at("GET", "/users/a%2Fb")).toEqual({
    status: 200,
    body: '{"route":"/users/:id","params":{"id":"a/b"}}',
  });
  // A literal segment first, then back to a :param where the literal's branch has no route.
  expect(at("GET", "/shop/cart")).toEqual({
    status: 200,
    body: '{"route":"/:section/cart","params":{"section":"shop"}}',
  });
  expect(at("GET", "/api").status).toBe(404);
  expect(at("GET", "/api/").body).toBe('{"route":"/api/*","params":{}}');
  expect(at("PUT", "/methods")).toEqual({ status: 404, body: "fetch /methods params=undefined" });
  expect(at("GET", "/off")).toEqual({ status: 404, body: "fetch /off params=undefined" });
  expect(at("GET", "/async-boom")).toEqual({ status: 418, body: "error hook: async boom" });
  expect(at("POST", "/static")).toEqual({ status: 200, body: "static body" });
  expect(at("HEAD", "/only-post")).toEqual({ status: 404, body: "" });
  const text = "text/plain;charset=utf-8";
  expect(referenceConditional).toEqual([
    "GET /static: 200 static body tagged",
    `GET /static (If-None-Match: TAG): 304 "" TAG ${text}`,
    `GET /static (If-None-Match: W/TAG): 304 "" TAG ${text}`,
    `GET /static (If-None-Match: "other", TAG): 304 "" TAG ${text}`,
    `GET /static (If-None-Match: *): 304 "" TAG ${text}`,
    `GET /static (If-None-Match: *, "other"): 200 "static body" TAG ${text}`,
    `GET /static (If-None-Match: "other"): 200 "static body" TAG ${text}`,
    `GET /static (If-None-Match: TAG): 304 "" TAG ${text}`,
    `HEAD /static (If-None-Match: TAG): 304 "" TAG ${text}`,
    `POST /static (If-None-Match: TAG): 200 "static body" TAG ${text}`,
    `GET /static (If-Match: TAG): 200 "static body" TAG ${text}`,
    `GET /static (If-Match: "other"): 412 "" TAG ${text}`,
    `HEAD /static (If-Match: "other"): 412 "" TAG ${text}`,
    `GET /static (If-Match: W/TAG): 412 "" TAG ${text}`,
    `GET /static (If-Match: *): 200 "static body" TAG ${text}`,
    `POST /static (If-Match: "other"): 200 "static body" TAG ${text}`,
    `GET /static (If-Match: "other" + If-None-Match: TAG): 412 "" TAG ${text}`,
    `GET /own-etag (If-None-Match: "mine"): 304 "" "mine" ${text}`,
    `GET /own-etag (If-None-Match: "other"): 200 "own" "mine" ${text}`,
    `GET /methods-static (If-None-Match: "other"): 200 "method static" a tag of its own ${text}`,
    `GET /created-static (If-None-Match: *): 201 "made" a tag of its own ${text}`,
    `GET /created-static (If-Match: "other"): 201 "made" a tag of its own ${text}`,
    "GET /redirect: 302 no tag",
  ]);
  expect(referenceCookies.slice(1)).toEqual([
    [
      "own=1",
      "n=v%201%3Bx; Path=/; SameSite=Lax",
      "opt=x; Path=/p; Max-Age=60; Secure; HttpOnly; SameSite=Strict",
      "k=v; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Partitioned; SameSite=None",
      "b=changed; Path=/; SameSite=Lax",
      "a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax",
      "c=; Domain=example.com; Path=/x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax",
    ].join("\n"),
    "302",
    "later=1; Path=/; SameSite=Lax",
  ]);
});

describe.each(RUNTIMES)("%s", (runtime) => {
  let server: RunningTsuv;
  beforeAll(async () => {
    server = await startTsuv(runtime, [FIXTURE, "--port", "0", "--no-access-log"], { persistent: true });
  });
  afterAll(() => server?.kill());

  test("every request answered as Bun.serve answers it", async () => {
    const answers = await askAll(server.port);
    const differing = REQUESTS.flatMap(([method, path], i) =>
      // Bun.serve's 500 for an error nothing handled is its own page; tsuv's is uvicorn's text.
      path === "/unhandled" || JSON.stringify(answers[i]) === JSON.stringify(reference[i])
        ? []
        : [
            `${method} ${path}: tsuv ${JSON.stringify(answers[i])}, Bun.serve ${JSON.stringify(reference[i])}`,
          ],
    );
    expect(differing).toEqual([]);
    expect(answers[REQUESTS.findIndex(([, p]) => p === "/unhandled")]?.status).toBe(500);
  });

  test("a static route's ETag and 304 as Bun.serve gives them", async () => {
    expect(await askConditional(server.port)).toEqual(referenceConditional);
  });

  test("request.cookies in a route, read and changed, as Bun.serve's CookieMap", async () => {
    expect(await askCookies(server.port)).toEqual(referenceCookies);
  });

  test("a path with a dot segment is matched as the app's request.url has it (resolved on Node and Bun)", async () => {
    // Bun.serve's router takes the path as sent; request.url, which tsuv routes by, is resolved by
    // the URL parser on Node and Bun and left as sent by Deno.
    const { status, body } = await ask(server.port, "GET", "/api/../users/all");
    const answer = { status, body };
    const route = runtime === "deno" ? "/api/*" : "/users/all";
    expect(answer).toEqual({ status: 200, body: `{"route":"${route}","params":{}}` });
  });

  test("onListen is called with the address, as Deno.serve gives it; an error the hook did not answer is logged", async () => {
    expect(server.stdout() + server.stderr()).toContain(`onListen tcp 127.0.0.1 ${server.port}`);
    expect(server.stderr()).toContain("Error: not for the hook");
    expect(server.stderr()).not.toContain("Error: boom");
  });
});

describe.each(RUNTIMES)("%s, an export for the srvx CLI", (runtime) => {
  test("its middleware runs in order around fetch, inside its error handler; its plugins are said to be ignored", async () => {
    const server = await startTsuv(runtime, [`${FIXTURE}:srvxStyle`, "--port", "0", "--no-access-log"]);
    const plain = await fetch(`${server.url}/a`);
    expect([plain.status, await plain.text(), plain.headers.get("x-middleware")]).toEqual([
      200,
      "srvx fetch /a",
      "second",
    ]);
    const blocked = await fetch(`${server.url}/blocked`);
    expect([blocked.status, await blocked.text(), blocked.headers.get("x-middleware")]).toEqual([
      403,
      "blocked by middleware",
      null,
    ]);
    const threw = await fetch(`${server.url}/middleware-throws`);
    expect([threw.status, await threw.text()]).toEqual([500, "srvx error: middleware threw"]);
    expect(server.stderr()).toContain(
      "WARNING:  The app's export sets plugins (srvx's, which the srvx CLI runs with its server): tsuv does not run them;",
    );
    await server.kill();
  });
});

test("routes and no fetch: an empty 404 where no route answers, false included (the library, any runtime)", async () => {
  const { routesOnly } = await import(`${ROOT}/${FIXTURE}`);
  const app = toLoadedApp(routesOnly, "auto", "m");
  const info = {} as RequestInfo;
  const x = await (app.fetch as NonNullable<typeof app.fetch>)(new Request("http://h/x"), info);
  expect(await x.text()).toBe("x");
  const none = await (app.fetch as NonNullable<typeof app.fetch>)(new Request("http://h/y"), info);
  expect([none.status, await none.text()]).toEqual([404, ""]);
});

test("`static`, the name of `routes` before Bun 1.2.3, is served as Bun.serve serves it: only where `routes` is absent or undefined", async () => {
  // A fresh table for each server: a static Response's body is taken by the server that serves it.
  const table = () => ({
    "/a": new Response("static a"),
    "/f": () => new Response("function"),
    "/m": { GET: () => new Response("method") },
  });
  const fallback = () => new Response("fetch");
  const apps: Record<string, () => Record<string, unknown>> = {
    alone: () => ({ static: table(), fetch: fallback }),
    "beside routes: undefined": () => ({ routes: undefined, static: table(), fetch: fallback }),
    "beside routes: {}": () => ({ routes: {}, static: table(), fetch: fallback }),
  };
  const paths = ["/a", "/f", "/m", "/x"];
  const answers: Record<string, { bun: string[]; tsuv: string[] }> = {};
  for (const [name, app] of Object.entries(apps)) {
    const server = Bun.serve({ ...app(), port: 0, hostname: "127.0.0.1" } as unknown as Parameters<
      typeof Bun.serve
    >[0]);
    const loaded = toLoadedApp(app(), "auto", "m");
    const serve = loaded.fetch as NonNullable<typeof loaded.fetch>;
    const bun: string[] = [];
    const tsuv: string[] = [];
    try {
      for (const path of paths) {
        bun.push(await (await fetch(`http://127.0.0.1:${server.port}${path}`)).text());
        tsuv.push(await (await serve(new Request(`http://h${path}`), {} as RequestInfo)).text());
      }
    } finally {
      server.stop(true);
    }
    answers[name] = { bun, tsuv };
  }
  const served = ["static a", "function", "method", "fetch"];
  expect(answers).toEqual({
    alone: { bun: served, tsuv: served },
    "beside routes: undefined": { bun: served, tsuv: served },
    "beside routes: {}": { bun: Array(4).fill("fetch"), tsuv: Array(4).fill("fetch") },
  });
  expect(toLoadedApp({ static: table(), fetch: fallback }, "auto", "m").detectedBy).toBe(
    "object with static (Bun.serve's)",
  );
  // A table that is not one of paths (a wish for a static directory) is refused, naming `static`
  // (Bun.serve throws too: `Invalid route "root". Path must start with '/'`).
  expect(() => toLoadedApp({ static: { root: "public" }, fetch: fallback }, "auto", "m")).toThrow(
    'Error loading app. "m" static["root"]: a route is a path starting with "/".',
  );
});

test("a static route's body is read once and answered whole each time; a null-body status stays bodiless", async () => {
  let reads = 0;
  const original = new Response("once");
  const read = original.blob.bind(original);
  Object.defineProperty(original, "blob", {
    value: () => {
      reads++;
      return read();
    },
  });
  const table = { "/s": original, "/n": new Response(null, { status: 204 }) };
  const fetch = withBunRoutes({ key: "routes", table }, undefined, "m");
  const info = {} as RequestInfo;
  for (let i = 0; i < 3; i++)
    expect(await (await fetch(new Request("http://h/s"), info)).text()).toBe("once");
  expect(reads).toBe(1);
  expect((await fetch(new Request("http://h/n"), info)).status).toBe(204);
});

test("routes tsuv cannot serve are refused at load, one line naming the route", () => {
  const refused = (routes: Record<string, unknown>) => {
    try {
      withBunRoutes({ key: "routes", table: routes }, undefined, "app");
    } catch (error) {
      expect(error).toBeInstanceOf(AppLoadError);
      return (error as Error).message;
    }
    throw new Error("not refused");
  };
  expect(refused({ "/café": () => new Response() })).toBe(
    'Error loading app. "app" routes["/café"]: encode the characters outside printable ASCII (%C3%A9 for é), as Bun requires.',
  );
  expect(refused({ users: () => new Response() })).toContain(
    'routes["users"]: a route is a path starting with "/".',
  );
  expect(refused({ "/static/*": { dir: "./public" } })).toContain(
    'routes["/static/*"] is a directory route ({ dir }), which only Bun.serve serves;',
  );
  expect(refused({ "/": { index: "./index.html", files: [] } })).toContain("is an HTML import");
  // Bun.serve refuses these too ("'routes' expects a Record<...>"): nothing there would answer.
  expect(refused({ "/b": new Blob(["x"]) })).toContain('routes["/b"] is a Blob; tsuv serves');
  for (const empty of [{}, new Map()]) {
    expect(refused({ "/e": empty })).toContain('routes["/e"] is an object with no methods; tsuv serves');
  }
  expect(refused({ "/m": { get: () => new Response() } })).toContain(
    'has the key "get"; the keys of a route',
  );
  expect(refused({ "/m": { GET: "text" } })).toContain('routes["/m"].GET is the string "text"');
  expect(refused({ "/n": 42 })).toContain('routes["/n"] is 42; tsuv serves a route that is a function');
  for (const message of [refused({ "/n": null }), refused({ "/static/*": { dir: "x" } })]) {
    expect(message).not.toContain("\n");
  }
});

test("percentDecode: percent-decoded, a bad escape or bad UTF-8 as U+FFFD", () => {
  expect(percentDecode("plain")).toBe("plain");
  expect(percentDecode("a%20b%2Fc")).toBe("a b/c");
  expect(percentDecode("%E2%82%AC")).toBe("€");
  expect(percentDecode("%zz")).toBe("\uFFFD");
  expect(percentDecode("x%E2%82")).toBe("x\uFFFD");
  // As Bun.CookieMap and Bun.serve's route params decode them (Bun 1.4.5): a "%" one character from
  // the end stands alone; a lead byte and its continuation bytes are one U+FFFD when they are not a
  // character (a surrogate, overlong, past U+10FFFF), where a TextDecoder gives one per byte.
  expect(percentDecode("x%2")).toBe("x\uFFFD2");
  expect(percentDecode("%ED%A0%80x")).toBe("\uFFFDx");
  expect(percentDecode("%C0%80%F4%90%80%80")).toBe("\uFFFD\uFFFD");
  expect(percentDecode("%80%80%C3%C3")).toBe("\uFFFD\uFFFD\uFFFD\uFFFD");
  expect(percentDecode("%ED%A0a%zzz")).toBe("\uFFFDa\uFFFDz");
  expect(percentDecode("a+b")).toBe("a+b");
});

/** A fixed sequence of choices, so that a generated case that fails is the same on every run. */
function choices(seed: number): <T>(list: readonly T[]) => T {
  let state = seed;
  return (list) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return list[state % list.length] as (typeof list)[number];
  };
}

// Bun's own CookieMap (this file runs on Bun) is the reference: tsuv reads request.cookies itself on
// every runtime. 1,829 of 20,000 such headers read otherwise before 2026-12-07 ("x%2" lost its "2").
test("request.cookies reads 3,000 generated Cookie headers as Bun.CookieMap does", () => {
  const pick = choices(12345);
  const names = ["a", "b", "A", " a", "a ", "", "$x", "a b", "é", "a=b", "__Host-x", '"q"', "x;y"];
  const values = [
    "1",
    "",
    " v ",
    "%20",
    "%zz",
    "%E2%82",
    "%E2%82%AC",
    '"quoted"',
    "a=b",
    "é",
    "%",
    "a%2",
    "%ED%A0%80",
  ];
  const separators = [";", "; ", " ;", ";;", "; ;", ",", ", "];
  let compared = 0;
  for (let i = 0; i < 3000; i++) {
    let header = "";
    for (let part = 0; part < 1 + (i % 4); part++) {
      if (part > 0) header += pick(separators);
      header += pick([0, 1, 2, 3, 4, 5, 6, 7, 8]) === 0 ? pick(names) : `${pick(names)}=${pick(values)}`;
    }
    let headers: Headers;
    try {
      headers = new Headers({ cookie: header });
    } catch {
      continue; // a value Headers refuses reaches no server
    }
    const bun = new Bun.CookieMap(headers.get("cookie") ?? "");
    const ours = new RequestCookies({ headers });
    const seen = (map: Bun.CookieMap | RequestCookies) =>
      JSON.stringify([[...map], map.toJSON(), map.size, names.map((name) => map.get(name))]);
    expect(`${header} -> ${seen(ours)}`).toBe(`${header} -> ${seen(bun)}`);
    compared++;
  }
  expect(compared).toBeGreaterThan(2500);
});

// set() and delete() as Bun's CookieMap does them, over generated sequences of changes to a jar made
// from a Cookie header: each change's outcome (or Bun's TypeError message), then the listing and the
// Set-Cookie lines. 2,529 of 3,000 sequences came out otherwise before 2026-12-07 (expires numbers
// read as milliseconds, Max-Age truncated, no checks of domain, path or sameSite, delete() without
// Secure for a __Host- name, a change not moved last...).
test("request.cookies' set() and delete() do as Bun.CookieMap's over 3,000 generated sequences", () => {
  const pick = choices(99);
  const names = ["a", "sid", "__Host-x", "__secure-y", "", "x y", "é", "a=b", "(x)", "5"];
  const values = ["v", "", "v 1;x", "é€", "%20", undefined, null, 5];
  const pool: Record<string, unknown[]> = {
    domain: ["example.com", "", ".x.org", "a b", "é.com", "Ex.com", "1.2.3.4", 5, null],
    path: ["/", "/p", "", "/a;b", "p", "/<", "/>", "/é", 5, null],
    expires: [
      new Date(0),
      new Date(1.9e12),
      new Date(Number.NaN),
      0,
      1.9e9,
      1.5,
      -1.5,
      Number.NaN,
      Infinity,
      "Wed, 21 Oct 2030 07:28:00 GMT",
      "Wednesday, 21-Oct-30 07:28:00 GMT",
      "Wed Oct 21 07:28:00 2030",
      "Oct 21 2030",
      "10/21/2030",
      "2030-10-21",
      "2030-10-21T07:28:00Z",
      "Oct 2030",
      "2030",
      "tomorrow",
      "Jan 1 1970",
      "",
      true,
      null,
    ],
    maxAge: [60, 0, -1, 1.9, -0, Number.NaN, Infinity, 1e21, "60", null],
    sameSite: ["strict", "lax", "none", "Strict", "LAX", "bogus", "", null],
    secure: [true, false, 1, "false", 0],
    httpOnly: [true, false],
    partitioned: [true, false],
  };
  const options = () => {
    const chosen: Record<string, unknown> = {};
    for (const [key, list] of Object.entries(pool)) if (pick([0, 1, 2]) === 0) chosen[key] = pick(list);
    return chosen;
  };
  // biome-ignore lint/suspicious/noExplicitAny: both jars, driven alike with what a JavaScript app may pass
  type Jar = any;
  for (let i = 0; i < 3000; i++) {
    const header = pick(["", "a=1; b=2", "sid=x; a=%20", "x=1"]);
    const steps: ((jar: Jar) => void)[] = [];
    for (let step = 0; step < 1 + (i % 4); step++) {
      const [name, value, chosen, form] = [pick(names), pick(values), options(), pick([0, 1, 2, 3, 4])];
      if (form === 0) steps.push((jar) => jar.set(name, value, chosen));
      else if (form === 1) steps.push((jar) => jar.set({ ...chosen, name, value }));
      else if (form === 2) steps.push((jar) => jar.set({ ...chosen, name }));
      else if (form === 3) steps.push((jar) => jar.delete(name));
      else steps.push((jar) => jar.delete({ name, domain: chosen.domain, path: chosen.path }));
    }
    const play = (jar: Jar) => {
      const seen = steps.map((step) => {
        try {
          step(jar);
          return "ok";
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      });
      return JSON.stringify([seen, [...jar], jar.toJSON(), jar.toSetCookieHeaders()]);
    };
    const bun = play(new Bun.CookieMap(header));
    const ours = play(new RequestCookies({ headers: new Headers(header ? { cookie: header } : {}) }));
    expect(`${i}: ${ours}`).toBe(`${i}: ${bun}`);
  }
});

test("percentDecode decodes 3,000 generated runs of escapes and bad UTF-8 as Bun.CookieMap does", () => {
  const pick = choices(7);
  const bytes = [
    0x41, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
    0xf8, 0xff,
  ];
  const pieces = [...bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`), "x", "%z", "é", "%"];
  for (let i = 0; i < 3000; i++) {
    let text = "";
    for (let piece = 0; piece < 1 + (i % 6); piece++) text += pick(pieces);
    expect(`${text} -> ${percentDecode(text)}`).toBe(`${text} -> ${new Bun.CookieMap(`k=${text}`).get("k")}`);
  }
});

test("routes, error and onListen are read from an object literal only: a framework's (a class instance) are its own", () => {
  class Framework {
    routes = { "/x": () => new Response("route") };
    fetch() {
      return new Response("framework");
    }
    error() {
      return new Response("not a hook");
    }
    onListen() {}
  }
  const app = toLoadedApp(new Framework(), "auto", "m");
  expect(app.detectedBy).toBe("object with fetch()");
  expect(app.onListen).toBeUndefined();
  // Hono's and Elysia's `routes` are arrays.
  expect(toLoadedApp({ routes: [], fetch: () => new Response() }, "auto", "m").detectedBy).toBe(
    "object with fetch()",
  );
});

test("an object that answers any property (itty-router's Router) has no serve options: a throw is tsuv's 500, not a wait on its thenable", async () => {
  const added: string[] = [];
  const boom = new Error("boom");
  const router: Record<string, unknown> = new Proxy(
    {
      fetch: () => {
        throw boom;
      },
    } as Record<string | symbol, unknown>,
    {
      get(target, property, receiver) {
        if (property in target) return target[property];
        // As itty-router: any other name is a method that adds a route and returns the router.
        return () => {
          added.push(String(property));
          return receiver;
        };
      },
    },
  );
  const app = toLoadedApp(router, "auto", "m");
  expect(app.onListen).toBeUndefined();
  await expect(
    Promise.resolve().then(() => app.fetch?.(new Request("http://h/"), {} as RequestInfo)),
  ).rejects.toBe(boom);
  expect(added.filter((name) => name === "error" || name === "onListen")).toEqual([]);
});

test("an error hook that answers nothing, or throws, leaves the app's own error to tsuv", async () => {
  const boom = new Error("boom");
  const throwing = () => {
    throw boom;
  };
  const info = {} as RequestInfo;
  for (const error of [() => undefined, () => Promise.resolve("not a response"), throwing]) {
    const app = toLoadedApp({ fetch: throwing, error }, "auto", "m");
    await expect(Promise.resolve().then(() => app.fetch?.(new Request("http://h/"), info))).rejects.toBe(
      boom,
    );
  }
  const answered = toLoadedApp(
    { fetch: async () => throwing(), error: async () => new Response("ok") },
    "auto",
    "m",
  );
  expect(
    await (
      await (answered.fetch as NonNullable<typeof answered.fetch>)(new Request("http://h/"), info)
    ).text(),
  ).toBe("ok");
});

test("a routes app on a unix socket: onListen gets Deno's UnixAddr", async () => {
  const seen: unknown[] = [];
  const app = toLoadedApp(
    { fetch: () => new Response(), onListen: (addr: unknown) => seen.push(addr) },
    "auto",
    "m",
  );
  app.onListen?.({ kind: "unix", path: "/run/app.sock" });
  app.onListen?.({ kind: "tcp", host: "::", port: 8000 });
  expect(seen).toEqual([
    { transport: "unix", path: "/run/app.sock" },
    { transport: "tcp", hostname: "::", port: 8000 },
  ]);
});

test("a route that tsuv cannot serve stops the start-up with exit 3 and one line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-bun-routes-"));
  try {
    writeFileSync(join(dir, "app.ts"), 'export default { routes: { "/static/*": { dir: "./public" } } };\n');
    const { code, stderr } = await runTsuv("node20", ["app", "--port", "0"], { cwd: dir });
    expect(code).toBe(3);
    expect(stderr).toContain(
      'ERROR:    Error loading app. "app" routes["/static/*"] is a directory route ({ dir }), which only Bun.serve serves; tsuv serves a route that is a function, a Response, an object of methods or false.\n',
    );
    expect(stderr).not.toContain("    at ");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Bun: a real HTML import or Bun.file() as a route is refused the same way (each fell through to fetch: a silent 404)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsuv-bun-routes-"));
  try {
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title><p>hi</p>\n");
    for (const [route, kind] of [
      ["index", "an HTML import, which Bun's bundler serves through Bun.serve"],
      [
        'Bun.file("./index.html")',
        'a file (Bun.file("./index.html")), which only Bun.serve serves as a route',
      ],
    ]) {
      writeFileSync(
        join(dir, "app.ts"),
        `import index from "./index.html";\nexport default { routes: { "/": ${route} }, fetch: () => new Response("fallback") };\n`,
      );
      const { code, stderr } = await runTsuv("bun", ["app", "--port", "0"], { cwd: dir });
      expect(code).toBe(3);
      expect(stderr).toContain(`ERROR:    Error loading app. "app" routes["/"] is ${kind}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
