/**
 * --ws-per-message-deflate (on by default, as uvicorn's) on the wire, with a client that offers
 * permessage-deflate and reads frames itself: what each runtime negotiates and which echoed
 * messages it compresses. Node.js (ws, src/runtime/ws-node.ts) and Bun (src/runtime/ws-bun.ts):
 * messages from 1 KiB compressed without server context takeover, smaller ones sent as they are.
 * Deno has no permessage-deflate: not negotiated. Every reply must carry the text that was sent.
 */
import { afterEach, expect, test } from "bun:test";
import { killAll, RUNTIMES } from "./helpers/tsuv.ts";
import { deflateEcho, serveWebSockets } from "./helpers/ws-client.ts";

const APP = "bench/apps/ws-echo.ts";
const SMALL = "hello";
// Compressible, as JSON is: 2,000+ bytes.
const LARGE = JSON.stringify(Array.from({ length: 80 }, (_, id) => ({ id, name: `item ${id}` })));
const TEXTS = [SMALL, LARGE, "small again", `${LARGE}!`];

afterEach(killAll);

for (const runtime of RUNTIMES) {
  test(`${runtime}: permessage-deflate by default, as the runtime's server can`, async () => {
    const tsuv = await serveWebSockets(runtime, 1, [APP]);
    const { extensions, replies } = await deflateEcho(tsuv.port, "/", TEXTS);
    expect(replies.map((reply) => reply.text)).toEqual(TEXTS);
    const compressed = replies.map((reply) => reply.compressed);
    if (runtime === "deno") {
      expect(extensions).toBeNull();
      expect(compressed).toEqual([false, false, false, false]);
    } else {
      // Bun.serve also answers client_no_context_takeover, which the client offered implicitly.
      expect(extensions).toContain("permessage-deflate");
      expect(extensions).toContain("server_no_context_takeover");
      expect(compressed).toEqual([false, true, false, true]);
    }
  }, 30_000);

  test(`${runtime}: --no-ws-per-message-deflate negotiates nothing`, async () => {
    const tsuv = await serveWebSockets(runtime, 1, [APP, "--no-ws-per-message-deflate"]);
    const { extensions, replies } = await deflateEcho(tsuv.port, "/", TEXTS);
    expect(extensions).toBeNull();
    expect(replies).toEqual(TEXTS.map((text) => ({ compressed: false, text })));
  }, 30_000);
}
