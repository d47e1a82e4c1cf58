/**
 * Binding on Node.js without serving: the parent's shared socket for workers, and the port reserved
 * for workers that bind with reusePort.
 *
 * The parent binds as node:cluster's primary does, with `net._createServerHandle` (internal, present
 * and unchanged from Node 20 through 24): a bound handle that this thread never polls, so it never
 * accepts a connection itself. The socket is put in the LISTEN state by a short-lived helper
 * process (node-fd-dup.ts) right away, so connections queue in the kernel while no worker is up
 * (at start, and while the only worker restarts), as with uvicorn's parent-bound socket.
 */
import { fstatSync } from "node:fs";
import net from "node:net";
import { ConfigError } from "../errors.ts";
import type { BoundAddress, ListenTarget, PortReservation, SharedSocket } from "./adapter.ts";
import { bareHost, bindError, retryPortZero, unixBindError } from "./bind-error.ts";
import { lazyBuiltin } from "./builtin.ts";
import { checkInheritedSocket, inheritedSocketError } from "./inherited-socket.ts";
import { duplicator, type ServerHandle } from "./node-fd-dup.ts";
import { claimSocketPath, makeSocketWorldWritable, removeSocketFile } from "./unix-socket.ts";

/**
 * Loaded on first use: this module is part of the Node bundle's single file, where a static import
 * of a built-in is paid by every start (node:util ~2-5 ms, node:dns/promises ~1.5 ms on Node 24),
 * and these serve only workers' shared sockets and reserved ports.
 */
const dns = lazyBuiltin<typeof import("node:dns/promises")>("node:dns/promises");
const util = lazyBuiltin<typeof import("node:util")>("node:util");

interface NetInternals {
  _createServerHandle(
    address: string | null,
    port: number,
    addressType: number,
    fd?: number,
    flags?: number,
  ): ServerHandle | number;
}

const internals = net as unknown as Partial<NetInternals>;
const hasCreateServerHandle = (): boolean => typeof internals._createServerHandle === "function";

function createServerHandle(
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
): ServerHandle | number {
  if (!hasCreateServerHandle()) {
    throw new ConfigError(
      `This Node.js (${process.versions.node}) lacks net._createServerHandle, which sharing a socket with workers needs.`,
    );
  }
  return (internals as NetInternals)._createServerHandle(address, port, addressType, fd, 0);
}

function uvError(code: number, syscall: string): NodeJS.ErrnoException {
  let name = "UNKNOWN";
  try {
    name = util().getSystemErrorName(code);
  } catch {}
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${name}`);
  error.code = name;
  error.errno = code;
  error.syscall = syscall;
  return error;
}

/**
 * A TCP handle bound to a literal IPv4 address, for `server.listen(handle)`; undefined where this
 * Node lacks net._createServerHandle. Why not `server.listen({ host, port })`: for any host, a
 * literal too, Node 22+ resolves it with dns.lookup({ all: true }) and then checks each address with
 * net.isIPv6 for a link-local one, whose first call compiles a large regular expression: to
 * listening took 11.7-17.2 ms that way and 2.7-3.9 ms with a handle (Node 24.21, `127.0.0.1`, four
 * fresh processes each), a cut of exec to first 200 by about 10 ms. Node 20 does neither (~5 ms
 * both ways). Throws the bind's error (EACCES, EADDRNOTAVAIL...) with its code, as listen() would
 * report it; EADDRINUSE comes from listen() itself.
 */
export function boundIPv4Handle(address: string, port: number): ServerHandle | undefined {
  if (!hasCreateServerHandle()) return undefined;
  const handle = createServerHandle(address, port, 4);
  if (typeof handle === "number") throw uvError(handle, "listen");
  return handle;
}

/** A name ("localhost") to the address the OS would bind; literals as they are. */
async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const bare = bareHost(host);
  const family = net.isIP(bare);
  if (family === 4 || family === 6) return { address: bare, family };
  const found = await dns().lookup(bare);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/** A listening socket threads can get duplicates of: its handle here, and its inode to recognize them. */
export interface DuplicableSocket {
  handle: ServerHandle;
  inode: number;
}

/** Shared sockets bound here (or inherited, --fd), by fd. */
const sharedHandles = new Map<number, DuplicableSocket>();

/** The socket behind `fd`: one bound by bindSharedSocket, or an inherited one (--fd) adopted now. */
export function duplicableSocket(fd: number): DuplicableSocket {
  let known = sharedHandles.get(fd);
  if (!known) {
    const handle = createServerHandle(null, 0, 0, fd);
    if (typeof handle === "number") throw uvError(handle, "open");
    // Never closed: the fd belongs to whoever passed it (systemd); this handle only lends it.
    known = { handle, inode: fstatSync(fd).ino };
    sharedHandles.set(fd, known);
  }
  return known;
}

export async function bindSharedSocket(target: ListenTarget, backlog: number): Promise<SharedSocket> {
  if (target.kind === "fd") {
    // Already bound (systemd): shared as is, and closing it is left to its owner. Listened on here
    // (listen(2) again on a listening socket only sets its backlog) so that a socket no worker could
    // listen on is refused once, by the parent, before any worker starts.
    checkInheritedSocket(target.fd);
    let socket: ServerHandle;
    let err: number;
    try {
      socket = duplicableSocket(target.fd).handle;
      err = await duplicator().listen(socket, backlog);
    } catch (error) {
      throw inheritedSocketError(target.fd, error);
    }
    if (err) throw inheritedSocketError(target.fd, uvError(err, "listen"));
    // Where it listens, for the start-up line (a unix socket's handle has no getsockname).
    const bound: { address?: string; port?: number } = {};
    const tcp =
      typeof socket.getsockname === "function" && socket.getsockname(bound) === 0 && bound.address
        ? { host: bound.address, port: bound.port ?? 0 }
        : undefined;
    return { fd: target.fd, address: { ...target, tcp }, close() {} };
  }

  if (target.kind === "unix") {
    await claimSocketPath(target.path);
    const handle = createServerHandle(target.path, -1, -1);
    if (typeof handle === "number") throw unixBindError(uvError(handle, "bind"), target.path);
    makeSocketWorldWritable(target.path);
    const close = () => {
      sharedHandles.delete(handle.fd);
      handle.close();
      removeSocketFile(target.path);
    };
    const err = await listenOrClose(handle, backlog, close);
    if (err) throw unixBindError(uvError(err, "listen"), target.path);
    return shared(handle, { kind: "unix", path: target.path }, close);
  }

  let resolved: { address: string; family: 4 | 6 };
  try {
    resolved = await resolveHost(target.host);
  } catch (error) {
    throw bindError(error, target.host, target.port, process.platform);
  }
  try {
    return await retryPortZero(target.port, () => bindTcp(target, resolved, backlog));
  } catch (error) {
    throw bindError(error, target.host, target.port, process.platform);
  }
}

/** A listening TCP handle for the workers; throws the uv error of the bind or listen. */
async function bindTcp(
  target: { host: string; port: number },
  resolved: { address: string; family: 4 | 6 },
  backlog: number,
): Promise<SharedSocket> {
  const handle = createServerHandle(resolved.address, target.port, resolved.family);
  if (typeof handle === "number") throw uvError(handle, "bind");
  // libuv reports EADDRINUSE from bind() late; getsockname() returns it.
  const out: { port?: number } = {};
  const err = handle.getsockname(out);
  if (err) {
    handle.close();
    throw uvError(err, "bind");
  }
  const close = () => {
    sharedHandles.delete(handle.fd);
    handle.close();
  };
  const listenErr = await listenOrClose(handle, backlog, close);
  if (listenErr) throw uvError(listenErr, "listen");
  return shared(handle, { kind: "tcp", host: target.host, port: out.port ?? target.port }, close);
}

/** listen(2) by the duplicator; on failure the handle is closed and the error returned. */
async function listenOrClose(handle: ServerHandle, backlog: number, close: () => void): Promise<number> {
  try {
    const err = await duplicator().listen(handle, backlog);
    if (err) close();
    return err;
  } catch (error) {
    close();
    throw error;
  }
}

function shared(handle: ServerHandle, address: BoundAddress, close: () => void): SharedSocket {
  sharedHandles.set(handle.fd, { handle, inode: fstatSync(handle.fd).ino });
  return { fd: handle.fd, address, close };
}

/**
 * RuntimeAdapter.reservePort on Node, for workers that bind with reusePort (Node 22.12+ on Linux
 * with net.ipv4.tcp_migrate_req=1, support.ts nodeBalancesWithReusePort). As native-listen.ts
 * reserveNative: a fixed port is bound exclusively and let go at once; port 0 is bound with
 * reusePort and held until release() where `canHoldShared` (this Node has listen({ reusePort })).
 */
export async function reservePort(
  host: string,
  port: number,
  canHoldShared: boolean,
): Promise<PortReservation> {
  const hold = port === 0 && canHoldShared;
  const server = net.createServer();
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        { host: bareHost(host), port, ...(hold ? { reusePort: true } : { exclusive: true }) },
        () => {
          resolve((server.address() as net.AddressInfo).port);
        },
      );
    });
  } catch (error) {
    throw bindError(error, host, port, process.platform);
  } finally {
    if (!hold && server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  // Nobody connects to it: no one knows a port 0 before tsuv announces it, which it does once a
  // worker listens and this is released. unref: it must not keep the process alive on its own.
  if (hold) server.unref();
  return {
    port: bound,
    release: () => {
      if (server.listening) server.close();
    },
  };
}
