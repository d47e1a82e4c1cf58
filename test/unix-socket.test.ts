/**
 * `--uds PATH` where a socket file is already there. A stale one (its server was killed) is removed
 * and bound again, as uvicorn does; one that a live server still listens on is refused (exit 1), as
 * a port in use is: taking it over left the old server running unreachable, and its stop then
 * removed the new one's file (Node's libuv, Bun and Deno unlink the path when a listener closes).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAllStarted, start } from "./helpers/spawn.ts";
import { killAll, ROOT, RUNTIMES, startTsuv, tsuvCommand } from "./helpers/tsuv.ts";

const APP = join(ROOT, "test", "fixtures", "apps", "behaviour.ts");
const DIR = mkdtempSync(join(tmpdir(), "tsuv-uds-"));
let count = 0;
const socketPath = () => join(DIR, `s${++count}.sock`);

afterEach(killAllStarted);
afterAll(async () => {
  await killAll();
  rmSync(DIR, { recursive: true, force: true });
});

/** A socket file with nobody behind it: what a server killed with SIGKILL leaves. */
function staleSocket(path: string): void {
  const made = Bun.spawnSync([
    "python3",
    "-c",
    "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
    path,
  ]);
  expect(made.exitCode).toBe(0);
  expect(existsSync(path)).toBe(true);
}

/** Another server listening on `path`, answering every connection with "other". */
async function otherServer(path: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.on("error", () => {}); // tsuv's check connects and closes at once: EPIPE here.
    socket.end("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nother");
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

/** Runs a tsuv that must exit 1; its error lines (and any stack-trace line). */
async function errorLines(command: string[]): Promise<string[]> {
  const running = start(command, { cwd: DIR, env: { ...process.env, NO_COLOR: "1" } });
  expect(await running.exited).toBe(1);
  return running
    .output()
    .split("\n")
    .filter((line) => /ERROR|Error| {4}at /.test(line));
}

const body = async (path: string) => (await fetch("http://localhost/", { unix: path } as RequestInit)).text();

describe.each(RUNTIMES)("%s --uds", (runtime) => {
  test("a stale socket file is replaced, and the server serves on it", async () => {
    const path = socketPath();
    staleSocket(path);
    const server = await startTsuv(runtime, [`${APP}:app`, "--uds", path]);
    expect(await body(path)).toBe("Hello, world!");
    await server.kill();
  });

  // Root here (CI runs as root): a read-only bind mount of the socket's folder, in a mount namespace.
  test.skipIf(process.getuid?.() !== 0)(
    "a socket file that cannot be removed (read-only folder): exit 1 with one line, no stack",
    async () => {
      const dir = mkdtempSync(join(DIR, "ro-"));
      const path = join(dir, "s.sock");
      staleSocket(path);
      const readOnly = `mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"`;
      const command = [
        "unshare",
        "-m",
        "sh",
        "-c",
        readOnly,
        dir,
        ...tsuvCommand(runtime),
        `${APP}:app`,
        "--uds",
        path,
      ];
      expect(await errorLines(command)).toEqual([
        `ERROR:    error while attempting to bind on address '${path}': a socket file is there and cannot be removed (EROFS: read-only file system, unlink '${path}'); remove it, or choose another --uds path.`,
      ]);
    },
    20_000,
  );

  test("a live socket whose server stops within the grace (a killed tsuv's orphaned workers) is taken", async () => {
    const path = socketPath();
    const other = await otherServer(path);
    const starting = startTsuv(runtime, [`${APP}:app`, "--uds", path]);
    await Bun.sleep(500);
    other.close();
    const server = await starting;
    expect(await body(path)).toBe("Hello, world!");
    await server.kill();
  });

  const refusals: string[][] = [[]];
  if (runtime === "node24") refusals.push(["--workers", "2"], ["--workers", "2", "--worker-class", "thread"]);
  if (runtime !== "node20") refusals.push(["--reload"]);
  for (const extra of refusals) {
    test(`a socket another server listens on is refused (exit 1), and left to it${extra.map((arg) => ` ${arg}`).join("")}`, async () => {
      const path = socketPath();
      const other = await otherServer(path);
      try {
        expect(await errorLines([...tsuvCommand(runtime), `${APP}:app`, "--uds", path, ...extra])).toEqual([
          `ERROR:    error while attempting to bind on address '${path}': another server is listening on this socket; stop it first, or choose another --uds path.`,
        ]);
        expect(await body(path)).toBe("other");
      } finally {
        other.close();
      }
    }, 20_000);
  }
});
