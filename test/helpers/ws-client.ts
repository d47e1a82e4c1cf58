/**
 * For the WebSocket end-to-end tests: tsuv started and answering; and the clients, Bun's WebSocket
 * (with headers), a raw upgrade request (for refusals and the handshake's headers), and a peer
 * that never answers pings.
 */
import { connect, type Socket } from "node:net";
import { type RunningTsuv, type RuntimeKey, startTsuv } from "./tsuv.ts";

export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

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

/** A valid client handshake's headers (RFC 6455 4.1). */
export const HANDSHAKE_HEADERS: Record<string, string> = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": KEY,
  "sec-websocket-version": "13",
};

export function upgradeRequest(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: { ...HANDSHAKE_HEADERS, ...headers } });
}

/** A raw client's upgrade request, with `extra` header lines. */
export function handshake(port: number, path: string, ...extra: string[]): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${KEY}`,
    "Sec-WebSocket-Version: 13",
    ...extra,
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
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
      socket.write(handshake(port, "/dead"));
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

/** One echoed message as it came on the wire: was it compressed (RSV1), and its text. */
export interface WireMessage {
  compressed: boolean;
  text: string;
}

/** A client's final text frame (under 64 KiB): masked, as clients must, never compressed. */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  if (n >= 65536) throw new Error("clientTextFrame: 64 KiB at most");
  const mask = Buffer.from([1, 2, 3, 4]);
  const length = n < 126 ? Buffer.from([0x80 | n]) : Buffer.from([0x80 | 126, n >> 8, n & 0xff]);
  const masked = payload.map((byte, i) => byte ^ (mask[i % 4] as number));
  return Buffer.concat([Buffer.from([0x81]), length, mask, masked]);
}

/** A whole unmasked server frame at the start of `bytes`: its first byte, payload and size on the wire. */
function serverFrame(bytes: Buffer): { first: number; payload: Buffer; size: number } | null {
  if (bytes.length < 2) return null;
  let length = (bytes[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return null;
    [length, offset] = [bytes.readUInt16BE(2), 4];
  } else if (length === 127) {
    if (bytes.length < 10) return null;
    [length, offset] = [Number(bytes.readBigUInt64BE(2)), 10];
  }
  if (bytes.length < offset + length) return null;
  return {
    first: bytes[0] as number,
    payload: bytes.subarray(offset, offset + length),
    size: offset + length,
  };
}

/**
 * A client that offers permessage-deflate and reads the server's frames itself, to see which
 * messages the server compressed (Bun's and undici's WebSocket hide that). Sends each text and
 * reads one text frame back per message (an echo of a message this size is not fragmented).
 */
export async function deflateEcho(
  port: number,
  path: string,
  texts: string[],
): Promise<{ extensions: string | null; replies: WireMessage[] }> {
  const { constants, inflateRawSync } = await import("node:zlib");
  // Compressed messages are inflated as one stream (a server keeping its context refers back to
  // earlier ones), cut after each message's sync flush, so never ended.
  const inflate = (bytes: Buffer) => inflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
  const socket = connect(port, "127.0.0.1");
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  });
  const closed = new Promise<void>((done) => socket.once("close", () => done()));
  const more = async () => {
    if (socket.closed) throw new Error("the server closed the connection");
    await Promise.race([new Promise<void>((done) => (wake = done)), closed]);
  };
  try {
    await new Promise<void>((done, fail) => socket.once("connect", done).once("error", fail));
    socket.write(
      handshake(port, path, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
    );
    while (buffered.indexOf("\r\n\r\n") === -1) await more();
    const end = buffered.indexOf("\r\n\r\n");
    const head = buffered.subarray(0, end).toString("latin1");
    buffered = buffered.subarray(end + 4);
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`no upgrade: ${head.split("\r\n")[0]}`);
    const extensions = /^sec-websocket-extensions: *(.*)$/im.exec(head)?.[1]?.trim() ?? null;

    let stream = Buffer.alloc(0);
    const replies: WireMessage[] = [];
    for (const text of texts) {
      socket.write(clientTextFrame(text));
      let frame = serverFrame(buffered);
      while (frame === null) {
        await more();
        frame = serverFrame(buffered);
      }
      buffered = buffered.subarray(frame.size);
      const compressed = (frame.first & 0x40) !== 0;
      let data = frame.payload;
      if (compressed) {
        const before = stream.length === 0 ? 0 : inflate(stream).length;
        stream = Buffer.concat([stream, frame.payload, Buffer.from([0, 0, 0xff, 0xff])]);
        data = inflate(stream).subarray(before);
      }
      replies.push({ compressed, text: data.toString() });
    }
    return { extensions, replies };
  } finally {
    socket.destroy();
  }
}

/**
 * One raw request's answer: the status line and body, once its Content-Length is in or the server
 * closes (a refusal crossws writes on Node has no length), or "" after 3 s.
 */
export function rawAnswer(port: number, request: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const done = () => {
      socket.destroy();
      const end = data.indexOf("\r\n\r\n");
      resolve({ status: data.split("\r\n")[0] ?? "", body: end === -1 ? "" : data.slice(end + 4) });
    };
    socket.setTimeout(3000, done);
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
      if (end !== -1 && length && data.length >= end + 4 + Number(length[1])) done();
    });
    socket.on("end", done);
    socket.on("error", done);
    socket.write(request);
  });
}

/** The status line the server answers a raw upgrade request to `path` with this Host header. */
export function rawUpgradeStatus(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const done = () => {
      socket.destroy();
      resolve(data.split("\r\n")[0] ?? "");
    };
    socket.setTimeout(3000, done);
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\r\n")) done();
    });
    socket.on("error", done);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}
