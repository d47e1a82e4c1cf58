// Signals around a single server's life, real tsuv on every runtime (src/server.ts):
// - a startup hook that hangs must not make CTRL+C useless: the first SIGINT says the server waits
//   for the startup to finish, a second one exits at once (unlessForced);
// - an import that hangs is not waited for at all: the first SIGINT or SIGTERM exits, as uvicorn's
//   (whose signal handlers come after the import) does; a worker a supervisor stops while it loads
//   does not wait for the import either, and says "Finished server process" as every server does;
// - a drain cut short by the timeout names what it cut, a streamed response included;
// - SIGHUP (systemctl reload, logrotate, a terminal closing) cuts no request: a single server stops
//   gracefully (by default it would die at once) unless SIGHUP was ignored when it started (nohup),
//   and with a supervisor a hangup of the whole process group leaves the restart to the supervisor.
import { afterEach, describe, expect, test } from "bun:test";
import { hangupIgnoredIn } from "../src/runtime/process-basics.ts";
import {
  childPids,
  killAll,
  logCount,
  RUNTIMES,
  type RunningTsuv,
  startTsuv,
  waitLog,
} from "./helpers/tsuv.ts";

afterEach(killAll);

describe.each(RUNTIMES)("%s: signals during application startup", (runtime) => {
  test("a second SIGINT exits while the startup hook hangs", async () => {
    const server = await startTsuv(runtime, ["test/fixtures/apps/hanging-startup.ts", "--port", "0"], {
      waitReady: false,
    });
    await server.waitFor(/startup hook began/);
    server.signal("SIGINT");
    await server.waitFor(/waiting for application startup to finish \(CTRL\+C again forces\)/);
    server.signal("SIGINT");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("Forced exit during application startup.");
    expect(server.stderr()).toContain("Finished server process");
  });
});

describe.each(RUNTIMES)("%s: workers stopped while the app is still loading", (runtime) => {
  // A supervisor's stop reaches a worker as a request, not as the signal's default action: the
  // worker does not wait for the import, and its "Started server process" line gets its "Finished"
  // one (a CI run once counted 2 started and 1 finished when SIGTERM came as a worker loaded).
  for (const workerClass of ["process", "thread"]) {
    test(`${workerClass} workers: every Started line has its Finished line, exit 0`, async () => {
      const args = ["--port", "0", "--workers", "2", "--worker-class", workerClass];
      const server = await startTsuv(runtime, ["test/fixtures/apps/hanging-import.ts", ...args], {
        waitReady: false,
      });
      await waitLog(server, /import began/, 2);
      server.signal("SIGTERM");
      const exited = await Promise.race([server.exited, Bun.sleep(10_000).then(() => "still running")]);
      expect({
        exited,
        stopped: logCount(server, /Shutdown requested while the app was still loading/),
        finished: logCount(server, /Finished server process/),
      }).toEqual({ exited: 0, stopped: 2, finished: 2 });
    });
  }
});

describe.each(RUNTIMES)("%s: signals while the app is still loading", (runtime) => {
  // tsuv listens for stop signals once the app's import is done (run.ts): until then the signal's
  // default action ends the process at once, as uvicorn's, whether the import awaits something that
  // never comes or is stuck in a loop that never gives the event loop back (a listener would wait
  // for that loop forever: before, both signals then did nothing).
  const IMPORTS = [
    { fixture: "test/fixtures/apps/hanging-import.ts", hang: "awaits forever", began: /import began/ },
    { fixture: "test/fixtures/apps/stuck-import.ts", hang: "never yields", began: /import began/ },
  ];
  for (const { fixture, hang, began } of IMPORTS) {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      test(`one ${signal} ends it at once while the import ${hang}`, async () => {
        const server = await startTsuv(runtime, [fixture, "--port", "0"], { waitReady: false });
        await server.waitFor(began);
        await Bun.sleep(200);
        server.signal(signal);
        const exited = await Promise.race([server.exited, Bun.sleep(5000).then(() => "still running")]);
        expect(exited).toBe(code);
        expect(server.stderr()).not.toContain("Forced exit during application startup.");
      });
    }
  }
});

describe.each(RUNTIMES)("%s: a drain that times out", (runtime) => {
  test("says it cuts a response still streaming when no handler is running", async () => {
    const server = await startTsuv(runtime, [
      "test/fixtures/apps/behaviour.ts:app",
      "--port",
      "0",
      "--timeout-graceful-shutdown",
      "1",
    ]);
    const response = await fetch(`${server.url}/stream?ms=5000`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first chunk: the app has returned, the body goes on
    server.signal("SIGTERM");
    expect(await server.exited).toBe(0);
    reader.cancel().catch(() => {});
    expect(server.stderr()).toContain(
      "Close the connections still sending a response, timeout graceful shutdown exceeded",
    );
    expect(server.stderr()).not.toContain("Cancel 0");
  });
});

/** A /stream response (three chunks, 400 ms apart) whose first chunk has come: the app has answered. */
async function streamInFlight(server: RunningTsuv): Promise<() => Promise<string>> {
  const response = await fetch(`${server.url}/stream?ms=400`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  return async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += decoder.decode(value, { stream: true });
      }
    } catch (error) {
      return `${text}<cut: ${(error as Error).message}>`;
    }
  };
}

const COMPLETE = "chunk0\nchunk1\nchunk2\n";

test("hangupIgnoredIn reads bit 0 (SIGHUP) of /proc/self/status's SigIgn mask", () => {
  const status = (mask: string) => `Name:\tbun\nSigBlk:\t0000000000000001\nSigIgn:\t${mask}\nSigCgt:\t0\n`;
  expect(hangupIgnoredIn(status("0000000001001007"))).toBe(true); // nohup, in a background job
  expect(hangupIgnoredIn(status("0000000000001004"))).toBe(false); // SIGQUIT, SIGPIPE ignored
  expect(hangupIgnoredIn(status("0000000000000000"))).toBe(false);
  expect(hangupIgnoredIn("Name:\tnode\n")).toBeUndefined();
  expect(hangupIgnoredIn(undefined)).toBeUndefined(); // no /proc (macOS)
});

describe.each(RUNTIMES)("%s: SIGHUP", (runtime) => {
  test("a single server stops gracefully: the response going out is finished, exit 0", async () => {
    const server = await startTsuv(runtime, ["test/fixtures/apps/behaviour.ts:app", "--port", "0"]);
    const rest = await streamInFlight(server);
    server.signal("SIGHUP");
    expect(await rest()).toBe(COMPLETE);
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain(
      "Received SIGHUP: a single server cannot restart itself, so it stops gracefully.",
    );
    expect(server.stderr()).toContain("Finished server process");
  });

  if (runtime !== "deno") {
    // Deno's signal listeners cannot be counted: there a SIGHUP stops the server as above.
    test("an app that listens for SIGHUP itself (logrotate's log reopening) keeps serving", async () => {
      const server = await startTsuv(runtime, ["test/fixtures/apps/own-sighup.ts", "--port", "0"]);
      server.signal("SIGHUP");
      await Bun.sleep(300);
      expect(await (await fetch(`${server.url}/`)).text()).toBe("reopened 1");
      expect(server.stderr()).not.toContain("Received SIGHUP");
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
    });
  }

  test("SIGHUP ignored when the server started (trap '' HUP, as nohup) is not undone where the runtime keeps it", async () => {
    const server = await startTsuv(runtime, ["test/fixtures/apps/behaviour.ts:app", "--port", "0"], {
      ignoreHangup: true,
    });
    server.signal("SIGHUP");
    if (runtime === "bun") {
      // Bun keeps the ignored disposition: the server serves on, having said nothing.
      await Bun.sleep(300);
      expect(await (await fetch(`${server.url}/`)).text()).toBe("Hello, world!");
      expect(server.stderr()).not.toContain("Received SIGHUP");
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
    } else {
      // Node and Deno reset every signal to its default at start-up (nohup cannot protect them; raw
      // `nohup node` dies of SIGHUP too): the server stops, gracefully.
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toContain("Received SIGHUP: a single server cannot restart itself");
    }
  });

  for (const mode of [["--workers", "2"], ["--reload"]]) {
    test(`${mode.join(" ")}: a hangup of the whole process group cuts no response (the workers leave it to the supervisor)`, async () => {
      const server = await startTsuv(runtime, [
        "test/fixtures/apps/behaviour.ts:app",
        "--port",
        "0",
        ...mode,
        "--no-access-log",
      ]);
      const rest = await streamInFlight(server);
      // As a terminal closing signals the foreground process group: the supervisor and its workers.
      for (const pid of [server.pid, ...childPids(server)]) process.kill(pid, "SIGHUP");
      expect(await rest()).toBe(COMPLETE);
      expect(server.stdout() + server.stderr()).not.toMatch(/died|exited unexpectedly/);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
    });
  }
});
