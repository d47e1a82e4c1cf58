// What a new connection meets, for the fault cases that check a port is no longer served.
import { connect } from "node:net";

/**
 * What a new connection meets: "refused" (ECONNREFUSED: nothing listens), "reset" (accepted, then
 * reset or closed without an answer), "answered NNN" (an HTTP response with that status), or
 * "hang" (queued on a listener nobody accepts from: the failure this case exists to catch).
 */
export function probeConnection(port: number, timeoutMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done("hang"), timeoutMs);
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const status = data.match(/^HTTP\/1\.1 (\d{3})/);
      if (status) done(`answered ${status[1]}`);
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? "refused" : "reset"),
    );
    socket.on("close", () => done("reset"));
  });
}
