/**
 * `--fd N` names a socket tsuv inherits (systemd socket activation passes the first as fd 3).
 * Checked before anything listens on it: Node's `listen({ fd })` on a closed descriptor or on a
 * file says only `listen EINVAL` or `ENOTSOCK`, and with workers the parent never listens itself,
 * so each worker failed instead: a process worker under its own descriptor number (the child's
 * copy), a thread with `open EINVAL`, and a closed one was restarted over and over.
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { nodeFs } from "./builtin.ts";

const HINT = "--fd takes a listening socket that tsuv inherits (with systemd socket activation, the first is fd 3).";

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
  if (kind !== null) throw new ConfigError(`--fd ${fd}: file descriptor ${fd} is ${kind}, not a socket. ${HINT}`);
}
