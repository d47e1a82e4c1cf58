/**
 * `--fd N` names a listening socket tsuv inherits (systemd socket activation passes the first as
 * fd 3). Node's `listen({ fd })` on anything else says only `listen EINVAL`, `ENOTSOCK` or (threads)
 * `open EINVAL`, and with workers the parent never listened itself, so each worker failed instead,
 * under its own number for the descriptor, and process workers on a closed one were restarted over
 * and over. So the parent checks first, and these name the descriptor and what to fix.
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { nodeFs } from "./builtin.ts";

const HINT =
  "--fd takes a listening stream socket that tsuv inherits (systemd: a .socket unit with ListenStream= and Accept=no; its first socket is fd 3).";

/** What an fstat says a descriptor is, for the error; null for a socket. */
function kindOtherThanSocket(stat: import("node:fs").Stats): string | null {
  if (stat.isSocket()) return null;
  if (stat.isFile()) return "a regular file";
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a pipe";
  if (stat.isCharacterDevice()) return "a character device (a terminal, /dev/null)";
  if (stat.isBlockDevice()) return "a block device";
  return "not a socket";
}

/** Throws a ConfigError (exit 1) when `fd` is not open or is not a socket. */
export function checkInheritedSocket(fd: number): void {
  let stat: import("node:fs").Stats;
  try {
    stat = nodeFs().fstatSync(fd);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EBADF") throw new ConfigError(`--fd ${fd}: no file descriptor ${fd} is open. ${HINT}`);
    throw new ConfigError(`--fd ${fd}: ${errorMessage(error)}`);
  }
  const kind = kindOtherThanSocket(stat);
  if (kind !== null)
    throw new ConfigError(`--fd ${fd}: file descriptor ${fd} is ${kind}, not a socket. ${HINT}`);
}

/**
 * A socket that Node cannot take or listen on: EINVAL is a connected socket (Accept=yes hands
 * tsuv one connection) or a datagram one (ListenDatagram=).
 */
export function inheritedSocketError(fd: number, error: unknown): ConfigError {
  const code = (error as { code?: unknown }).code;
  const why = code === "EINVAL" ? ": it is a connected socket or not a stream socket" : "";
  return new ConfigError(`--fd ${fd}: cannot listen on this socket (${errorMessage(error)})${why}. ${HINT}`);
}
