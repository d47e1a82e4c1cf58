/**
 * When is a node:http response done? Its `res` emits 'close' once the response is finished, or
 * once its connection is gone first. Except a pipelined request's response still queued behind
 * another one: it has no socket yet, and a client that leaves then closes the socket only (Node 20
 * and Deno's node:http emit that response's 'close' half a second late, or not at all: measured by
 * the pipelined tests in test/behaviour/suite.ts and test/node-app.test.ts). So for a queued
 * response the socket is watched too: one listener per socket, however many responses wait.
 *
 * Portable: it only touches the emitters it is given (node:http's objects, on any runtime).
 */

/** The parts of node:http's ServerResponse and Socket used here. */
interface Emitter {
  once(event: "close", listener: () => void): unknown;
}
interface Response extends Emitter {
  readonly socket?: unknown;
  off(event: "close", listener: () => void): unknown;
}

const QUEUED = Symbol("tsuv.queuedResponses");
type WatchedSocket = Emitter & { [QUEUED]?: Set<() => void> };

/** The callbacks of a socket's queued responses, all called if the socket closes first. */
function queuedOn(socket: WatchedSocket): Set<() => void> {
  let queued = socket[QUEUED];
  if (queued === undefined) {
    const waiting = new Set<() => void>();
    socket.once("close", () => {
      for (const done of waiting) done();
    });
    socket[QUEUED] = waiting;
    queued = waiting;
  }
  return queued;
}

/** Calls `done` once, when `res` is finished or its client is gone (`socket`: the request's). */
export function onResponseDone(res: Response, socket: Emitter | null | undefined, done: () => void): void {
  if (res.socket || !socket) {
    res.once("close", done);
    return;
  }
  const queued = queuedOn(socket as WatchedSocket);
  const once = () => {
    queued.delete(once);
    res.off("close", once);
    done();
  };
  queued.add(once);
  res.once("close", once);
}
