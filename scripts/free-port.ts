/**
 * A loopback TCP port that was free a moment ago, for a server that must be told its port up front
 * (the benchmark's contenders, a few tests). Shared by scripts/bench/proc.ts and test/helpers/tsuv.ts.
 *
 * Chosen below the kernel's ephemeral range (net.ipv4.ip_local_port_range), not by binding port 0:
 * a port 0 bind draws from that range, so a port found that way can be taken by any other server
 * that binds port 0 between our release and the server's own bind, and the test suite runs three
 * files at a time. One CI run of bench-smoke.test.ts had tsuv on Node 20 lose its port so to
 * runtime-node.test.ts's reusePort listeners: GET / answered their JSON. Below the range only a
 * server told that very port can take it.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port the kernel hands out for port 0 and for outgoing connections. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768; // Linux's default; macOS's range starts higher still (49152)
  }
}

/** Listens on `port` (0: the kernel's pick) and lets go; the port, or undefined if it was taken. */
function listenOnce(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether this process can listen on host:port (without reusePort), letting go at once. */
export async function canListen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return (await listenOnce(port, host)) !== undefined;
}

const FLOOR = 10_000;

/**
 * The first of `count` consecutive ports that were all free a moment ago (one for a server; more
 * for one that takes the ports after its own too, as --inspect gives each child the next).
 */
export async function freePort(host = "127.0.0.1", count = 1): Promise<number> {
  const ceiling = ephemeralLow() - count + 1;
  // A range set low (below FLOOR + 1000) leaves no room: the kernel's pick then, as before.
  for (let attempt = 0; ceiling - FLOOR >= 1000 && attempt < 50; attempt++) {
    const base = FLOOR + Math.floor(Math.random() * (ceiling - FLOOR));
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await canListen(port, host);
    if (free) return base;
  }
  const port = count === 1 ? await listenOnce(0, host) : undefined;
  if (port === undefined) throw new Error(`freePort: no ${count} free port(s) on ${host}`);
  return port;
}
