// src/request-handler.ts: which of the two proxy-header questions (trusted peer? X-Forwarded-* sent?)
// is asked first depends on what the runtime makes cheap; the answers never depend on the order.
// And --limit-concurrency: a slot is held until the adapter says the response is done.
import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../src/config.ts";
import { loggerFromConfig } from "../src/logging.ts";
import { createRequestHandler } from "../src/request-handler.ts";
import type { Completion, FetchHandler, RequestInfo } from "../src/runtime/adapter.ts";
import { BunCompletions, type BunPeerSource, BunRequestInfo } from "../src/runtime/bun-request-info.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

/** A logger that writes nothing; with `accessLines`, an access log that collects its lines there. */
const quietLogger = (accessLines?: string[]) =>
  loggerFromConfig(
    {
      // The access log writes at info.
      logLevel: accessLines ? "info" : "critical",
      logFormat: "text",
      accessLog: accessLines !== undefined,
      useColors: false,
    },
    { stdout: (line) => accessLines?.push(line), stderr: () => {}, isTTY: false, noColor: true },
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
  return handlerLogging(quietLogger(), peerAddressCheap, ...args);
}

function handlerLogging(
  logger: ReturnType<typeof quietLogger>,
  peerAddressCheap: boolean,
  ...args: string[]
) {
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
    logger,
    () => {},
    { writesDateHeader: false, peerAddressCheap, fetchDecoding: null },
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

test("where the peer is dear but the access log reads it anyway, an untrusted peer's headers are never read", () => {
  const lines: string[] = [];
  const logger = quietLogger(lines);
  const { handler, seen } = handlerLogging(logger, false, "--forwarded-allow-ips", "10.0.0.1");
  const { request, peer, counts } = probe("198.51.100.4", { "x-forwarded-for": "203.0.113.7" });
  handler(request, peer);
  expect(counts.headers).toBe(0);
  expect(seen()).toEqual(["198.51.100.4 http:"]);
  // A trusted proxy's headers are still read and applied, and the line names its client.
  const proxied = probe("10.0.0.1", { "x-forwarded-for": "203.0.113.7" });
  handler(proxied.request, proxied.peer);
  expect(proxied.counts.headers).toBeGreaterThan(0);
  logger.flush();
  expect(lines.join("\n")).toContain('198.51.100.4:4000 - "GET /who HTTP/1.1" 200');
  expect(lines.join("\n")).toContain('203.0.113.7:0 - "GET /who HTTP/1.1" 200');
});

describe("--limit-concurrency", () => {
  const request = () => new Request("http://127.0.0.1:8000/");
  const PEER = { hostname: "127.0.0.1", port: 4000 };

  /** A peer whose response the test says is done, counting reads of `completed`. */
  function tracked() {
    let done!: () => void;
    let fail!: (error: unknown) => void;
    const completed = new Promise<void>((resolve, reject) => {
      done = resolve;
      fail = reject;
    });
    const reads = { completed: 0 };
    const peer: RequestInfo = {
      remoteAddr: PEER,
      get completed() {
        reads.completed++;
        return completed;
      },
    };
    return { peer, done, fail, reads };
  }

  function handlerWith(app: FetchHandler, ...args: string[]) {
    const config = resolveConfig(["main:app", ...args], {}, { runtime: fakeRuntime() });
    const { handler, state } = createRequestHandler(config, app, quietLogger(), () => {});
    return { handler, active: () => state.concurrency?.active };
  }
  const ok: FetchHandler = () => new Response("ok");
  const status = async (result: Response | Promise<Response>) => (await result).status;
  const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

  test("the slot is held after the app answered, until the response is done", async () => {
    const { handler, active } = handlerWith(ok, "--limit-concurrency", "1");
    const first = tracked();
    expect(await status(handler(request(), first.peer))).toBe(200);
    expect(active()).toBe(1);
    const refused = tracked();
    expect(await status(handler(request(), refused.peer))).toBe(503);
    // A refused request is never asked (Bun queues a promise on the first read).
    expect(refused.reads.completed).toBe(0);
    first.done();
    await settled();
    expect(active()).toBe(0);
    expect(await status(handler(request(), tracked().peer))).toBe(200);
  });

  test("the slot is held while an async app works, and given back even if completed rejects", async () => {
    let answer!: (response: Response) => void;
    const app: FetchHandler = () => new Promise<Response>((resolve) => (answer = resolve));
    const { handler, active } = handlerWith(app, "--limit-concurrency", "2");
    const first = tracked();
    const pending = handler(request(), first.peer);
    expect(active()).toBe(1);
    answer(new Response("late"));
    expect(await status(pending)).toBe(200);
    expect(active()).toBe(1);
    first.fail(new Error("connection reset"));
    await settled();
    expect(active()).toBe(0);
  });

  test("an app that throws gets its 500, and the slot waits for that response too", async () => {
    const app: FetchHandler = () => {
      throw new Error("boom");
    };
    const { handler, active } = handlerWith(app, "--limit-concurrency", "1");
    const first = tracked();
    expect(await status(handler(request(), first.peer))).toBe(500);
    expect(active()).toBe(1);
    first.done();
    await settled();
    expect(active()).toBe(0);
  });

  test("an adapter that gives no completed: the slot is given back once the app answered", async () => {
    let answer!: (response: Response) => void;
    const apps: Record<string, FetchHandler> = {
      sync: ok,
      async: () => new Promise<Response>((resolve) => (answer = resolve)),
      throws: () => {
        throw new Error("boom");
      },
      rejects: () => Promise.reject(new Error("boom")),
    };
    for (const [kind, app] of Object.entries(apps)) {
      const { handler, active } = handlerWith(app, "--limit-concurrency", "1");
      const result = handler(request(), { remoteAddr: PEER });
      if (kind === "async") {
        expect(active()).toBe(1);
        answer(new Response("late"));
      }
      expect(await status(result)).toBe(kind === "sync" || kind === "async" ? 200 : 500);
      expect(active()).toBe(0);
    }
  });

  test("without a limit, completed is never read", async () => {
    const { handler } = handlerWith(ok);
    const peer = tracked();
    expect(await status(handler(request(), peer.peer))).toBe(200);
    expect(peer.reads.completed).toBe(0);
  });
});

describe("BunCompletions (RequestInfo.completed on Bun)", () => {
  /** Which of `completions` have called back, by index, right now. */
  function watch(completions: Completion[]): () => number[] {
    const done: number[] = [];
    for (const [index, completion] of completions.entries()) completion.then(() => done.push(index));
    return () => [...done].sort();
  }

  test("an arriving request settles as many as server.pendingRequests says are done, oldest first, at once", () => {
    const completions = new BunCompletions();
    const done = watch([completions.next(), completions.next(), completions.next()]);
    // Three responses going, plus the arriving request itself.
    completions.settle({ pendingRequests: 4 });
    expect(done()).toEqual([]);
    // One done (whichever): the oldest calls back, before settle() returns.
    completions.settle({ pendingRequests: 3 });
    expect(done()).toEqual([0]);
    // Other pending requests (a 503 still being written) only make it wait longer.
    completions.settle({ pendingRequests: 5 });
    expect(done()).toEqual([0]);
    completions.settle({ pendingRequests: 1 });
    expect(done()).toEqual([0, 1, 2]);
  });

  test("a callback added after it settled runs at once", () => {
    const completions = new BunCompletions();
    const first = completions.next();
    const calls: string[] = [];
    first.then(() => calls.push("core"));
    completions.settle({ pendingRequests: 1 });
    first.then(() => calls.push("late"));
    expect(calls).toEqual(["core", "late"]);
  });

  test("with the request handler: a slot freed by settle() is free for the request that settled it", async () => {
    const completions = new BunCompletions();
    const config = resolveConfig(["main:app", "--limit-concurrency", "1"], {}, { runtime: fakeRuntime() });
    const { handler } = createRequestHandler(
      config,
      () => new Response("ok"),
      quietLogger(),
      () => {},
    );
    const pending = { pendingRequests: 1 };
    // What bun.ts does per request: settle, then hand the app a lazily queued completion.
    const serve = () => {
      completions.settle(pending);
      const info: RequestInfo = {
        remoteAddr: { hostname: "127.0.0.1", port: 1 },
        get completed() {
          return completions.next();
        },
      };
      return handler(new Request("http://127.0.0.1/"), info) as Response;
    };
    expect(serve().status).toBe(200);
    // The first response still going: the next request is refused.
    pending.pendingRequests = 2;
    expect(serve().status).toBe(503);
    // Done: the very next request is admitted, no microtask in between.
    pending.pendingRequests = 1;
    expect(serve().status).toBe(200);
  });
});

/** A handler whose access lines and exceptions are collected, around `app`. */
function logged(app: FetchHandler) {
  const out: string[] = [];
  const err: string[] = [];
  const config = resolveConfig(["main:app"], {}, { runtime: fakeRuntime() });
  const logger = loggerFromConfig(config, {
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
    isTTY: false,
    noColor: true,
  });
  const { handler } = createRequestHandler(config, app, logger, () => {});
  // Access lines are written in a batch a moment later (line-batch.ts).
  const lines = async () => {
    await Bun.sleep(20);
    return { out: out.join("\n"), err: err.join("\n") };
  };
  return { handler, lines };
}

describe("an answer that is not a Response: a logged 500 that says what it was", () => {
  const info: RequestInfo = { remoteAddr: { hostname: "127.0.0.1", port: 5000 } };
  const request = () => new Request("http://127.0.0.1:8000/");

  test("nothing, or a string", async () => {
    for (const [value, said] of [
      [undefined, "The app returned undefined, not a Response."],
      ["hi", "The app returned string, not a Response."],
    ] as const) {
      const { handler, lines } = logged((() => value) as unknown as FetchHandler);
      expect((await handler(request(), info)).status).toBe(500);
      expect((await lines()).err).toContain(said);
    }
  });

  // uvicorn calls an app that takes no arguments and warns ("ASGI app factory detected"); a JavaScript
  // function says nothing of that when called, so tsuv serves it as a handler, and its first answer,
  // an app, is where it can tell.
  test("an app (a factory exported without --factory): the way out is named, sync or async", async () => {
    const made = { fetch: () => new Response("made") };
    for (const factory of [() => made, async () => made]) {
      const { handler, lines } = logged(factory as unknown as FetchHandler);
      expect((await handler(request(), info)).status).toBe(500);
      expect((await lines()).err).toContain(
        "The app returned an app (an object with fetch()), not a Response: is the export a factory? Serve it with --factory.",
      );
    }
  });
});

describe("access log: a client that has gone (RequestInfo.clientGone)", () => {
  function peer(gone: boolean) {
    const asked = { count: 0 };
    const info: RequestInfo = {
      remoteAddr: { hostname: "127.0.0.1", port: 5000 },
      clientGone: () => {
        asked.count++;
        return gone;
      },
    };
    return { info, asked };
  }
  const request = (path: string) => new Request(`http://127.0.0.1:8000${path}`);

  test("a late answer to a client that has gone gets no access line", async () => {
    const { handler, lines } = logged(async () => new Response("late"));
    const { info } = peer(true);
    expect((await handler(request("/gone"), info)).status).toBe(200);
    const { out } = await lines();
    expect(out).not.toContain("/gone");
  });

  test("a late answer to a client still there is logged", async () => {
    const { handler, lines } = logged(async () => new Response("late"));
    const { info, asked } = peer(false);
    await handler(request("/here"), info);
    expect((await lines()).out).toContain('"GET /here HTTP/1.1" 200 OK');
    expect(asked.count).toBe(1);
  });

  test("a failure once the client has gone: the exception is logged, no access line", async () => {
    const { handler, lines } = logged(async () => {
      throw new Error("body read failed");
    });
    const { info } = peer(true);
    expect((await handler(request("/upload"), info)).status).toBe(500);
    const { out, err } = await lines();
    expect(err).toContain("Exception in fetch handler");
    expect(err).toContain("body read failed");
    expect(out).not.toContain("/upload");
  });

  test("an answer given synchronously does not ask (the hot path stays as it was)", async () => {
    const { handler, lines } = logged(() => new Response("now"));
    const { info, asked } = peer(true);
    handler(request("/sync"), info);
    expect((await lines()).out).toContain('"GET /sync HTTP/1.1" 200 OK');
    expect(asked.count).toBe(0);
  });

  test("a runtime that cannot tell (Deno) logs the line", async () => {
    const { handler, lines } = logged(async () => new Response("late"));
    await handler(request("/deno"), { remoteAddr: { hostname: "127.0.0.1", port: 5000 } });
    expect((await lines()).out).toContain('"GET /deno HTTP/1.1" 200 OK');
  });
});

describe("an async answer: the adapter's part runs in the handler's own wait (RequestInfo.awaiting)", () => {
  /** A peer that records the order of awaiting(), answered() and what the app did. */
  function recording() {
    const events: string[] = [];
    const info: RequestInfo = {
      remoteAddr: { hostname: "127.0.0.1", port: 5000 },
      awaiting: () => events.push("awaiting"),
      answered: () => events.push("answered"),
    };
    return { events, info };
  }
  function handlerWith(app: FetchHandler) {
    const config = resolveConfig(["main:app"], {}, { runtime: fakeRuntime() });
    return createRequestHandler(config, app, quietLogger(), () => {}).handler;
  }
  const request = () => new Request("http://127.0.0.1:8000/a");

  test("awaiting() as the wait starts, answered() once the response has tsuv's headers", async () => {
    const { events, info } = recording();
    let resolve!: (response: Response) => void;
    const handler = handlerWith(() => new Promise<Response>((done) => (resolve = done)));
    const result = handler(request(), info) as Promise<Response>;
    expect(events).toEqual(["awaiting"]);
    resolve(new Response("late"));
    const response = await result;
    expect(events).toEqual(["awaiting", "answered"]);
    expect(response.headers.get("server")).toBe("tsuv");
  });

  test("an app whose promise rejects: answered() with its 500", async () => {
    const { events, info } = recording();
    const handler = handlerWith(async () => {
      throw new Error("no");
    });
    expect((await handler(request(), info)).status).toBe(500);
    expect(events).toEqual(["awaiting", "answered"]);
  });

  test("a synchronous answer calls neither", () => {
    const { events, info } = recording();
    const handler = handlerWith(() => new Response("now"));
    expect((handler(request(), info) as Response).status).toBe(200);
    expect(events).toEqual([]);
  });

  test("the info a trusted proxy's client made (Bun's withClient) is the one called", async () => {
    const called: string[] = [];
    const info: RequestInfo = {
      remoteAddr: { hostname: "127.0.0.1", port: 5000 },
      awaiting: () => called.push("peer"),
      withClient: (client) => ({
        remoteAddr: client,
        awaiting: () => called.push(`client ${client.hostname}`),
        answered: () => called.push(`answered ${client.hostname}`),
      }),
    };
    const handler = handlerWith(async () => new Response("late"));
    await handler(
      new Request("http://127.0.0.1:8000/a", { headers: { "x-forwarded-for": "10.1.2.3" } }),
      info,
    );
    expect(called).toEqual(["client 10.1.2.3", "answered 10.1.2.3"]);
  });
});

describe("BunRequestInfo.awaiting: what the Bun adapter is told", () => {
  const server = { timeout: () => {} } as unknown as BunPeerSource;
  const request = new Request("http://127.0.0.1:8000/a");

  test("without the adapter's part, awaiting() does nothing and the adapter waits itself", () => {
    const info = new BunRequestInfo(server, request);
    info.awaiting();
    expect(info.awaited).toBe(false);
  });

  test("the info made for a proxy's client marks the adapter's own as awaited, and passes on its part", () => {
    const calls: string[] = [];
    const answers = {
      start: (r: Request) => calls.push(`start ${r === request}`),
      end: (r: Request, _s: BunPeerSource, upgraded: boolean) =>
        calls.push(`end ${r === request} ${upgraded}`),
    };
    const info = new BunRequestInfo(server, request, undefined, answers);
    const client = info.withClient({ hostname: "10.1.2.3", port: 0 });
    client.awaiting?.();
    client.answered?.();
    expect(info.awaited).toBe(true);
    expect(calls).toEqual(["start true", "end true false"]);
  });
});
