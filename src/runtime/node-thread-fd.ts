/**
 * Thread workers on a shared socket get their own duplicate of its fd (see node-fd-dup.ts for why).
 * Wraps plumbing's startThread: a boot that listens on an fd is started once a duplicate is ready,
 * with the duplicate in its place; the WorkerPort is returned at once and queues messages meanwhile.
 * When the thread exits without having taken the duplicate over (it failed before listening), the
 * duplicate is closed here, so failed starts leak no fds.
 *
 * fd numbers are reused: a thread closes its fd when its server closes, well before the thread's
 * exit event, and a replacement's duplicate may get the same number in between (a rolling restart
 * does exactly that). So an fd is closed here only if no other live thread holds that number now,
 * and it still refers to the same socket.
 */
import { fstatSync } from "node:fs";
import type { WorkerBoot, WorkerMessage, WorkerPort } from "./adapter.ts";
import { duplicator, type ServerHandle } from "./node-fd-dup.ts";
import { duplicableSocket } from "./node-socket.ts";

type StartThread = (boot: WorkerBoot) => WorkerPort;

/** fd number -> the port of the live thread it was handed to. */
const holders = new Map<number, WorkerPort>();

/** Is `fd` still an fd on the socket with `inode`? (Then nobody closed it: it is still ours.) */
function stillOpen(fd: number, inode: number): boolean {
  try {
    return fstatSync(fd).ino === inode;
  } catch {
    return false;
  }
}

export function startThreadOwningFd(start: StartThread, boot: WorkerBoot): WorkerPort {
  const { listen } = boot;
  if (listen.kind !== "fd") return start(boot);

  const messageListeners: ((message: WorkerMessage) => void)[] = [];
  const exitListeners: ((code: number | null) => void)[] = [];
  const queue: WorkerMessage[] = [];
  let inner: WorkerPort | undefined;
  let killed = false;
  let exited = false;
  const exit = (code: number | null) => {
    if (exited) return;
    exited = true;
    for (const listener of exitListeners) listener(code);
  };

  const begin = (socket: { inode: number }, dup: ServerHandle) => {
    if (killed) {
      dup.close();
      exit(null);
      return;
    }
    const fd = dup.fd;
    const started = start({ ...boot, listen: { kind: "fd", fd } });
    inner = started;
    holders.set(fd, started);
    started.onMessage((message) => {
      for (const listener of messageListeners) listener(message);
    });
    started.onExit((code) => {
      // The thread's server closed the fd if it listened; if it never did, the fd is still open.
      if (holders.get(fd) === started) {
        holders.delete(fd);
        if (stillOpen(fd, socket.inode)) dup.close();
      }
      exit(code);
    });
    for (const message of queue.splice(0)) inner.send(message);
  };

  try {
    const socket = duplicableSocket(listen.fd);
    duplicator()
      .dup(socket.handle, 1)
      .then(
        ([dup]) => begin(socket, dup as ServerHandle),
        (error: unknown) => {
          process.stderr.write(`Could not start a worker thread on fd ${listen.fd}: ${String(error)}\n`);
          exit(1);
        },
      );
  } catch (error) {
    process.stderr.write(`Could not start a worker thread on fd ${listen.fd}: ${String(error)}\n`);
    queueMicrotask(() => exit(1));
  }

  return {
    pid: undefined,
    send(message) {
      if (inner) inner.send(message);
      else if (!killed && !exited) queue.push(message);
    },
    onMessage(listener) {
      messageListeners.push(listener);
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill() {
      killed = true;
      inner?.kill();
    },
  };
}
