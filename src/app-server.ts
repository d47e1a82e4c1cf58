/**
 * What an app that holds its server itself gets under tsuv on Node.js and Deno (Elysia's
 * `app.server`, which its own listen() sets): the part of Bun's Server such apps read that does
 * not need Bun. `port`, `hostname` and `url` (what an onStart hook logs) and `requestIP(request)`
 * (what `context.server.requestIP()` and IP plugins call), the client the access log names, after
 * trusted proxy headers. Bun's adapter gives a fuller one (runtime/bun-app-server.ts).
 */

import { requestInfoOf } from "./request-ip.ts";
import { urlHost } from "./request-url.ts";
import type { BoundAddress, ClientAddress } from "./runtime/adapter.ts";

export interface SocketAddress {
  address: string;
  family: "IPv4" | "IPv6";
  port: number;
}

/** Bun's SocketAddress for a client; null when there is none (a unix socket), as Bun's requestIP. */
export function socketAddress({ hostname, port }: ClientAddress): SocketAddress | null {
  if (hostname === "") return null;
  return { address: hostname, family: hostname.includes(":") ? "IPv6" : "IPv4", port };
}

/**
 * Bun's `server.requestIP(request)` for any stand-in: the client of a request tsuv handed the app
 * (null for any other request).
 */
export function requestIP(request: Request): SocketAddress | null {
  const info = requestInfoOf(request);
  return info === undefined ? null : socketAddress(info.remoteAddr);
}

export function portableAppServer(address: BoundAddress, scheme: "http" | "https"): object {
  const tcp = address.kind === "tcp" ? address : undefined;
  return {
    port: tcp?.port,
    hostname: tcp?.host,
    url: tcp ? new URL(`${scheme}://${urlHost(tcp.host)}:${tcp.port}/`) : undefined,
    requestIP,
  };
}
