// A response that fails after the app returned it is the app's error, logged with its stack at
// ERROR as uvicorn logs it ("Exception in ASGI application"); it was a DEBUG "Connection error"
// line, invisible at the default level. Which failures a runtime reports at all differs:
// - a body stream that errors: Node and Deno (Bun cuts the connection and says nothing);
// - a body sent twice: Bun and Deno (Node's fast path keeps the string and sends it again).
// And a header value with a control character, which Deno 2.9's server ends the process on.
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { killAll, RUNTIMES, type RunningTsuv, startTsuv, waitLog } from "./helpers/tsuv.ts";
import { handshake } from "./helpers/ws-client.ts";

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

/** The status line of the answer to a raw request (fetch clients refuse a control character in a header). */
function statusLine(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer: ${JSON.stringify(received)}`)));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n");
      if (end !== -1) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received || "(closed without an answer)"));
  });
}

describe.each(RUNTIMES)("%s: a header value with a control character", (runtime) => {
  // Node's server refuses to write it (ERR_INVALID_CHAR); Deno 2.9's panics, ending the process
  // (every thread worker with it), so tsuv answers 500 there first; Bun.serve sends it as is.
  const refused = runtime !== "bun";

  test("is a logged 500 where the server cannot send it, and the workers serve on", async () => {
    const server = await startTsuv(runtime, [
      "test/fixtures/apps/control-header.ts",
      "--port",
      "0",
      "--workers",
      "2",
      "--worker-class",
      "thread",
    ]);
    const get = "GET /control HTTP/1.1\r\nHost: x\r\n\r\n";
    for (let i = 0; i < 3; i++)
      expect(await statusLine(server.port, get)).toBe(
        refused ? "HTTP/1.1 500 Internal Server Error" : "HTTP/1.1 200 OK",
      );
    if (refused) await waitLog(server, /ERROR: {4}Exception while sending the response/);
    if (runtime === "deno") {
      expect(server.stderr()).toContain(
        'The app\'s response header "x-note" has a control character in its value ("a\\u0001b"), which Deno\'s server cannot send',
      );
    }
    // An upgrade the app refuses with such a header: the refusal does not take the fetch path.
    const upgrade = handshake(server.port, "/ws");
    expect(await statusLine(server.port, upgrade)).toMatch(
      runtime === "deno" ? /^HTTP\/1\.1 500 / : /^HTTP\/1\.1 403 /,
    );
    expect(await bodyOf(server, "/")).toBe("ok");
    expect(server.proc.exitCode).toBeNull();
  });
});
