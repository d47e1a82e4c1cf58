/**
 * Node's workers accept from one shared socket, and whichever is woken first takes every connection
 * waiting: kept-alive connections that all landed on one worker stayed there (docs/workers.md,
 * "Connection balance"). The supervisor now evens them out (src/supervisors/balance.ts): a crowded
 * worker ends some after their next response (`connection: close`), and their clients reconnect.
 *
 * The imbalance is made on purpose: one worker's event loop is held by /busy while 16 clients
 * connect, so the other accepts them all (checked: the test fails without the balance, as the
 * clients then stay where they are). Then each client sends request after request, reconnecting
 * when told to close, until both workers hold a fair part of the clients. Not one request may fail.
 * Bun and Deno workers bind their own sockets (SO_REUSEPORT), spread by the kernel: not tested here.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { killAll, type RuntimeKey, startTwoWorkers, WORKER_CLASSES, waitIdentities } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/workers.ts:app";
const CLIENTS = 16;
/** Each worker serves at least this many of the clients at the end. */
const FAIR_PART = 5;

afterEach(async () => {
  await killAll();
});

/** A client on one kept-alive connection that reconnects when a response says `connection: close`. */
class KeepAliveClient {
  private socket: Socket | undefined;
  private buffer = "";
  private waiting: ((response: { body: string; close: boolean }) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;
  /** Who answered the last request (the fixture's body: pid:threadId). */
  lastIdentity = "";
  reconnects = 0;

  constructor(private readonly port: number) {}

  /** One GET / on the current connection (opened first if there is none). */
  async request(): Promise<string> {
    if (!this.socket) this.open();
    const response = await new Promise<{ body: string; close: boolean }>((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket?.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    });
    if (response.close) {
      this.socket?.destroy();
      this.socket = undefined;
      this.reconnects++;
    }
    this.lastIdentity = response.body;
    return response.body;
  }

  close(): void {
    this.socket?.destroy();
  }

  private open(): void {
    const socket = connect(this.port, "127.0.0.1");
    this.socket = socket;
    this.buffer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = this.buffer.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? Number.NaN);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.slice(end + 4, end + 4 + length);
      this.buffer = this.buffer.slice(end + 4 + length);
      if (!head.startsWith("HTTP/1.1 200")) {
        this.failed?.(new Error(`not a 200: ${head.split("\r\n")[0]}`));
        return;
      }
      this.waiting?.({ body, close: /\r\nconnection: close/i.test(head) });
    });
    socket.on("error", (error) => this.failed?.(error));
    socket.on("close", () => {
      if (this.socket === socket) this.failed?.(new Error("the server closed the connection unannounced"));
    });
  }
}

/** How many clients each identity served last. */
function split(clients: KeepAliveClient[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const client of clients) counts.set(client.lastIdentity, (counts.get(client.lastIdentity) ?? 0) + 1);
  return counts;
}

/**
 * Hold one worker's event loop (/busy) while CLIENTS clients connect, so the other worker accepts
 * them all; the clients, once each has had one answer. A try whose clients did not all land on the
 * free worker (a machine so loaded that the hold began late) is repeated, twice at most: the test
 * means something only from such a start.
 */
async function crowdOneWorker(base: string, port: number): Promise<KeepAliveClient[]> {
  let seen = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const held = fetch(`${base}/busy?ms=3000`, { headers: { connection: "close" } }).then((r) => r.text());
    await Bun.sleep(500);
    const clients = Array.from({ length: CLIENTS }, () => new KeepAliveClient(port));
    await Promise.all(clients.map((client) => client.request()));
    const holder = (await held).trim();
    const first = split(clients);
    if (first.size === 1 && !first.has(holder)) return clients;
    seen = [...first].map(([id, n]) => `${id}: ${n}`).join(", ");
    for (const client of clients) client.close();
  }
  throw new Error(`the clients never all landed on one worker (last try: ${seen})`);
}

const NODES: RuntimeKey[] = ["node20", "node24"];

describe.each(NODES)("%s", (runtime) => {
  test.each(WORKER_CLASSES)(
    "%s workers even out kept-alive connections that all landed on one of them",
    async (workerClass) => {
      const t = await startTwoWorkers(runtime, APP, workerClass, ["--log-level", "debug"]);
      await waitIdentities(t.url, 2, 30_000, { path: "/busy?ms=30", burst: 16 });
      const clients = await crowdOneWorker(t.url, t.port);
      try {
        // Request after request on every connection until both workers serve a fair part.
        const deadline = performance.now() + 15_000;
        let counts = split(clients);
        while (performance.now() < deadline) {
          await Promise.all(clients.map((client) => client.request()));
          counts = split(clients);
          if (counts.size === 2 && [...counts.values()].every((n) => n >= FAIR_PART)) break;
          await Bun.sleep(20);
        }
        expect(counts.size).toBe(2);
        expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(FAIR_PART);
        // Only the connections the supervisor asked to end were ended (its debug line names each
        // ask; the line is written before the ask is sent). How many asks it takes depends on where
        // the reconnecting clients land: the kernel may hand them to the crowded worker again, the
        // likelier the busier the machine (one CI run under the parallel suite: 51 reconnects of
        // 16 clients, where a bound of 2 per client failed). The last bound catches asking for
        // everything over and over.
        await Bun.sleep(200);
        const asks = [
          ...t
            .stderr()
            .matchAll(/holds \d+ kept-alive connections, more than its share; asking it to close (\d+)/g),
        ];
        expect(asks.length).toBeGreaterThan(0);
        const asked = asks.reduce((sum, ask) => sum + Number(ask[1]), 0);
        const reconnects = clients.reduce((sum, client) => sum + client.reconnects, 0);
        expect(reconnects).toBeGreaterThan(0);
        expect(reconnects).toBeLessThanOrEqual(asked);
        expect(reconnects).toBeLessThan(CLIENTS * 6);
      } finally {
        for (const client of clients) client.close();
      }
    },
    60_000,
  );
});
