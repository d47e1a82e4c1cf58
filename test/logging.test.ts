import { describe, expect, test } from "bun:test";
import { statusPhrase } from "../src/http-status.ts";
import {
  ansi,
  createLogger,
  type DroppedLinesHandler,
  formatError,
  type LoggerOptions,
  loggerFromConfig,
} from "../src/logging.ts";

function capture(options: Partial<LoggerOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const logger = createLogger({
    level: "info",
    format: "text",
    useColors: false,
    accessLog: true,
    // Access lines come batched (src/line-batch.ts): one call may carry several records.
    stdout: (text) => out.push(...text.split("\n")),
    stderr: (line) => err.push(line),
    ...options,
  });
  return { logger, out, err };
}

describe("text format", () => {
  test("level prefixes are padded like uvicorn's", () => {
    const { logger, err } = capture({ level: "trace" });
    logger.critical("c");
    logger.error("e");
    logger.warning("w");
    logger.info("i");
    logger.debug("d");
    logger.trace("t");
    expect(err).toEqual([
      "CRITICAL: c",
      "ERROR:    e",
      "WARNING:  w",
      "INFO:     i",
      "DEBUG:    d",
      "TRACE:    t",
    ]);
  });

  test("colored level names", () => {
    const { logger, err } = capture({ level: "trace", useColors: true });
    logger.critical("c");
    logger.error("e");
    logger.warning("w");
    logger.info("i");
    logger.debug("d");
    logger.trace("t");
    expect(err).toEqual([
      "\x1b[91mCRITICAL\x1b[0m: c",
      "\x1b[31mERROR\x1b[0m:    e",
      "\x1b[33mWARNING\x1b[0m:  w",
      "\x1b[32mINFO\x1b[0m:     i",
      "\x1b[36mDEBUG\x1b[0m:    d",
      "\x1b[34mTRACE\x1b[0m:    t",
    ]);
  });

  test("access line on stdout, exactly uvicorn's", () => {
    const { logger, out, err } = capture();
    logger.access("127.0.0.1:38144", "GET", "/a?x=1", "1.1", 200);
    logger.access("::1:5000", "POST", "/missing", "1.0", 404);
    logger.access("127.0.0.1:1", "GET", "/", "1.1", 599);
    logger.flush();
    expect(out).toEqual([
      'INFO:     127.0.0.1:38144 - "GET /a?x=1 HTTP/1.1" 200 OK',
      'INFO:     ::1:5000 - "POST /missing HTTP/1.0" 404 Not Found',
      // uvicorn prints an unknown code with an empty phrase, trailing space included.
      'INFO:     127.0.0.1:1 - "GET / HTTP/1.1" 599 ',
    ]);
    expect(err).toEqual([]);
  });

  test("colored access line: bold request line, status colored by class", () => {
    const { logger, out } = capture({ useColors: true });
    for (const status of [101, 204, 302, 418, 503]) logger.access("1.2.3.4:5", "GET", "/", "1.1", status);
    logger.flush();
    const req = '"\x1b[1mGET / HTTP/1.1\x1b[0m"';
    const info = "\x1b[32mINFO\x1b[0m:     ";
    expect(out).toEqual([
      `${info}1.2.3.4:5 - ${req} \x1b[97m101 Switching Protocols\x1b[0m`,
      `${info}1.2.3.4:5 - ${req} \x1b[32m204 No Content\x1b[0m`,
      `${info}1.2.3.4:5 - ${req} \x1b[33m302 Found\x1b[0m`,
      `${info}1.2.3.4:5 - ${req} \x1b[31m418 I'm a Teapot\x1b[0m`,
      `${info}1.2.3.4:5 - ${req} \x1b[91m503 Service Unavailable\x1b[0m`,
    ]);
  });

  test("exception: message, then the stack, on stderr", () => {
    const { logger, err } = capture({ level: "error" });
    const error = new Error("boom");
    logger.exception("Exception in ASGI application", error);
    expect(err).toEqual([`ERROR:    Exception in ASGI application\n${error.stack}`]);
  });

  test("exception with a cause and with a thrown non-Error", () => {
    const { logger, err } = capture();
    const error = new Error("outer", { cause: new TypeError("inner") });
    logger.exception("failed", error);
    expect(err[0]).toContain("Error: outer");
    expect(err[0]).toContain("Caused by: TypeError: inner");
    logger.exception("failed", "a string");
    logger.exception("failed", undefined);
    expect(err.slice(1)).toEqual(["ERROR:    failed\na string", "ERROR:    failed\nundefined"]);
    expect(formatError(Object.create(null))).toBe("[object Object]");
  });

  test("child fields do not change text lines", () => {
    const { logger, err } = capture();
    logger.child({ worker: 3 }).info("hello");
    expect(err).toEqual(["INFO:     hello"]);
  });

  test("empty and multi-line messages are kept as given", () => {
    const { logger, err } = capture();
    logger.info("");
    logger.info("a\nb");
    expect(err).toEqual(["INFO:     ", "INFO:     a\nb"]);
  });

  test("repeated identical lines are all written (no throttling)", () => {
    const { logger, out, err } = capture();
    for (let i = 0; i < 20; i++) {
      logger.info("same");
      logger.access("1.1.1.1:1", "GET", "/", "1.1", 200);
    }
    logger.flush();
    expect(err.length).toBe(20);
    expect(out.length).toBe(20);
  });
});

test("the request target is percent-encoded where a client could break the quoted field", () => {
  const { logger, out } = capture();
  logger.access("1.2.3.4:5", "GET", '/caf\u00e9/"x" y?q=\u00fc\n\ud800', "1.1", 200);
  logger.access("1.2.3.4:5", "GET", "/plain/path?a=1&b=%22", "1.1", 200);
  logger.flush();
  expect(out).toContain(
    'INFO:     1.2.3.4:5 - "GET /caf%C3%A9/%22x%22%20y?q=%C3%BC%0A%EF%BF%BD HTTP/1.1" 200 OK',
  );
  expect(out).toContain('INFO:     1.2.3.4:5 - "GET /plain/path?a=1&b=%22 HTTP/1.1" 200 OK');
});

describe("levels", () => {
  test("lines below the level are dropped", () => {
    const { logger, err } = capture({ level: "warning" });
    logger.trace("t");
    logger.debug("d");
    logger.info("i");
    logger.warning("w");
    logger.error("e");
    logger.critical("c");
    expect(err).toEqual(["WARNING:  w", "ERROR:    e", "CRITICAL: c"]);
  });

  test("enabled() follows the level", () => {
    const { logger } = capture({ level: "debug" });
    expect(logger.enabled("trace")).toBe(false);
    expect(logger.enabled("debug")).toBe(true);
    expect(logger.enabled("critical")).toBe(true);
  });

  test("exceptions are dropped only above error", () => {
    const { logger, err } = capture({ level: "critical" });
    logger.exception("x", new Error("y"));
    expect(err).toEqual([]);
  });

  test("access log follows the level too (uvicorn sets it on the access logger)", () => {
    const { logger, out } = capture({ level: "warning" });
    expect(logger.accessEnabled).toBe(false);
    logger.access("1.1.1.1:1", "GET", "/", "1.1", 200);
    expect(out).toEqual([]);
  });
});

describe("access log off", () => {
  test("access() does nothing, touches nothing", () => {
    let writes = 0;
    const { logger } = capture({ accessLog: false, stdout: () => writes++, stderr: () => writes++ });
    expect(logger.accessEnabled).toBe(false);
    // Arguments that would throw if converted to strings: proves no string work happens.
    const poison = {
      toString() {
        throw new Error("formatted");
      },
    } as unknown as string;
    logger.access(poison, poison, poison, poison, 200);
    expect(writes).toBe(0);
  });

  test("other lines still go out", () => {
    const { logger, err } = capture({ accessLog: false });
    logger.info("still here");
    expect(err).toEqual(["INFO:     still here"]);
  });
});

describe("json format", () => {
  test("one object per line with time, level, message and pid", () => {
    const { logger, err } = capture({ format: "json", pid: 42, useColors: true });
    logger.warning('say "hi"');
    expect(err.length).toBe(1);
    const line = err[0] as string;
    expect(line.endsWith("}")).toBe(true);
    expect(line).not.toContain("\n");
    const entry = JSON.parse(line);
    expect(entry).toEqual({ time: expect.any(String), level: "warning", message: 'say "hi"', pid: 42 });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
    expect(line).not.toContain("\x1b");
  });

  test("child fields are added, nested children merge", () => {
    const { logger, err } = capture({ format: "json" });
    logger.child({ worker: 1 }).child({ role: "thread" }).info("up");
    expect(JSON.parse(err[0] as string)).toMatchObject({
      level: "info",
      message: "up",
      worker: 1,
      role: "thread",
    });
  });

  test("child fields cannot shadow the line's own keys", () => {
    const { logger, err } = capture({ format: "json" });
    logger.child({ level: "x", message: "y", worker: 2 }).error("real");
    const entry = JSON.parse(err[0] as string);
    expect(entry.level).toBe("error");
    expect(entry.message).toBe("real");
    expect(entry.worker).toBe(2);
  });

  test("access entries carry structured fields, on stdout", () => {
    const { logger, out, err } = capture({ format: "json", pid: 7 });
    logger.child({ worker: 2 }).access("10.0.0.1:5555", "GET", "/a?x=1", "1.1", 404);
    logger.flush();
    expect(err).toEqual([]);
    expect(JSON.parse(out[0] as string)).toEqual({
      time: expect.any(String),
      level: "info",
      message: '10.0.0.1:5555 - "GET /a?x=1 HTTP/1.1" 404 Not Found',
      pid: 7,
      worker: 2,
      client: "10.0.0.1:5555",
      method: "GET",
      path: "/a?x=1",
      http_version: "1.1",
      status: 404,
    });
  });

  test("exceptions carry the stack in one line", () => {
    const { logger, err } = capture({ format: "json" });
    const error = new Error("boom");
    logger.exception("Exception in application", error);
    const line = err[0] as string;
    expect(line).not.toContain("\n");
    expect(JSON.parse(line)).toMatchObject({
      level: "error",
      message: "Exception in application",
      exception: error.stack,
    });
  });

  test("critical is spelled as the option is", () => {
    const { logger, err } = capture({ format: "json" });
    logger.critical("x");
    expect(JSON.parse(err[0] as string).level).toBe("critical");
  });
});

describe("loggerFromConfig", () => {
  const base = { logLevel: "info", logFormat: "text", accessLog: true } as const;
  const colored = (config: { useColors?: boolean }, isTTY: boolean, noColor: boolean) => {
    const err: string[] = [];
    const logger = loggerFromConfig(
      { ...base, ...config },
      { stdout: () => {}, stderr: (l) => err.push(l), isTTY, noColor },
    );
    logger.info("x");
    return (err[0] as string).includes("\x1b[");
  };

  test("colors default on for a TTY, off without one or with NO_COLOR", () => {
    expect(colored({}, true, false)).toBe(true);
    expect(colored({}, false, false)).toBe(false);
    expect(colored({}, true, true)).toBe(false);
  });

  test("--use-colors / --no-use-colors win", () => {
    expect(colored({ useColors: true }, false, true)).toBe(true);
    expect(colored({ useColors: false }, true, false)).toBe(false);
  });

  test("level, format and access log come from the config", () => {
    const out: string[] = [];
    const err: string[] = [];
    const logger = loggerFromConfig(
      { logLevel: "error", logFormat: "json", accessLog: false },
      { stdout: (l) => out.push(l), stderr: (l) => err.push(l), isTTY: false, noColor: false, pid: 9 },
    );
    logger.info("dropped");
    logger.error("kept");
    logger.access("a", "GET", "/", "1.1", 200);
    expect(out).toEqual([]);
    expect(JSON.parse(err[0] as string)).toMatchObject({ level: "error", message: "kept", pid: 9 });
    expect(err.length).toBe(1);
  });

  test("lines the writer dropped (a stalled reader) are reported as a warning in the log's format", () => {
    for (const format of ["text", "json"] as const) {
      const err: string[] = [];
      let report: DroppedLinesHandler = () => {};
      loggerFromConfig(
        { ...base, logFormat: format },
        {
          stdout: () => {},
          stderr: (l) => err.push(l),
          isTTY: false,
          noColor: false,
          onDroppedLines: (handler) => {
            report = handler;
          },
        },
      );
      report("stdout", 65673, "was not being read, and 8 MiB waited to be written");
      const message = "Dropped 65673 log line(s): stdout was not being read, and 8 MiB waited to be written.";
      if (format === "text") expect(err).toEqual([`WARNING:  ${message}`]);
      else expect(JSON.parse(err[0] as string)).toMatchObject({ level: "warning", message });
    }
  });
});

test("status phrases follow Python's http.HTTPStatus", () => {
  expect(statusPhrase(200)).toBe("OK");
  expect(statusPhrase(422)).toBe("Unprocessable Content");
  expect(statusPhrase(500)).toBe("Internal Server Error");
  expect(statusPhrase(799)).toBe("");
});

test("methods work unbound (passed as callbacks)", () => {
  const { logger, err } = capture();
  const { info } = logger;
  info("detached");
  expect(err).toEqual(["INFO:     detached"]);
});

test("json access lines escape what JSON needs, and only that", () => {
  const { logger, out } = capture({ format: "json" });
  const target = '/a"b\\c\u0001?q=ü😀\ud800';
  logger.access("[::1]:5", "GET", target, "1.1", 200);
  logger.access("1.1.1.1:1", "GET", "/plain", "2", 201);
  logger.flush();
  const entry = JSON.parse(out[0] as string);
  expect(entry.path).toBe(target);
  expect(entry.message).toBe(`[::1]:5 - "GET ${target} HTTP/1.1" 200 OK`);
  expect(JSON.parse(out[1] as string)).toMatchObject({ path: "/plain", http_version: "2", status: 201 });
});

test("colorMessage is used only for colored text output", () => {
  const colored = capture({ useColors: true });
  const plain = capture();
  const json = capture({ format: "json", useColors: true });
  for (const { logger } of [colored, plain, json])
    logger.info("Started server process [7]", `Started server process [${ansi.cyan(7)}]`);
  expect(colored.err).toEqual(["\x1b[32mINFO\x1b[0m:     Started server process [\x1b[36m7\x1b[0m]"]);
  expect(plain.err).toEqual(["INFO:     Started server process [7]"]);
  expect(JSON.parse(json.err[0] as string).message).toBe("Started server process [7]");
});

test("a writer that throws does not break the caller", () => {
  const broken = () => {
    throw new Error("EPIPE");
  };
  const { logger } = capture({ stdout: broken, stderr: broken });
  expect(() => logger.info("x")).not.toThrow();
  expect(() => logger.exception("x", new Error("y"))).not.toThrow();
  expect(() => logger.access("a", "GET", "/", "1.1", 200)).not.toThrow();
});
