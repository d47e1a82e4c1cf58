/**
 * Where a server listens: the target the config names (--uds, --fd, --host/--port) and the words
 * the start-up line uses for the address it got. Shared by a single server and the supervisors,
 * which bind or announce for their workers.
 */

import type { Config } from "./config.ts";
import { urlHost } from "./request-url.ts";
import type { BoundAddress, ListenTarget } from "./runtime/adapter.ts";

export function listenTargetFromConfig(config: Config): ListenTarget {
  if (config.uds) return { kind: "unix", path: config.uds };
  if (config.fd !== undefined) return { kind: "fd", fd: config.fd };
  return { kind: "tcp", host: config.host, port: config.port, reusePort: false };
}

export function describeAddress(address: BoundAddress, scheme: string): string {
  if (address.kind === "unix") return `socket ${address.path}`;
  if (address.kind === "fd") {
    // As uvicorn, which prints the inherited socket's getsockname(): where it really listens.
    const tcp = address.tcp;
    return tcp
      ? `${scheme}://${urlHost(tcp.host)}:${tcp.port} via file descriptor ${address.fd}`
      : `socket with file descriptor ${address.fd}`;
  }
  return `${scheme}://${urlHost(address.host)}:${address.port}`;
}
