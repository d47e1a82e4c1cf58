// The fault suite's app: every response names the worker that served it (pid:threadId), so the load
// client can tell which worker a connection was on; /hang blocks its worker's event loop forever;
// /exhaust-heap allocates until its worker runs out of heap (run it under a small heap limit).
import process from "node:process";
import { threadId } from "node:worker_threads";

const identity = `${process.pid}:${threadId}`;
/** What /exhaust-heap keeps alive until its worker runs out of heap. */
const retained: number[][] = [];

export const app = {
  fetch(request: Request): Response {
    if (request.url.endsWith("/hang")) for (;;) {}
    if (request.url.endsWith("/exhaust-heap")) for (;;) retained.push(new Array(100_000).fill(Math.random()));
    return new Response(identity);
  },
};
