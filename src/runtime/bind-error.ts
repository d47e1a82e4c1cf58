/**
 * Bind failures in uvicorn's words (asyncio's create_server message), e.g.
 * `[Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use`,
 * so operators and scripts that grep uvicorn's output see the same line.
 */
import { ConfigError, errorMessage } from "../errors.ts";

/** errno and lower-cased strerror per OS, for the codes a bind can fail with. */
const ERRNO: Record<string, { linux: number; darwin: number; text: string }> = {
  EADDRINUSE: { linux: 98, darwin: 48, text: "address already in use" },
  EADDRNOTAVAIL: { linux: 99, darwin: 49, text: "cannot assign requested address" },
  EACCES: { linux: 13, darwin: 13, text: "permission denied" },
};

/** The code of a bind error, however the runtime spells it (Node/Bun `code`, Deno error class name). */
export function bindErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; name?: unknown } | null;
  if (e && typeof e.code === "string" && e.code in ERRNO) return e.code;
  if (e?.name === "AddrInUse") return "EADDRINUSE";
  if (e?.name === "AddrNotAvailable") return "EADDRNOTAVAIL";
  if (e?.name === "PermissionDenied") return "EACCES";
  return undefined;
}

/** How many of the kernel's picks port 0 gets (retryPortZero). */
const PORT_ZERO_ATTEMPTS = 3;

/**
 * `bind` once, or for port 0 up to PORT_ZERO_ATTEMPTS times while it fails with EADDRINUSE: the
 * kernel's pick can be taken between bind() and listen() (another socket's connect() may take it),
 * and any other pick serves as well. Seen once in CI, with parallel tests opening connections:
 * `('127.0.0.1', 0): address already in use` for a parent-bound Node socket. A fixed port is tried once.
 */
export async function retryPortZero<T>(port: number, bind: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bind();
    } catch (error) {
      if (port !== 0 || attempt === PORT_ZERO_ATTEMPTS || bindErrorCode(error) !== "EADDRINUSE") throw error;
    }
  }
}

/** Python's repr of the socket address: a 2-tuple for IPv4, a 4-tuple for IPv6. */
function addressRepr(host: string, port: number): string {
  return host.includes(":") ? `('${host}', ${port}, 0, 0)` : `('${host}', ${port})`;
}

/** A ConfigError for a failed TCP bind; other errors keep their own message. */
export function bindError(error: unknown, host: string, port: number, os: string): ConfigError {
  const code = bindErrorCode(error);
  const known = code ? ERRNO[code] : undefined;
  if (!known)
    return new ConfigError(
      `error while attempting to bind on address ${addressRepr(host, port)}: ${errorMessage(error)}`,
    );
  const errno = os === "darwin" ? known.darwin : known.linux;
  return new ConfigError(
    `[Errno ${errno}] error while attempting to bind on address ${addressRepr(host, port)}: ${known.text}`,
  );
}

/**
 * A ConfigError for a host that does not resolve, in the words tsuv prints on Node (whose bind
 * error it is there): `error while attempting to bind on address ('db.local', 8000): getaddrinfo
 * ENOTFOUND db.local`. For runtimes that report such a host with a misleading reason (Bun).
 */
export function unresolvedHostError(host: string, port: number): ConfigError {
  return new ConfigError(
    `error while attempting to bind on address ${addressRepr(host, port)}: getaddrinfo ENOTFOUND ${bareHost(host)}`,
  );
}

/** A ConfigError for a failed unix socket bind. */
export function unixBindError(error: unknown, path: string): ConfigError {
  return new ConfigError(`error while attempting to bind on address '${path}': ${errorMessage(error)}`);
}

/** "[::1]" -> "::1": the runtimes want IPv6 literals bare. */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
