/**
 * Kernel settings tsuv gives advice on, read from /proc (Linux; all three runtimes have node:fs).
 * The advice itself is a pure function in support.ts.
 */
import { readFileSync } from "node:fs";

export const TCP_MIGRATE_REQ_PATH = "/proc/sys/net/ipv4/tcp_migrate_req";

/** net.ipv4.tcp_migrate_req ("0" or "1"), or undefined where it cannot be read (not Linux, < 5.14). */
export function readTcpMigrateReq(
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): string | undefined {
  try {
    return read(TCP_MIGRATE_REQ_PATH).trim();
  } catch {
    return undefined;
  }
}
