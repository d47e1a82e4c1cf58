/**
 * For the WebSocket end-to-end tests: tsuv started and answering; and the clients, Bun's WebSocket
 * (with headers), a raw upgrade request (for refusals and the handshake's headers), and a peer
 * that never answers pings.
 */
import { connect, type Socket } from "node:net";
import { type RunningTsuv, type RuntimeKey, startTsuv } from "./tsuv.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

export interface Tracked {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

export function open(url: string, headers?: Record<string, string>): Promise<Tracked> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, headers ? ({ headers } as unknown as string[]) : undefined);
    ws.binaryType = "arraybuffer";
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.addEventListener("close", (event) => done({ code: event.code, reason: event.reason }));
    });
    ws.addEventListener("open", () => resolve({ ws, closed }), { once: true });
    ws.addEventListener("error", () => reject(new Error(`WebSocket ${url} failed`)), { once: true });
  });
}

export function next(ws: WebSocket): Promise<string | ArrayBuffer> {
  return new Promise((resolve) => {
    ws.addEventListener("message", (event) => resolve(event.data as string | ArrayBuffer), { once: true });
  });
}

export async function echo(ws: WebSocket, data: string | Uint8Array): Promise<string | ArrayBuffer> {
  const reply = next(ws);
  ws.send(data);
  return reply;
}

export function upgradeRequest(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": KEY,
      "sec-websocket-version": "13",
      ...headers,
    },
  });
}

/**
 * A peer that completes the handshake and then never answers a ping (nor anything else).
 * Resolves once upgraded, with a promise of the time the server dropped it.
 */
export function deadPeer(port: number): Promise<{ socket: Socket; dropped: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const dropped = new Promise<number>((done) => socket.once("close", () => done(Date.now())));
    let head = "";
    socket.on("error", () => {});
    socket.once("close", () => reject(new Error(`dead peer: connection closed before the upgrade: ${head}`)));
    socket.once("connect", () => {
      socket.write(
        `GET /dead HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      // Keep reading (pings arrive) but never write: the server must drop us.
      socket.on("data", () => {});
      if (head.startsWith("HTTP/1.1 101")) resolve({ socket, dropped });
      else reject(new Error(`dead peer not upgraded: ${head.split("\r\n")[0]}`));
    };
    socket.on("data", onData);
  });
}

/** tsuv serving WebSockets (debug logs), once it answers. */
export async function serveWebSockets(
  runtime: RuntimeKey,
  workers: number,
  extra: string[] = [],
): Promise<RunningTsuv> {
  const args = ["--host", "127.0.0.1", "--port", "0", "--log-level", "debug", ...extra];
  if (workers > 1) args.push("--workers", String(workers), "--worker-class", "thread");
  const tsuv = await startTsuv(runtime, args, { readyTimeoutMs: 30_000 });
  // With reusePort (Bun, Deno), "running on" comes before the workers listen: wait for an answer.
  for (let tries = 0; ; tries++) {
    try {
      await fetch(`${tsuv.url}/ready`);
      return tsuv;
    } catch (error) {
      if (tries > 200) throw error;
      await Bun.sleep(50);
    }
  }
}
