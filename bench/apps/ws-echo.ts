/**
 * The WebSocket echo every tsuv contender of the WebSocket benchmark serves (scripts/bench/websocket.ts):
 * crossws hooks beside fetch, written as an app would. bench/raw/*-ws.* do the same with each
 * runtime's own WebSocket server. GET / answers "Hello, world!" (the readiness probe).
 */
import type { Hooks } from "crossws";

export default {
  fetch(): Response {
    return new Response("Hello, world!");
  },
  websocket: {
    message(peer, message) {
      peer.send(message.text());
    },
  } satisfies Partial<Hooks>,
};
