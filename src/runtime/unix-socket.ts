/**
 * Unix socket file handling around a bind, as uvicorn (asyncio) does it: a stale socket file left
 * by a crashed server is removed before binding, the socket is made 0666 so a proxy running as
 * another user (nginx) can connect, and the file is removed when the server closes.
 */
import { nodeFs as fs } from "./builtin.ts";

/** Remove `path` if it is a socket (never a regular file someone pointed --uds at by mistake). */
export function removeStaleSocket(path: string): void {
  try {
    if (fs().lstatSync(path).isSocket()) fs().rmSync(path, { force: true });
  } catch {
    // Not there: nothing to remove.
  }
}

/** After bind: rw for everyone (the umask made it 0755 or so). */
export function makeSocketWorldWritable(path: string): void {
  fs().chmodSync(path, 0o666);
}

/** After close: Bun and Deno remove the file themselves on a graceful stop, not always on a forced one. */
export function removeSocketFile(path: string): void {
  removeStaleSocket(path);
}
