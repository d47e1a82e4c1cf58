/**
 * The WebSocket echo load client (run by scripts/bench/websocket.ts in its own Bun process, so the
 * orchestrator's work does not disturb it): N sockets, each sending a message as soon as the echo
 * of the previous one is back. Prints one JSON line: round trips counted after the warm-up, and the
 * seconds they took.
 *
 *   bun scripts/bench/ws-client.ts URL CONNECTIONS DURATION_S WARMUP_S MESSAGE_BYTES
 */
const [url = "", connections = "50", duration = "2", warmup = "1", size = "32"] = process.argv.slice(2);
const message = "x".repeat(Number(size));

let counting = false;
let roundTrips = 0;
let stopped = false;

const sockets = await Promise.all(
  Array.from(
    { length: Number(connections) },
    () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`could not connect to ${url}`));
      }),
  ),
);
for (const ws of sockets) {
  ws.onmessage = (event) => {
    if (event.data !== message) {
      console.error(`wrong echo: ${String(event.data).slice(0, 40)}`);
      process.exit(1);
    }
    if (counting) roundTrips++;
    if (!stopped) ws.send(message);
  };
  ws.send(message);
}
await Bun.sleep(Number(warmup) * 1000);
counting = true;
const started = performance.now();
await Bun.sleep(Number(duration) * 1000);
counting = false;
const seconds = (performance.now() - started) / 1000;
stopped = true;
console.log(JSON.stringify({ roundTrips, seconds }));
for (const ws of sockets) ws.close(1000);
process.exit(0);
