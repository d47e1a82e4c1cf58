/**
 * Duplicating a listening socket's fd on Node.js, which has no dup(): a helper child process
 * receives the handle over IPC and sends it back; each handle Node receives is a new fd (SCM_RIGHTS)
 * on the same socket.
 *
 * Why thread workers need their own fd: libuv closes the fd when a server closes, and the fd is
 * shared by every thread of the process. With one fd for all threads, the first thread to stop
 * (a rolling restart, a scale-down, a replaced worker) closes the socket under the others, and
 * Node aborts in libuv (`uv__server_io: Assertion 'events & POLLIN' failed`, Node 20 and 24).
 *
 * The helper also performs the listen(2) on the parent's socket (see node-socket.ts). It is started
 * on first use and leaves after an idle second; it never keeps the parent alive.
 */
import type { ChildProcess } from "node:child_process";
import { nodeChildProcess as childProcess } from "./builtin.ts";

/** A node:net internal TCP or Pipe handle (what `_createServerHandle` returns). */
export interface ServerHandle {
  readonly fd: number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  close(callback?: () => void): void;
}

/** Plain JS for `node -e`: answer each request, leave with the parent. */
const HELPER_SOURCE = `
process.on("message", (m, handle) => {
  if (!m || !handle) return;
  if (m.op === "listen") {
    const err = handle.listen(m.backlog);
    handle.close();
    process.send({ id: m.id, err });
    return;
  }
  let left = m.count;
  for (let i = 0; i < m.count; i++) {
    process.send({ id: m.id }, handle, () => { if (--left === 0) handle.close(); });
  }
});
process.on("disconnect", () => process.exit(0));
`;

/**
 * How long the helper stays after its last request. Short: it is a whole node process (~40 MiB
 * RSS, as much as a thread worker), needed while threads start (all at once) and when one is
 * replaced (then a new helper costs ~50 ms of start-up).
 */
const IDLE_MS = 1000;
/** A helper that does not answer by then is not going to. */
const REPLY_TIMEOUT_MS = 10_000;

interface Pending {
  handles: ServerHandle[];
  count: number;
  resolve(value: { err: number; handles: ServerHandle[] }): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class FdDuplicator {
  #child: ChildProcess | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #idle: ReturnType<typeof setTimeout> | undefined;

  /** `idleMs`: how long the helper stays after its last request (tests shorten it). */
  constructor(private readonly idleMs = IDLE_MS) {}

  /** listen(2) on `handle`'s socket with `backlog`, without ever polling it here; 0 or a uv error. */
  async listen(handle: ServerHandle, backlog: number): Promise<number> {
    return (await this.#request(handle, { op: "listen", backlog }, 0)).err;
  }

  /** `count` new handles (new fds) on `handle`'s socket. */
  async dup(handle: ServerHandle, count = 1): Promise<ServerHandle[]> {
    return (await this.#request(handle, { op: "dup", count }, count)).handles;
  }

  #request(
    handle: ServerHandle,
    message: Record<string, unknown>,
    count: number,
  ): Promise<{ err: number; handles: ServerHandle[] }> {
    const child = this.#ensure();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(id, new Error("the fd helper process did not answer")),
        REPLY_TIMEOUT_MS,
      );
      this.#pending.set(id, { handles: [], count, resolve, reject, timer });
      this.#busy(true);
      child.send({ ...message, id }, handle as never, (error) => {
        if (error) this.#fail(id, error);
      });
    });
  }

  #ensure(): ChildProcess {
    // A helper told to leave (idle) is gone for requests at once, though it exits a little later:
    // a request sent to it would fail with ERR_IPC_CHANNEL_CLOSED (a SIGHUP just as it left made
    // a rolling restart of thread workers fail to start its first thread, CI 2026-12-01).
    if (this.#child?.connected) return this.#child;
    const child = childProcess().spawn(process.execPath, ["-e", HELPER_SOURCE], {
      // The parent's node flags are not passed (an --inspect port would clash).
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    child.on("message", (message: { id?: number; err?: number }, handle?: ServerHandle) => {
      const pending = message && typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
      if (!pending) {
        handle?.close();
        return;
      }
      if (handle) pending.handles.push(handle);
      if (typeof message.err === "number" || pending.handles.length >= pending.count) {
        this.#settle(message.id as number);
        pending.resolve({ err: message.err ?? 0, handles: pending.handles });
      }
    });
    const gone = () => {
      if (this.#child !== child) return;
      this.#child = undefined;
      for (const id of [...this.#pending.keys()]) this.#fail(id, new Error("the fd helper process exited"));
    };
    child.on("exit", gone);
    child.on("error", gone);
    this.#child = child;
    return child;
  }

  /** Keep the parent's event loop alive only while a request is out. */
  #busy(busy: boolean): void {
    const child = this.#child;
    if (!child) return;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (busy) {
      child.ref();
      channel?.ref?.();
      return;
    }
    child.unref();
    channel?.unref?.();
    this.#idle = setTimeout(() => {
      if (this.#pending.size === 0 && child.connected) child.disconnect();
    }, this.idleMs);
    this.#idle.unref();
  }

  #settle(id: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#busy(false);
  }

  #fail(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#settle(id);
    for (const handle of pending.handles) handle.close();
    pending.reject(error);
  }
}

let instance: FdDuplicator | undefined;

export function duplicator(): FdDuplicator {
  instance ??= new FdDuplicator();
  return instance;
}
