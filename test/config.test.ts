/**
 * Config resolution. Ports of the seed's test_config.py changes:
 *   test_config_use_subprocess (+ thread twin)      -> "useSubprocess ..."
 *   test_warn_when_using_reload_and_workers          -> "warns that workers are ignored with reload"
 *   test_thread_worker_class_requires_free_threaded_runtime -> "thread class is refused where ..."
 * plus the option table's env vars, list options and usage errors.
 */
import { describe, expect, test } from "bun:test";
import { resolveConfig, threadShutdownTimeout, useSubprocess } from "../src/config.ts";
import { ConfigError, UsageError } from "../src/errors.ts";
import { envVarName, OPTIONS } from "../src/options.ts";
import { parseOptions } from "../src/parse-options.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

const runtime = fakeRuntime();
const resolve = (argv: string[], env: Record<string, string> = {}, rt = runtime) =>
  resolveConfig(argv, env, { runtime: rt });
/** What resolving `argv` in `env` on `rt` warns about, in order. */
const warningsOf = (argv: string[], env: Record<string, string> = {}, rt = runtime) => {
  const warnings: string[] = [];
  resolveConfig(argv, env, { runtime: rt, warn: (message) => warnings.push(message) });
  return warnings;
};

describe("useSubprocess", () => {
  for (const [reload, workers, expected] of [
    [true, 1, true],
    [false, 2, true],
    [false, 1, false],
  ] as const) {
    test(`reload=${reload} workers=${workers} -> ${expected}`, () => {
      expect(useSubprocess({ reload, workers, workerClass: "process" })).toBe(expected);
    });
  }
  test("is false for thread workers (the seed's thread twin)", () => {
    const config = resolve(["main:app", "--workers=2", "--worker-class=thread"]);
    expect(useSubprocess(config)).toBe(false);
  });
});

test("warns that workers are ignored with reload", () => {
  const warnings: string[] = [];
  resolveConfig(["main:app", "--reload", "--workers", "2"], {}, { runtime, warn: (m) => warnings.push(m) });
  expect(warnings).toEqual(['"workers" flag is ignored when reloading is enabled.']);
});

test("warns that --no-date-header cannot drop the date where the runtime's server writes it", () => {
  const warnings = (rt: typeof runtime) => {
    const found: string[] = [];
    resolveConfig(["main:app", "--no-date-header"], {}, { runtime: rt, warn: (m) => found.push(m) });
    return found;
  };
  expect(warnings(runtime)).toEqual([]);
  const bun = fakeRuntime({ name: "bun", displayName: "Bun", caps: { writesDateHeader: true } });
  expect(warnings(bun)).toEqual([
    "--no-date-header has no effect on Bun: its server writes the date itself.",
  ]);
});

describe("thread class is refused where the runtime cannot share a port", () => {
  const cases = [
    [fakeRuntime({ version: "20.5.0" }), "requires Node.js 20.6 or newer; found Node.js 20.5.0 on linux."],
    [fakeRuntime({ os: "win32", caps: { listenOnFd: false } }), "not available on win32"],
    [
      fakeRuntime({
        name: "bun",
        displayName: "Bun",
        version: "1.4.5",
        os: "darwin",
        caps: { reusePortBalances: false },
      }),
      "requires SO_REUSEPORT load balancing (Linux); found Bun 1.4.5 on darwin",
    ],
    [
      fakeRuntime({ name: "deno", displayName: "Deno", version: "2.9.6", caps: { unstableNet: false } }),
      "requires Deno's unstable net API",
    ],
  ] as const;
  for (const [rt, message] of cases) {
    test(`${rt.displayName} ${rt.version} on ${rt.os}`, () => {
      expect(() => resolve(["main:app", "--worker-class", "thread"], {}, rt)).toThrow(ConfigError);
      expect(() => resolve(["main:app", "--worker-class", "thread"], {}, rt)).toThrow(
        'Worker class "thread" requires',
      );
      expect(() => resolve(["main:app", "--worker-class", "thread"], {}, rt)).toThrow(message);
    });
  }
  test("accepted on Linux with the prerequisites, sharing by fd on Node and reusePort elsewhere", () => {
    expect(resolve(["a", "--worker-class", "thread"]).socketSharing).toBe("fd");
    const bun = fakeRuntime({
      name: "bun",
      displayName: "Bun",
      caps: { listenOnFd: false, passSocketToChild: false },
    });
    expect(resolve(["a", "--worker-class", "thread"], {}, bun).socketSharing).toBe("reusePort");
  });
});

test("thread shutdown timeout defaults to the healthcheck timeout (seed)", () => {
  expect(threadShutdownTimeout(resolve(["a", "--timeout-worker-healthcheck", "7"]))).toBe(7);
  expect(
    threadShutdownTimeout(
      resolve(["a", "--timeout-worker-healthcheck", "2", "--timeout-graceful-shutdown", "3"]),
    ),
  ).toBe(3);
});

describe("options from the environment", () => {
  test("every option has a TSUV_ variable and the CLI wins", () => {
    expect(resolve(["a"], { TSUV_PORT: "9001" }).port).toBe(9001);
    expect(resolve(["a", "--port", "9002"], { TSUV_PORT: "9001" }).port).toBe(9002);
    expect(resolve([], { TSUV_APP: "main:app" }).app).toBe("main:app");
    expect(resolve(["a"], { TSUV_ACCESS_LOG: "false" }).accessLog).toBe(false);
    expect(resolve(["a"], { TSUV_WORKER_CLASS: "thread" }).workerClass).toBe("thread");
    expect(envVarName("timeout-graceful-shutdown")).toBe("TSUV_TIMEOUT_GRACEFUL_SHUTDOWN");
  });
  test("workers default to $WEB_CONCURRENCY, else 1", () => {
    expect(resolve(["a"]).workers).toBe(1);
    expect(resolve(["a"], { WEB_CONCURRENCY: "3" }).workers).toBe(3);
    expect(resolve(["a"], { WEB_CONCURRENCY: "3", TSUV_WORKERS: "2" }).workers).toBe(2);
  });
  test("port defaults to $PORT (Heroku, Cloud Run, Render), else 8000; the flag and TSUV_PORT win", () => {
    expect(resolve(["a"]).port).toBe(8000);
    expect(resolve(["a"], { PORT: "8080" }).port).toBe(8080);
    expect(resolve(["a"], { PORT: "8080", TSUV_PORT: "9000" }).port).toBe(9000);
    expect(resolve(["a", "--port", "7000"], { PORT: "8080" }).port).toBe(7000);
    expect(resolve(["a"], { PORT: "" }).port).toBe(8000);
    expect(() => resolve(["a"], { PORT: "http" })).toThrow(
      "Invalid value for 'PORT': 'http' is not a valid integer.",
    );
  });
  test("a port from $PORT on the default loopback host is said to be unreachable from outside", () => {
    const warnings = (argv: string[], env: Record<string, string>) => {
      const said: string[] = [];
      resolveConfig(argv, env, { runtime, warn: (message) => said.push(message) });
      return said;
    };
    expect(warnings(["a"], { PORT: "8080" })).toEqual([
      "Listening on port 8080 from $PORT, on 127.0.0.1 only (the default --host): a platform that sets PORT connects from outside the container, where 127.0.0.1 cannot be reached. Add --host 0.0.0.0 (or TSUV_HOST=0.0.0.0) to accept those connections.",
    ]);
    for (const [argv, env] of [
      [["a", "--host", "0.0.0.0"], { PORT: "8080" }],
      [["a", "--host", "127.0.0.1"], { PORT: "8080" }],
      [["a"], { PORT: "8080", TSUV_HOST: "::" }],
      [["a", "--port", "8080"], { PORT: "8080" }],
      [["a", "--uds", "/tmp/a.sock"], { PORT: "8080" }],
      [["a"], {}],
    ] as const) {
      expect(warnings([...argv], env)).toEqual([]);
    }
  });
  test("forwarded-allow-ips defaults to $FORWARDED_ALLOW_IPS, else 127.0.0.1", () => {
    expect(resolve(["a"]).forwardedAllowIps).toBe("127.0.0.1");
    expect(resolve(["a"], { FORWARDED_ALLOW_IPS: "*" }).forwardedAllowIps).toBe("*");
  });
  test("list options repeat on the CLI and split from the environment", () => {
    const config = resolve(["a", "--header", "x-a: 1, 2", "--header=x-b:3"]);
    expect(config.headers).toEqual([
      ["x-a", "1, 2"],
      ["x-b", "3"],
    ]);
    expect(resolve(["a"], { TSUV_HEADER: "x-a: 1, 2\nx-b: 3" }).headers).toEqual([
      ["x-a", "1, 2"],
      ["x-b", "3"],
    ]);
    expect(resolve(["a"], { TSUV_RELOAD_DIR: "src,lib" }).reloadDir).toEqual(["src", "lib"]);
    // A tab inside, and Latin-1 (one byte each on the wire), are a header value's to hold.
    expect(resolve(["a", "--header", "x-c: caf\u00e9\tok"]).headers).toEqual([["x-c", "caf\u00e9\tok"]]);
  });
  test("a bad env value names the variable", () => {
    expect(() => resolve(["a"], { TSUV_PORT: "http" })).toThrow(
      "Invalid value for 'TSUV_PORT': 'http' is not a valid integer.",
    );
  });
});

describe("the command line, read in one strict pass", () => {
  test("the last of a repeated option wins, as with click", () => {
    expect(resolve(["a", "--port", "1", "--port=2"]).port).toBe(2);
    expect(resolve(["a", "--no-access-log", "--access-log"]).accessLog).toBe(true);
    expect(resolve(["a", "--access-log", "--no-access-log"]).accessLog).toBe(false);
  });
  test("options and the app may come in any order; after -- everything is positional", () => {
    expect(resolve(["--port", "5", "main:app", "--host", "::"]).app).toBe("main:app");
    expect(resolve(["--port", "5", "--", "-odd:app"]).app).toBe("-odd:app");
    expect(() => resolve(["a", "--", "--port"])).toThrow("unexpected extra argument (--port)");
  });
  test("a value may start with one dash, never with two", () => {
    expect(resolve(["a", "--app-dir", "-x"]).appDir).toBe("-x");
    expect(() => resolve(["a", "--app-dir", "--reload"])).toThrow("Option '--app-dir' requires an argument.");
  });
  test("the short alias -h is --help", () => {
    expect(parseOptions(["-h"], {}).help).toBe(true);
  });
});

test("--ws-per-message-deflate also takes uvicorn's BOOLEAN value (its only valued boolean)", () => {
  const deflate = (...flags: string[]) => resolve(["a", ...flags]).wsPerMessageDeflate;
  expect(deflate()).toBe(true);
  expect(deflate("--ws-per-message-deflate")).toBe(true);
  expect(deflate("--no-ws-per-message-deflate")).toBe(false);
  expect(deflate("--ws-per-message-deflate", "false")).toBe(false);
  expect(deflate("--ws-per-message-deflate=0")).toBe(false);
  expect(deflate("--ws-per-message-deflate", "True")).toBe(true);
  // click's short words too (uvicorn's UVICORN_* variables take them): t, f, y, n.
  expect(deflate("--ws-per-message-deflate=f")).toBe(false);
  expect(deflate("--ws-per-message-deflate", "N")).toBe(false);
  expect(resolve(["a"], { TSUV_ACCESS_LOG: "n" }).accessLog).toBe(false);
  expect(resolve(["a"], { TSUV_RELOAD: "Y" }).reload).toBe(true);
  expect(resolve(["a"], { TSUV_PROXY_HEADERS: "f" }).proxyHeaders).toBe(false);
  // The next word is taken only when it is a boolean: here it is the app.
  expect(resolve(["--ws-per-message-deflate", "main:app"]).app).toBe("main:app");
});

test("a choice is read whatever its case: --log-level DEBUG, as Python's logging and gunicorn spell it", () => {
  expect(resolve(["a", "--log-level", "DEBUG"]).logLevel).toBe("debug");
  expect(resolve(["a", "--worker-class", "Thread"]).workerClass).toBe("thread");
  expect(resolve(["a"], { TSUV_LOG_LEVEL: "WARNING" }).logLevel).toBe("warning");
});

describe("usage errors name the flag", () => {
  const cases: [string[], string][] = [
    [["a", "--bogus"], "No such option: --bogus"],
    [["a", "--port", "x"], "'--port': 'x' is not a valid integer"],
    [["a", "--port", "70000"], "'--port': '70000' is not a valid port"],
    [["a", "--workers", "-1"], "'--workers': '-1' is not in the range x>=1"],
    // click's FLOAT is Python's float(): decimal only (Number() took 0x10 as 16).
    [["a", "--timeout-keep-alive", "0x10"], "'--timeout-keep-alive': '0x10' is not a valid number"],
    [["a", "--reload-delay", "0b1"], "'--reload-delay': '0b1' is not a valid number"],
    [["a", "--ws-ping-interval", ""], "'--ws-ping-interval': '' is not a valid number"],
    [["a", "--port"], "Option '--port' requires an argument."],
    [["a", "--reload=yes"], "Option '--reload' does not take a value."],
    [
      ["a", "--access-log=false"],
      "Option '--access-log' does not take a value: use --access-log or --no-access-log.",
    ],
    [
      ["a", "--ws-per-message-deflate=maybe"],
      "'--ws-per-message-deflate': 'maybe' is not a boolean (true/false)",
    ],
    [["a", "--ws-per-message-deflate", "maybe"], "unexpected extra argument (maybe)"],
    [["a", "b"], "unexpected extra argument (b)"],
    [["a", "--log-level", "loud"], "--log-level"],
    // uvicorn's choices of a Python library or interface: said to be that, with what to use here.
    [
      ["a", "--ws", "websockets"],
      "'--ws': 'websockets' is one of uvicorn's Python WebSocket libraries; tsuv uses the runtime's own WebSockets: use auto (the default), none or bun.",
    ],
    [["a", "--ws", "wsproto"], "'wsproto' is one of uvicorn's Python WebSocket libraries"],
    [
      ["a", "--ws", "websockets-sansio"],
      "'websockets-sansio' is one of uvicorn's Python WebSocket libraries",
    ],
    [
      ["a", "--interface", "asgi3"],
      "'--interface': 'asgi3' is a Python interface (uvicorn's); tsuv serves fetch apps (Request -> Response) and node apps ((req, res)): use auto (the default), fetch or node.",
    ],
    [["a", "--interface", "WSGI"], "'WSGI' is a Python interface (uvicorn's)"],
    // A name every object has is no uvicorn value (the table is a plain object).
    [["a", "--ws", "constructor"], "'--ws': 'constructor' is not one of 'auto', 'none', 'bun'."],
    [["a", "--header", "nocolon"], "'--header': 'nocolon' is not NAME:VALUE"],
    // Every runtime's Headers refused these only once a worker was up, each in its own words; Node's
    // took the control character and then answered every request 500.
    [
      ["a", "--header", "x-a: b\x01c"],
      `'--header': "x-a: b\\u0001c" has a character no header value may hold (a control character, or one above U+00FF).`,
    ],
    [["a", "--header", "x-a: b\rc"], `'--header': "x-a: b\\rc" has a character no header value may hold`],
    [["a", "--header", "x-a: a\x7f"], "has a character no header value may hold"],
    [["a", "--header", "x-a: 5 \u20ac"], "has a character no header value may hold"],
    [["a", "--uds", "/tmp/x.sock", "--fd", "3"], "'--uds' and '--fd' are mutually exclusive"],
    [["a", "--ssl-keyfile", "k.pem"], "'--ssl-keyfile' and '--ssl-certfile' must be given together"],
  ];
  for (const [argv, message] of cases) {
    test(argv.join(" "), () => {
      expect(() => resolve(argv)).toThrow(UsageError);
      expect(() => resolve(argv)).toThrow(message);
    });
  }
});

describe("a value checked after parsing names where it came from: the flag, or the variable", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["a", "--header", "nocolon"], { TSUV_HEADER: "x:1" }, "'--header': 'nocolon' is not NAME:VALUE"],
    [["a"], { TSUV_HEADER: "nocolon" }, "'TSUV_HEADER': 'nocolon' is not NAME:VALUE"],
    [["a"], { TSUV_HEADER: "x-a: 1\nx-b: \x01" }, `'TSUV_HEADER': "x-b: \\u0001" has a character`],
    [["a", "--root-path=api"], {}, "'--root-path': 'api' must start with '/'"],
    [["a"], { TSUV_ROOT_PATH: "api" }, "'TSUV_ROOT_PATH': 'api' must start with '/'"],
    [["a"], { TSUV_FORWARDED_ALLOW_IPS: "bad" }, "'TSUV_FORWARDED_ALLOW_IPS': 'bad' is not an IP"],
    [["a"], { FORWARDED_ALLOW_IPS: "bad" }, "'FORWARDED_ALLOW_IPS': 'bad' is not an IP"],
    [
      ["a", "--forwarded-allow-ips=bad"],
      { FORWARDED_ALLOW_IPS: "10.0.0.1" },
      "'--forwarded-allow-ips': 'bad'",
    ],
  ];
  for (const [argv, env, message] of cases) {
    test(`${argv.join(" ")} ${JSON.stringify(env)}`, () => {
      expect(() => resolveConfig(argv, env, { runtime })).toThrow(message);
    });
  }
});

test("an empty TSUV_* value counts as unset, as uvicorn's UVICORN_* (click): defaults, not errors", () => {
  const empty = Object.fromEntries(
    Object.keys(OPTIONS)
      .filter((name) => name !== "app")
      .map((name) => [envVarName(name), ""]),
  );
  const config = resolveConfig(["main:app"], empty, { runtime });
  const defaults = resolveConfig(["main:app"], {}, { runtime });
  expect(config).toEqual(defaults);
  // `TSUV_HOST=${HOST}` with HOST unset bound every interface; an empty boolean turned the log off.
  expect(config.host).toBe("127.0.0.1");
  expect(config.accessLog).toBe(true);
  // The plain fallback variables too, and an empty TSUV_* one does not hide them.
  const fallback = resolveConfig(
    ["main:app"],
    {
      TSUV_FORWARDED_ALLOW_IPS: "",
      FORWARDED_ALLOW_IPS: "10.0.0.0/8",
      TSUV_WORKERS: "",
      WEB_CONCURRENCY: "3",
    },
    { runtime },
  );
  expect(fallback.forwardedAllowIps).toBe("10.0.0.0/8");
  expect(fallback.workers).toBe(3);
  // On the command line an empty value is still a value: `--host ""` is every interface, as uvicorn's.
  expect(resolveConfig(["main:app", "--host", ""], {}, { runtime }).host).toBe("");
});

test("every duration option goes up to a timer's longest (24.8 days), from argv and the environment", () => {
  const durations = Object.entries(OPTIONS).filter(([, spec]) => spec.kind === "float");
  expect(durations.map(([name]) => name).sort()).toEqual([
    "reload-delay",
    "timeout-graceful-shutdown",
    "timeout-keep-alive",
    "timeout-worker-healthcheck",
    "ws-ping-interval",
    "ws-ping-timeout",
  ]);
  for (const [name] of durations) {
    const envName = envVarName(name as keyof typeof OPTIONS);
    expect(() => resolve(["a", `--${name}`, "2147483"])).not.toThrow();
    expect(() => resolve(["a", `--${name}`, "2147483.648"])).toThrow(`is not in the range`);
    expect(() => resolveConfig(["a"], { [envName]: "1e10" }, { runtime })).toThrow(
      `Invalid value for '${envName}': '1e10' is not in the range`,
    );
  }
});

test("--timeout-keep-alive past what the runtime's server can keep (Bun: 255 s) is said, not refused", () => {
  const bun = fakeRuntime({
    name: "bun",
    displayName: "Bun",
    caps: { idleConnectionTimeout: { maxSeconds: 255 } },
  });
  const said = (argv: string[], on = bun) => warningsOf(argv, {}, on);
  expect(said(["a", "--timeout-keep-alive", "255"])).toEqual([]);
  expect(said(["a", "--timeout-keep-alive", "620"])).toEqual([
    "--timeout-keep-alive 620: Bun's server closes an idle connection after 255 s at most, so idle connections close after 255 s. A load balancer in front must close its idle connections first (its idle timeout under 255 s), or it may send a request on one as it closes and answer 502.",
  ]);
  expect(said(["a", "--timeout-keep-alive", "620"], runtime)).toEqual([]);
});

test("--reload-dir, --reload-include, --reload-exclude and --reload-delay without --reload are said to do nothing, as uvicorn says", () => {
  expect(warningsOf(["a", "--reload-dir", "src"])).toEqual([
    "--reload-dir has no effect without --reload: this server will not reload.",
  ]);
  expect(
    warningsOf(["a", "--reload-include", "*.sql", "--reload-exclude", "tmp/*"], { TSUV_RELOAD_DELAY: "1" }),
  ).toEqual([
    "--reload-include, --reload-exclude, --reload-delay have no effect without --reload: this server will not reload.",
  ]);
  expect(warningsOf(["a", "--reload", "--reload-dir", "src", "--reload-delay", "1"])).toEqual([]);
  expect(warningsOf(["a"])).toEqual([]);
});

test("--host or --port given with --uds or --fd is said to be unused; $PORT is not", () => {
  expect(warningsOf(["a", "--uds", "/tmp/t.sock", "--port", "9000"])).toEqual([
    "--port is not used: tsuv listens on the unix socket --uds /tmp/t.sock and nothing else.",
  ]);
  expect(warningsOf(["a", "--fd", "3"], { TSUV_HOST: "0.0.0.0", TSUV_PORT: "80" })).toEqual([
    "--host and --port are not used: tsuv serves on the inherited socket --fd 3 and nothing else.",
  ]);
  // A platform's PORT, and the defaults, say nothing.
  expect(warningsOf(["a", "--uds", "/tmp/t.sock"], { PORT: "8080" })).toEqual([]);
  expect(warningsOf(["a", "--host", "0.0.0.0", "--port", "9000"])).toEqual([]);
});

test("--timeout-keep-alive where the server has no idle timeout (Deno) is said, not refused", () => {
  const deno = fakeRuntime({ name: "deno", displayName: "Deno", caps: { idleConnectionTimeout: "never" } });
  const said = (argv: string[], env: Record<string, string> = {}, on = deno) => warningsOf(argv, env, on);
  const noEffect =
    "--timeout-keep-alive has no effect on Deno: its server has no idle timeout, so a kept-alive connection stays open until the client closes it (denoland/deno#32497).";
  expect(said(["a", "--timeout-keep-alive", "10"])).toEqual([noEffect]);
  expect(said(["a"], { TSUV_TIMEOUT_KEEP_ALIVE: "0" })).toEqual([noEffect]);
  // Not given: nothing to say (the default is not the user's request).
  expect(said(["a"])).toEqual([]);
  expect(said(["a", "--timeout-keep-alive", "10"], {}, runtime)).toEqual([]);
});

test("--backlog where the runtime's server keeps its own (Bun: 512; Deno on a unix socket: 1024) is said, not refused", () => {
  const bun = fakeRuntime({
    name: "bun",
    displayName: "Bun",
    caps: { fixedBacklog: { tcp: 512, unix: 512 } },
  });
  const deno = fakeRuntime({
    name: "deno",
    displayName: "Deno",
    caps: { fixedBacklog: { tcp: null, unix: 1024 } },
  });
  const said = (argv: string[], on: typeof bun, env: Record<string, string> = {}) =>
    warningsOf(argv, env, on);
  const onBun = "--backlog 4096 has no effect on Bun: its server takes no backlog and listens with 512.";
  expect(said(["a", "--backlog", "4096"], bun)).toEqual([onBun]);
  expect(said(["a"], bun, { TSUV_BACKLOG: "4096" })).toEqual([onBun]);
  expect(said(["a", "--backlog", "100", "--uds", "/tmp/t.sock"], bun)).toEqual([
    "--backlog 100 has no effect on Bun: its server takes no backlog and listens with 512.",
  ]);
  // The default, or the very value the server keeps, says nothing.
  expect(said(["a"], bun)).toEqual([]);
  expect(said(["a", "--backlog", "512"], bun)).toEqual([]);
  // Deno takes a TCP backlog; on a unix socket it cannot.
  expect(said(["a", "--backlog", "100"], deno)).toEqual([]);
  expect(said(["a", "--backlog", "100", "--uds", "/tmp/t.sock"], deno)).toEqual([
    "--backlog 100 has no effect on Deno with --uds: its server takes no backlog for a unix socket and listens with 1024.",
  ]);
  expect(said(["a", "--backlog", "100", "--uds", "/tmp/t.sock"], runtime)).toEqual([]);
});

test("files named by options must exist (exit 1 with the path)", () => {
  const exists = (path: string) => !path.includes("missing");
  const check = (argv: string[]) => () => resolveConfig(argv, {}, { runtime, exists });
  expect(check(["a", "--env-file", "missing.env"])).toThrow("--env-file: file not found: missing.env");
  expect(check(["a", "--uds", "/missing/dir/s.sock"])).toThrow(
    "--uds: directory does not exist: /missing/dir",
  );
  expect(check(["a", "--ssl-keyfile", "missing.key", "--ssl-certfile", "c"])).toThrow(ConfigError);
});

test("--fd is refused with the reason where the runtime cannot listen on an fd", () => {
  const bun = fakeRuntime({ name: "bun", displayName: "Bun", caps: { listenOnFd: false } });
  expect(() => resolve(["a", "--fd", "3"], {}, bun)).toThrow(
    "--fd requires a runtime that can listen on an inherited socket; Bun cannot",
  );
});

test("defaults come from the option table", () => {
  const values = parseOptions([], {});
  expect(values.host).toBe("127.0.0.1");
  expect(values.port).toBe(8000);
  expect(values.backlog).toBe(2048);
  expect(values.workerClass).toBe("process");
  expect(values.timeoutWorkerHealthcheck).toBe(5);
  expect(values.timeoutKeepAlive).toBe(5);
  expect(values.accessLog).toBe(true);
  expect(Object.keys(OPTIONS).length).toBeGreaterThan(40);
});

test("a TSUV_* variable that names no setting is ignored with a warning, the closest one named", () => {
  const warnings: string[] = [];
  const env = {
    TSUV_WORKER: "4", // a typo of TSUV_WORKERS
    TSUV_FROBNICATE: "1", // nothing close
    TSUV_PORT: "9000", // a setting
    TSUV_CACHE_DIR: "/tmp/x", // read by Node's TypeScript cache, not an option
    TSUV_WORKER_BOOT: "", // empty: unset
    OTHER_WORKER: "1", // not ours
  };
  const config = resolveConfig(["a"], env, { runtime, warn: (message) => warnings.push(message) });
  expect(config.workers).toBe(1);
  expect(config.port).toBe(9000);
  expect(warnings).toEqual([
    "TSUV_WORKER is set, but tsuv has no such setting: ignored. Did you mean TSUV_WORKERS?",
    "TSUV_FROBNICATE is set, but tsuv has no such setting: ignored.",
  ]);
});

test("Kubernetes' service links for Services named tsuv and tsuv-app are no settings: left alone, TSUV_PORT's said", () => {
  const warnings: string[] = [];
  const link = (ip: string) => ({ url: `tcp://${ip}:8000`, ip });
  const tsuv = link("10.96.0.12");
  const app = link("10.96.0.13");
  const env = {
    PORT: "8080",
    TSUV_SERVICE_HOST: tsuv.ip,
    TSUV_SERVICE_PORT: "8000",
    TSUV_PORT: tsuv.url,
    TSUV_PORT_8000_TCP: tsuv.url,
    TSUV_PORT_8000_TCP_PROTO: "tcp",
    TSUV_PORT_8000_TCP_PORT: "8000",
    TSUV_PORT_8000_TCP_ADDR: tsuv.ip,
    TSUV_APP_SERVICE_HOST: app.ip,
    TSUV_APP_SERVICE_PORT: "8000",
    TSUV_APP_SERVICE_PORT_HTTP: "8000",
    TSUV_APP_PORT: app.url,
    TSUV_APP_PORT_8000_TCP: app.url,
    TSUV_APP_PORT_8000_TCP_PROTO: "tcp",
    TSUV_APP_PORT_8000_TCP_PORT: "8000",
    TSUV_APP_PORT_8000_TCP_ADDR: app.ip,
  };
  const config = resolveConfig(["a", "--host", "0.0.0.0"], env, {
    runtime,
    warn: (message) => warnings.push(message),
  });
  expect(config.port).toBe(8080); // TSUV_PORT unset, so $PORT
  expect(warnings).toEqual([
    "TSUV_PORT is tcp://10.96.0.12:8000, the variable Kubernetes sets for a Service named tsuv (a service link), not a setting: ignored. Rename the Service, or set enableServiceLinks: false in the pod spec.",
  ]);
  // A port that is not a link's URL is still a setting, and still checked.
  expect(() => resolveConfig(["a"], { TSUV_PORT: "http://x" }, { runtime })).toThrow(
    "Invalid value for 'TSUV_PORT': 'http://x' is not a valid integer.",
  );
});

test("an environment that cannot be listed (Deno with --allow-env=TSUV_*) is not checked", () => {
  const warnings: string[] = [];
  const unlistable = new Proxy({ TSUV_PORT: "9000" } as Record<string, string | undefined>, {
    ownKeys: () => {
      throw new Error("NotCapable: Requires env access to all, run again with the --allow-env flag");
    },
  });
  const config = resolveConfig(["a"], unlistable, { runtime, warn: (message) => warnings.push(message) });
  expect(config.port).toBe(9000);
  expect(warnings).toEqual([]);
});
