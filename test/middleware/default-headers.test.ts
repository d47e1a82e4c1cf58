import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { createDefaultHeaders, httpDate } from "../../src/middleware/default-headers.ts";

const T0 = Date.UTC(1994, 10, 6, 8, 49, 37); // Sun, 06 Nov 1994 08:49:37 GMT
const all = { serverHeader: true, dateHeader: true, headers: [] };
/** A clock that stands still at `ms`. */
const at = (ms: number) => () => ms;

describe("default headers", () => {
  test("IMF-fixdate", () => {
    expect(httpDate(T0)).toBe("Sun, 06 Nov 1994 08:49:37 GMT");
    expect(httpDate(Date.UTC(2024, 1, 29, 0, 0, 5, 999))).toBe("Thu, 29 Feb 2024 00:00:05 GMT");
  });

  test("server and date are added", () => {
    const defaults = createDefaultHeaders(all, at(T0));
    const response = defaults.apply(new Response("hi"));
    expect(response.headers.get("server")).toBe("tsuv");
    expect(response.headers.get("date")).toBe("Sun, 06 Nov 1994 08:49:37 GMT");
  });

  test("each can be turned off", () => {
    const none = createDefaultHeaders({ serverHeader: false, dateHeader: false, headers: [] }, at(T0));
    const plain = new Response("hi");
    expect(none.apply(plain)).toBe(plain);
    expect(plain.headers.has("server") || plain.headers.has("date")).toBe(false);
    const dateOnly = createDefaultHeaders({ serverHeader: false, dateHeader: true, headers: [] }, at(T0));
    expect(dateOnly.apply(new Response("x")).headers.has("server")).toBe(false);
  });

  test("custom headers, repeated names appended", () => {
    const defaults = createDefaultHeaders(
      {
        ...all,
        headers: [
          ["x-a", "1"],
          ["x-b", "2"],
          ["x-a", "3"],
        ],
      },
      at(T0),
    );
    const response = defaults.apply(new Response("hi"));
    expect(response.headers.get("x-a")).toBe("1, 3");
    expect(response.headers.get("x-b")).toBe("2");
  });

  test("headers the app set are not overridden", () => {
    const defaults = createDefaultHeaders(
      {
        ...all,
        headers: [
          ["x-a", "1"],
          ["x-b", "2"],
          ["x-a", "3"],
        ],
      },
      at(T0),
    );
    const response = defaults.apply(
      new Response("hi", { headers: { server: "mine", date: "yesterday", "x-a": "app" } }),
    );
    expect(response.headers.get("server")).toBe("mine");
    expect(response.headers.get("date")).toBe("yesterday");
    expect(response.headers.get("x-a")).toBe("app");
    expect(response.headers.get("x-b")).toBe("2");
  });

  test("a custom server or date header replaces the built-in one", () => {
    let now = T0;
    const defaults = createDefaultHeaders(
      {
        ...all,
        headers: [
          ["Server", "edge"],
          ["date", "fixed"],
        ],
      },
      () => now,
    );
    const response = defaults.apply(new Response("hi"));
    expect(response.headers.get("server")).toBe("edge");
    expect(response.headers.get("date")).toBe("fixed");
    now = T0 + 5000;
    expect(defaults.apply(new Response("hi")).headers.get("date")).toBe("fixed");
  });

  test("the date is the current second's, formatted when a response first needs it", () => {
    let now = T0 + 250;
    const defaults = createDefaultHeaders(all, () => now);
    const date = () => defaults.apply(new Response("x")).headers.get("date");
    expect(date()).toBe("Sun, 06 Nov 1994 08:49:37 GMT");
    now = T0 + 999;
    expect(date()).toBe("Sun, 06 Nov 1994 08:49:37 GMT");
    now = T0 + 1000;
    expect(date()).toBe("Sun, 06 Nov 1994 08:49:38 GMT");
    now = T0 + 61_000;
    expect(date()).toBe("Sun, 06 Nov 1994 08:50:38 GMT");
    // A clock set back (NTP stepping it) is followed, not ignored until it catches up.
    now = T0 - 5000;
    expect(date()).toBe("Sun, 06 Nov 1994 08:49:32 GMT");
    now = T0 + 61_500;
    expect(defaults.entries()).toEqual([
      ["date", "Sun, 06 Nov 1994 08:50:38 GMT"],
      ["server", "tsuv"],
    ]);
  });

  test("where the runtime dates responses, apply() reads no clock; entries() still dates them", () => {
    let now = T0;
    let reads = 0;
    const defaults = createDefaultHeaders({ ...all, runtimeDate: true }, () => {
      reads++;
      return now;
    });
    reads = 0;
    now = T0 + 3000;
    const response = defaults.apply(new Response("x"));
    expect(response.headers.get("server")).toBe("tsuv");
    expect(response.headers.has("date")).toBe(false);
    expect(reads).toBe(0);
    expect(defaults.entries()[0]).toEqual(["date", "Sun, 06 Nov 1994 08:49:40 GMT"]);
  });

  test("the date is not formatted per request", () => {
    const defaults = createDefaultHeaders(all, at(T0));
    const RealDate = globalThis.Date;
    let constructed = 0;
    globalThis.Date = class extends RealDate {
      constructor(...args: ConstructorParameters<typeof RealDate>) {
        super(...args);
        constructed++;
      }
    } as DateConstructor;
    try {
      for (let i = 0; i < 100; i++) defaults.apply(new Response("x"));
    } finally {
      globalThis.Date = RealDate;
    }
    expect(constructed).toBe(0);
  });

  test("the mutable path returns the same response", () => {
    const defaults = createDefaultHeaders(all, at(T0));
    const response = new Response("hi");
    expect(defaults.apply(response)).toBe(response);
  });

  test("a response with immutable headers is copied, body and status kept", async () => {
    const defaults = createDefaultHeaders({ ...all, headers: [["x-a", "1"]] }, at(T0));
    const redirect = Response.redirect("http://example.com/next", 307);
    const out = defaults.apply(redirect);
    expect(out.status).toBe(307);
    expect(out.headers.get("location")).toBe("http://example.com/next");
    expect(out.headers.get("server")).toBe("tsuv");
    expect(out.headers.get("x-a")).toBe("1");

    // A fetched response (immutable on Node and Deno, mutable on Bun): same outcome either way.
    const fetched = await fetch("data:text/plain,hello");
    const copied = defaults.apply(fetched);
    expect(copied.headers.get("server")).toBe("tsuv");
    expect(copied.headers.get("content-type")).toContain("text/plain");
    expect(await copied.text()).toBe("hello");
  });

  test("an immutable response built here is copied too (headers frozen by hand)", async () => {
    const defaults = createDefaultHeaders(all, at(T0));
    const frozen = new Response("body", {
      status: 201,
      statusText: "Made",
      headers: { "set-cookie": "a=1" },
    });
    const headers = frozen.headers;
    headers.append("set-cookie", "b=2");
    Object.defineProperty(headers, "set", {
      value: () => {
        throw new TypeError("immutable");
      },
    });
    Object.defineProperty(headers, "append", {
      value: () => {
        throw new TypeError("immutable");
      },
    });
    const out = defaults.apply(frozen);
    expect(out).not.toBe(frozen);
    expect(out.status).toBe(201);
    expect(out.statusText).toBe("Made");
    expect(out.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(out.headers.get("server")).toBe("tsuv");
    expect(await out.text()).toBe("body");
  });

  test("Response.error() is returned as is", () => {
    const defaults = createDefaultHeaders(all, at(T0));
    const error = Response.error();
    expect(defaults.apply(error)).toBe(error);
  });

  test("invalid custom header values are a usage error", () => {
    expect(() => createDefaultHeaders({ ...all, headers: [["x-a", "a\nb"]] }, at(T0))).toThrow(UsageError);
  });
});
