/**
 * The bind step Bun.serve and Deno.serve share: a unix socket (mode 0666 once bound; its path was
 * claimed before, by claimSocketPath) or TCP, each failure turned into uvicorn's one-line bind
 * error, and --fd refused (neither runtime can serve on an inherited socket). Only the runtime's
 * own serve call differs.
 */
import { ConfigError } from "../errors.ts";
import type { ListenTarget } from "./adapter.ts";
import { bareHost, bindError, unixBindError } from "./bind-error.ts";
import { makeSocketWorldWritable, removeSocketFile } from "./unix-socket.ts";

export interface NativeBind<S> {
  unix(path: string): S;
  tcp(hostname: string, port: number, reusePort: boolean): S;
}

export function listenNative<S>(listen: ListenTarget, runtime: string, os: string, bind: NativeBind<S>): S {
  if (listen.kind === "unix") {
    // A bind again after a lost listener (deno-listener.ts): the file is still this server's own.
    removeSocketFile(listen.path);
    let server: S;
    try {
      server = bind.unix(listen.path);
    } catch (error) {
      throw unixBindError(error, listen.path);
    }
    makeSocketWorldWritable(listen.path);
    return server;
  }
  if (listen.kind === "tcp") {
    try {
      return bind.tcp(bareHost(listen.host), listen.port, listen.reusePort);
    } catch (error) {
      throw bindError(error, listen.host, listen.port, os);
    }
  }
  throw new ConfigError(`${runtime} cannot serve on an inherited socket (--fd ${listen.fd}).`);
}

/** A listener held just long enough to read its port. */
export interface ProbeListener {
  readonly port: number;
  close(): void;
}

/**
 * probePort for runtimes whose workers bind with reusePort: bind without it (so a port held by
 * anyone collides), read the real port (resolving 0), let go.
 */
export function probeNative(
  host: string,
  port: number,
  os: string,
  bind: (hostname: string, port: number) => ProbeListener,
): number {
  let listener: ProbeListener;
  try {
    listener = bind(bareHost(host), port);
  } catch (error) {
    throw bindError(error, host, port, os);
  }
  const bound = listener.port;
  listener.close();
  return bound;
}
