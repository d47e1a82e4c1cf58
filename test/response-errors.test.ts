// A response that fails after the app returned it is the app's error, logged with its stack at
// ERROR as uvicorn logs it ("Exception in ASGI application"); it was a DEBUG "Connection error"
// line, invisible at the default level. Which failures a runtime reports at all differs:
// - a body stream that errors: Node and Deno (Bun cuts the connection and says nothing);
// - a body sent twice: Bun and Deno (Node's fast path keeps the string and sends it again).
import { afterEach, describe, expect, test } from "bun:test";
import { killAll, RUNTIMES, type RunningTsuv, startTsuv, waitLog } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/response-errors.ts";

afterEach(killAll);

/** GET `path` to the end: the body, or null when the connection was cut mid-body. */
async function bodyOf(server: RunningTsuv, path: string): Promise<string | null> {
  try {
    return await (await fetch(`${server.url}${path}`)).text();
  } catch {
    return null;
  }
}

describe.each(RUNTIMES)("%s: a response that fails after the app returned it", (runtime) => {
  const reportsStreamErrors = runtime !== "bun";
  const reportsReuse = runtime === "bun" || runtime === "deno";

  test("a body stream that errors cuts the response, and is logged at ERROR where reported", async () => {
    const server = await startTsuv(runtime, [APP, "--port", "0"]);
    expect(await bodyOf(server, "/stream-error")).toBeNull();
    if (reportsStreamErrors) {
      await waitLog(server, /ERROR: {4}Exception while sending the response/);
      expect(server.stderr()).toContain("Error: the body stream broke");
    }
    expect(await bodyOf(server, "/")).toBe("ok");
  });

  test("a body used twice is logged at ERROR where the second send fails", async () => {
    const server = await startTsuv(runtime, [APP, "--port", "0"]);
    expect(await bodyOf(server, "/cached")).toBe("cached body");
    const second = await bodyOf(server, "/cached");
    if (reportsReuse) {
      expect(second).not.toBe("cached body");
      await waitLog(server, /ERROR: {4}Exception while sending the response/);
    } else {
      expect(second).toBe("cached body");
    }
    expect(await bodyOf(server, "/")).toBe("ok");
  });
});
