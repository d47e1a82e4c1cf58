// The fault suite's app: every response names the worker that served it (pid:threadId), so the load
// client can tell which worker a connection was on; /hang blocks its worker's event loop forever.
import process from "node:process";
import { threadId } from "node:worker_threads";

const identity = `${process.pid}:${threadId}`;

export const app = {
  fetch(request: Request): Response {
    if (request.url.endsWith("/hang")) for (;;) {}
    return new Response(identity);
  },
};
