/**
 * Fault case 9: a burst of connections past the process's open-file limit (EMFILE at accept), on
 * every runtime: one worker, two of each class, and a node-interface app. tsuv starts under `ulimit -n 64`; 150
 * connections each send a GET and are held 1.5 s, then closed. Asserted: the burst did reach the
 * limit (not every connection was answered), afterwards every worker answers again within 10 s,
 * SIGTERM still stops the server with exit 0, and its log has no unhandled error.
 *
 * How each runtime takes the burst (docs/reliability.md, case 9): Node accepts the connections over
 * the limit and closes them at once (libuv's EMFILE trick), Bun leaves them waiting in the backlog,
 * and Deno.serve stops listening altogether: tsuv logs it and binds again after 1 s
 * (src/runtime/deno-listener.ts), which the Deno rows assert from the log. Before that, the Deno
 * server lived on with nothing listening.
 * Figures: one `[fault] ...` line per test.
 */
import { afterEach, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { killAll, RUNTIMES, startTsuv, waitIdentities } from "../helpers/tsuv.ts";
import { APP, report } from "./harness.ts";

const SLOW = 60_000;
const OPEN_FILE_LIMIT = 64;
const BURST = 150;
const HOLD_MS = 1500;
const RECOVER_WITHIN_MS = 10_000;

afterEach(async () => {
  await killAll();
});

interface BurstResult {
  answered: number;
  /** Connections reset or closed by the server without an answer. */
  cut: number;
}

/** BURST connections, each sending one GET; held HOLD_MS, then destroyed. */
async function burst(port: number): Promise<BurstResult> {
  const sockets: Socket[] = [];
  let answered = 0;
  let cut = 0;
  for (let i = 0; i < BURST; i++) {
    const socket = connect(port, "127.0.0.1");
    let gotAnswer = false;
    socket.on("data", (data) => {
      if (!gotAnswer && data.toString("latin1").startsWith("HTTP/1.1 200")) {
        gotAnswer = true;
        answered++;
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (!gotAnswer) cut++;
    });
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    sockets.push(socket);
  }
  await Bun.sleep(HOLD_MS);
  const result = { answered, cut };
  for (const socket of sockets) socket.destroy();
  return result;
}

/** Time until GET / answers 200 again, or null past RECOVER_WITHIN_MS. */
async function recovery(base: string): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < RECOVER_WITHIN_MS) {
    try {
      const response = await fetch(`${base}/`, { signal: AbortSignal.timeout(2000) });
      await response.text();
      if (response.status === 200) return Math.round(performance.now() - started);
    } catch {
      // refused (Deno between listeners) or cut: try again
    }
    await Bun.sleep(50);
  }
  return null;
}

const NODE_APP = "test/fixtures/apps/node-app.ts";
const SETUPS = [
  { label: "one worker", app: APP, workers: 1, args: [] },
  {
    label: "two process workers",
    app: APP,
    workers: 2,
    args: ["--workers", "2", "--worker-class", "process"],
  },
  { label: "two thread workers", app: APP, workers: 2, args: ["--workers", "2", "--worker-class", "thread"] },
  { label: "a node-interface app", app: NODE_APP, workers: 1, args: ["--interface", "node"] },
];

/**
 * Pinned: Deno's node:http (its node:net) never accepts again after an EMFILE, and reports nothing:
 * no 'error' event, the port still open, connections left in the backlog (Deno 2.9.6, raw
 * node:http too; not filed upstream). tsuv cannot see it. When Deno fixes it, this row fails.
 */
const neverAcceptsAgain = (runtime: string, label: string) =>
  runtime === "deno" && label === "a node-interface app";

for (const runtime of RUNTIMES) {
  for (const setup of SETUPS) {
    test(
      `${runtime}, ${setup.label}: a burst past the open-file limit, then ${
        neverAcceptsAgain(runtime, setup.label)
          ? "no more accepts (Deno's node:http, pinned)"
          : "serving again"
      }`,
      async () => {
        const t = await startTsuv(
          runtime,
          [setup.app, "--port", "0", "--no-access-log", "--timeout-graceful-shutdown", "1", ...setup.args],
          { openFileLimit: OPEN_FILE_LIMIT },
        );
        await waitIdentities(t.url, setup.workers);
        const { answered, cut } = await burst(t.port);
        if (neverAcceptsAgain(runtime, setup.label)) {
          await Bun.sleep(1000);
          const late = await fetch(`${t.url}/`, { signal: AbortSignal.timeout(3000) }).then(
            (response) => response.status,
            (error: Error) => error.name,
          );
          report(`open-files ${runtime} ${setup.label}`, { answered, cut, late });
          expect(answered).toBeLessThan(BURST);
          expect(late).toBe("TimeoutError");
          return;
        }
        const recoveredMs = await recovery(t.url);
        // Every worker serves again, not just one.
        const workersAfter = (await waitIdentities(t.url, setup.workers, RECOVER_WITHIN_MS)).size;
        // And still stops cleanly: Deno's new listener is the one shut down.
        t.signal("SIGTERM");
        const exitCode = await t.exited;
        const log = t.stdout() + t.stderr();
        report(`open-files ${runtime} ${setup.label}`, { answered, cut, recoveredMs, workersAfter });
        const context = `answered ${answered}, cut ${cut}\n${log}`;
        // The burst reached the limit: not every connection was answered.
        expect(answered, context).toBeLessThan(BURST);
        expect(recoveredMs, context).not.toBeNull();
        expect(log).not.toContain("Unhandled");
        expect(exitCode, context).toBe(0);
        if (runtime === "deno") {
          expect(log).toMatch(
            /ERROR: +Stopped accepting connections: .*Too many open files \(os error 24\)\. The process reached its open-file limit: raise it \(ulimit -n, or LimitNOFILE= under systemd\)\. Trying again in 1 s\./,
          );
          expect(log).toContain("Accepting connections again.");
        }
      },
      SLOW,
    );
  }
}
