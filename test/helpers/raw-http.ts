/**
 * Client-side pieces for adapter tests that need more control than fetch() gives: a raw HTTP/1.1
 * exchange on a connection kept open, when a server closes an idle connection, and how a streamed
 * body ended. Shared by test/helpers/adapter-suite.ts (Bun, Deno) and test/runtime-node.test.ts.
 */
import { connect, type Socket } from "node:net";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One raw HTTP/1.1 exchange on a new connection, kept open afterwards (for keep-alive checks). */
export function rawRequest(
  port: number,
  request: string,
  host = "127.0.0.1",
): Promise<{ socket: Socket; response: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let response = "";
    socket.setEncoding("utf8");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      response += chunk;
      const end = response.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(response);
      if (end !== -1 && length && response.length >= end + 4 + Number(length[1])) {
        socket.removeAllListeners("data");
        resolve({ socket, response, localPort: socket.localPort ?? 0 });
      }
    });
    socket.write(request);
  });
}

/** Resolves with how many ms after the call the socket closed (or -1 if still open at `limitMs`). */
export function closedWithin(socket: Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readyState === "closed") return resolve(0);
    const timer = setTimeout(() => resolve(-1), limitMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.resume();
  });
}

/** Reads a streamed body; resolves "done:<text>" at its end or "cut:<text>" if the connection dies. */
export async function readStream(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return `done:${text}`;
      text += decoder.decode(value);
    }
  } catch {
    return `cut:${text}`;
  }
}
