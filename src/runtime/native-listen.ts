/**
 * The bind step Bun.serve and Deno.serve share: a unix socket (mode 0666 once bound; its path was
 * claimed before, by claimSocketPath) or TCP, each failure turned into uvicorn's one-line bind
 * error, and --fd refused (neither runtime can serve on an inherited socket). Only the runtime's
 * own serve call differs.
 */
import { ConfigError } from "../errors.ts";
import type { ListenTarget, PortReservation } from "./adapter.ts";
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

/** A listener held while the port is reserved. */
export interface HeldListener {
  readonly port: number;
  close(): void;
}

/**
 * reservePort for runtimes whose workers bind with reusePort. A fixed port is bound without
 * reusePort (so a port held by anyone collides) and let go at once. Port 0 is bound with reusePort
 * and held until release(): the kernel picks for it a port no other socket uses, reusePort or not,
 * and while it is held no other program's bind or outgoing connection can take that pick before
 * the workers join it (they could in the moment between a probe's close and their bind).
 * `canHoldShared` false (the runtime cannot bind with reusePort here): port 0 is probed like a
 * fixed port.
 */
export function reserveNative(
  host: string,
  port: number,
  os: string,
  canHoldShared: boolean,
  bind: (hostname: string, port: number, reusePort: boolean) => HeldListener,
): PortReservation {
  const hold = port === 0 && canHoldShared;
  let listener: HeldListener;
  try {
    listener = bind(bareHost(host), port, hold);
  } catch (error) {
    throw bindError(error, host, port, os);
  }
  const bound = listener.port;
  if (!hold) {
    listener.close();
    return { port: bound, release: () => {} };
  }
  let held = true;
  return {
    port: bound,
    release: () => {
      if (held) listener.close();
      held = false;
    },
  };
}
