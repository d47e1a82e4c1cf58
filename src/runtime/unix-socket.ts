/**
 * Unix socket file handling around a bind: a stale socket file left by a crashed server is removed
 * before binding, the socket is made 0666 so a proxy running as another user (nginx) can connect,
 * and the file is removed when the server closes.
 *
 * Unlike asyncio (uvicorn's single server, which unlinks any socket file at the path), a socket a
 * live server still listens on is not taken over: the new server would get the path's connections
 * while the old one went on running unreachable, and the old one's stop then removed the new one's
 * file. It is refused, as a port in use is. tsuv itself removes the file at the end only while it
 * is still the one it bound; but Node (libuv's uv__pipe_close), Bun and Deno unlink the path when
 * a listener closes, whoever's file it is by then, so a file deleted under a running server and
 * bound again by another is still lost when the first one stops.
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { nodeFs as fs, lazyBuiltin } from "./builtin.ts";
import { webTimerAfter } from "./web-timer.ts";

/** The part of Deno's API used here (declared locally so tsc and deno check agree on this file). */
declare const Deno:
  | {
      connect(options: { transport: "unix"; path: string }): Promise<{ close(): void }>;
      errors: { WouldBlock: new () => Error };
    }
  | undefined;

const net = lazyBuiltin<typeof import("node:net")>("node:net");

/** Inode of each socket file this thread bound, by path: whose file it is at the end. */
const bound = new Map<string, number>();

/**
 * Does a server accept connections on the socket at `path`? A connection (or EAGAIN: a full
 * backlog) says yes; refused says no; anything else (no permission to connect) cannot tell, and
 * counts as no, as it did before this check.
 */
async function someoneListens(path: string): Promise<boolean> {
  if (typeof Deno !== "undefined") {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return true;
    } catch (error) {
      return error instanceof Deno.errors.WouldBlock;
    }
  }
  return await new Promise<boolean>((resolve) => {
    const socket = net().connect({ path });
    // A connect to a unix socket is answered at once; a server that never accepts still queues it.
    const cancel = webTimerAfter(1000, () => done(true));
    const done = (listens: boolean) => {
      cancel();
      socket.destroy();
      resolve(listens);
    };
    socket.once("connect", () => done(true));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "EAGAIN"));
  });
}

/**
 * How long a live socket may take to go away before it is refused: a previous tsuv killed with
 * SIGKILL leaves its process workers listening until they notice, within ORPHAN_EXIT_MS (1 s,
 * worker.ts; measured 21-162 ms, docs/reliability.md case 6), and a supervisor that restarts it at
 * once (RestartSec=100ms) must not be told to stop for good (exit 1 is in the units'
 * RestartPreventExitStatus).
 */
export const LIVE_SOCKET_GRACE_MS = 2000;
const PROBE_INTERVAL_MS = 100;

const isSocketFile = (path: string): boolean => {
  try {
    return fs().lstatSync(path).isSocket();
  } catch {
    return false; // Not there.
  }
};

/**
 * Before binding `path`: a socket file nobody listens on is removed; one a live server still
 * listens on after LIVE_SOCKET_GRACE_MS is refused (exit 1). Anything else there (a regular file
 * someone pointed --uds at by mistake) is left, and the bind reports EADDRINUSE.
 */
export async function claimSocketPath(path: string): Promise<void> {
  const deadline = Date.now() + LIVE_SOCKET_GRACE_MS;
  for (;;) {
    if (!isSocketFile(path)) return;
    if (!(await someoneListens(path))) break;
    if (Date.now() >= deadline) {
      throw new ConfigError(
        `error while attempting to bind on address '${path}': another server is listening on this socket; stop it first, or choose another --uds path.`,
      );
    }
    // setTimeout, not webTimerAfter: Node's AbortSignal.timeout does not hold the event loop open.
    await new Promise<void>((done) => setTimeout(done, PROBE_INTERVAL_MS));
  }
  try {
    fs().unlinkSync(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return;
    // Another user's file in a sticky /tmp (that user's server may be live: a socket we may not
    // connect to counts as free above), a directory tsuv cannot write to, a read-only mount.
    throw new ConfigError(
      `error while attempting to bind on address '${path}': a socket file is there and cannot be removed (${errorMessage(error)}); remove it, or choose another --uds path.`,
    );
  }
}

/** After bind: rw for everyone (the umask made it 0755 or so), and remembered as this server's. */
export function makeSocketWorldWritable(path: string): void {
  fs().chmodSync(path, 0o666);
  bound.set(path, fs().lstatSync(path).ino);
}

/**
 * After close: Bun and Deno remove the file themselves on a graceful stop, not always on a forced
 * one. Only a file this server bound is removed: one that replaced it is another server's.
 */
export function removeSocketFile(path: string): void {
  const inode = bound.get(path);
  if (inode === undefined) return;
  bound.delete(path);
  try {
    const stat = fs().lstatSync(path);
    if (stat.isSocket() && stat.ino === inode) fs().unlinkSync(path);
  } catch {
    // Already gone.
  }
}
