/**
 * The Node.js adapter: node:http serving (node-http.ts), the TypeScript loader (node-ts-register.ts),
 * the parent-bound shared socket (node-socket.ts) and plumbing shared with Bun and Deno.
 * Node runs tsuv from the esbuild bundle (dist/*.mjs, scripts/build-node.mjs), never from source.
 */
import { Server } from "node:net";
import type { RuntimeAdapter } from "./adapter.ts";
import { countCalls } from "./count-calls.ts";
import { detectRuntime } from "./detect.ts";
import { bindSharedSocket, reservePort } from "./node-socket.ts";
import { startThreadOwningFd } from "./node-thread-fd.ts";
import { importModule } from "./node-ts-register.ts";
import { createPlumbing } from "./plumbing.ts";

export { ensureTsHooks } from "./node-ts-register.ts";

/**
 * RuntimeAdapter.watchListenCalls: net.Server.prototype.listen wrapped while the app loads
 * (node:http's Server inherits it). A wrapper, not a count of handles before and after: a listen()
 * with a host binds only after a DNS lookup, when the import is long done.
 */
function watchListenCalls(): () => number {
  return countCalls(Server.prototype, "listen");
}

/** The thread-worker entry: dist/worker.mjs beside the bundle (plumbing finds it the same way). */
export function threadEntryUrl(): URL {
  return new URL("./worker.mjs", import.meta.url);
}

export function createAdapter(): RuntimeAdapter {
  const info = detectRuntime();
  const plumbing = createPlumbing(info);
  return {
    ...plumbing,
    info,
    // Loaded on the first serve(): node-http.ts brings tsuv's fetch globals and with them undici
    // (about 13 MiB of RSS on Node 24), which a supervisor parent, serving nothing, never needs.
    serve: async (options) => (await import("./node-http.ts")).serveNode(options),
    importModule,
    bindSharedSocket,
    reservePort: (host, port) => reservePort(host, port, info.capabilities.reusePortBalances),
    // Each thread on a shared socket gets its own fd (node-thread-fd.ts).
    startThread: (boot) => startThreadOwningFd(plumbing.startThread, boot),
    watchListenCalls,
  };
}
