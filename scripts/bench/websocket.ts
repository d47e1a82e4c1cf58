/**
 * WebSocket echo round trips: tsuv (bench/apps/ws-echo.ts, crossws hooks) against each runtime's
 * own WebSocket server (bench/raw/{bun,deno}-ws.ts; on Node, node:http + the `ws` package, since
 * Node has no server of its own). Issue 5's target: tsuv at least 0.9x the raw server. On Bun also
 * `--ws bun` (bench/apps/ws-echo-bun.ts, Bun.serve's own handlers) against the same raw server.
 *
 * The load is scripts/bench/ws-client.ts in its own Bun process: N sockets, each sending the next
 * message when the echo of the last is back. Both servers run at once and are measured in turn
 * (tsuv, raw, tsuv, raw, ...); a ratio is the median of the per-round ratios. Beside round trips
 * per second, round trips per server CPU-second: the client shares the machine, so it can be the
 * bottleneck, and then only the CPU view shows what tsuv adds to each message.
 * Compression is off on both sides (tsuv runs with --no-ws-per-message-deflate; the raw servers'
 * default), so the same bytes cross the wire.
 *
 * On Node a third server is measured in the same rounds: crossws alone (bench/raw/node-crossws.mjs,
 * its Node adapter serving the same hooks over node:http, no tsuv). tsuv serves crossws hooks, and
 * crossws hands each text message to them as a string, which the raw `ws` echo never makes: its
 * ratio to the raw server is the part of tsuv's that is crossws's.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { bun, deno, node20, node24, node26, ROOT } from "../tools.mjs";
import { RUNTIME_NAMES, type RuntimeKey, tsuvCommand } from "./contenders.ts";
import { freePort, launch, type Running, treeCpuSeconds, waitReady } from "./proc.ts";

export const WS_TARGET = 0.9;
export const WS_APP = "bench/apps/ws-echo.ts";
/** The same echo written for Bun.serve, served with --ws bun. */
export const WS_BUN_APP = "bench/apps/ws-echo-bun.ts";

export interface WebSocketOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  messageBytes: number;
  log(line: string): void;
}

export interface WebSocketRun {
  /** Round trips per second (client's count over its clock). */
  rate: number;
  /** Round trips per CPU-second of the server's process tree, over the same window. */
  cpuRate: number;
}

export interface WebSocketSide {
  label: string;
  command: string;
  ok: boolean;
  reason?: string;
  runs: WebSocketRun[];
}

export interface WebSocketResult {
  runtime: RuntimeKey;
  /** tsuv ran with --ws bun (Bun.serve's own handlers) instead of crossws hooks. */
  native?: boolean;
  tsuv: WebSocketSide;
  raw: WebSocketSide;
  /** Node: crossws's own adapter serving the same hooks, no tsuv. */
  crossws?: WebSocketSide;
  /** Medians of the per-round ratios tsuv / raw. */
  ratio?: number;
  cpuRatio?: number;
  /** Median of the per-round ratios crossws alone / raw. */
  crosswsRatio?: number;
}

/** Every server a result measured. */
export function webSocketSides(result: WebSocketResult): WebSocketSide[] {
  return [result.tsuv, result.raw, ...(result.crossws ? [result.crossws] : [])];
}

function rawCommand(runtime: RuntimeKey): string[] {
  const file = (name: string) => join(ROOT, "bench", "raw", name);
  switch (runtime) {
    case "bun":
      return [bun(), file("bun-ws.ts")];
    case "deno":
      return [deno(), "run", "-A", file("deno-ws.ts")];
    case "node20":
      return [node20(), file("node-ws.mjs")];
    case "node24":
      return [node24(), file("node-ws.mjs")];
    case "node26":
      return [node26(), file("node-ws.mjs")];
  }
}

function tsuvWsCommand(runtime: RuntimeKey, port: number, native: boolean): string[] {
  return [
    ...tsuvCommand(runtime),
    join(ROOT, native ? WS_BUN_APP : WS_APP),
    ...(native ? ["--ws", "bun"] : []),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--no-access-log",
    "--log-level",
    "warning",
    "--no-ws-per-message-deflate",
  ];
}

function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One load run against `server`; the CPU window opens when the client starts counting. */
function loadRun(server: Running, options: WebSocketOptions): Promise<WebSocketRun> {
  return new Promise((resolve, reject) => {
    const client = spawn(
      bun(),
      [
        join(ROOT, "scripts", "bench", "ws-client.ts"),
        `ws://127.0.0.1:${server.port}/echo`,
        String(options.connections),
        String(options.durationS),
        String(options.warmupS),
        String(options.messageBytes),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    let cpuStart = 0;
    // The client sleeps its warm-up first: open the CPU window then (a few ms late at worst).
    const timer = setTimeout(() => {
      cpuStart = treeCpuSeconds(server.pid);
    }, options.warmupS * 1000);
    client.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    client.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    client.once("exit", (code) => {
      clearTimeout(timer);
      const cpu = treeCpuSeconds(server.pid) - cpuStart;
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`load client failed (exit ${code}): ${(err || out).trim().slice(0, 300)}`));
        return;
      }
      const { roundTrips, seconds } = JSON.parse(line) as { roundTrips: number; seconds: number };
      resolve({ rate: roundTrips / seconds, cpuRate: cpu > 0 ? roundTrips / cpu : 0 });
    });
  });
}

export async function measureWebSocket(
  runtime: RuntimeKey,
  options: WebSocketOptions,
  /** Bun only: tsuv serves Bun.serve's own handlers (--ws bun). */
  native = false,
): Promise<WebSocketResult> {
  const { log } = options;
  const name = RUNTIME_NAMES[runtime];
  const withCrossws = runtime.startsWith("node") && !native;
  const ports = [await freePort(), await freePort(), ...(withCrossws ? [await freePort()] : [])];
  const sides: { side: WebSocketSide; server?: Running; launchCmd: string[] }[] = [
    {
      side: { label: `tsuv${native ? " --ws bun" : ""} on ${name}`, command: "", ok: true, runs: [] },
      launchCmd: tsuvWsCommand(runtime, ports[0] as number, native),
    },
    {
      side: {
        label: runtime.startsWith("node") ? `node:http + ws (${name})` : `${name} native`,
        command: "",
        ok: true,
        runs: [],
      },
      launchCmd: rawCommand(runtime),
    },
  ];
  if (withCrossws) {
    sides.push({
      side: { label: `node:http + crossws (${name})`, command: "", ok: true, runs: [] },
      launchCmd: [rawCommand(runtime)[0] as string, join(ROOT, "bench", "raw", "node-crossws.mjs")],
    });
  }
  try {
    for (const [i, slot] of sides.entries()) {
      slot.side.command = slot.launchCmd.join(" ");
      slot.server = launch({ cmd: slot.launchCmd }, ports[i] as number);
    }
    for (const slot of sides) {
      try {
        await waitReady(slot.server as Running);
      } catch (error) {
        slot.side.ok = false;
        slot.side.reason = (error as Error).message.split("\n")[0];
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the order each round, as the throughput groups do.
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const slot of order) {
        if (!slot.side.ok) continue;
        try {
          const run = await loadRun(slot.server as Running, options);
          slot.side.runs.push(run);
          log(
            `  ${slot.side.label}: ${Math.round(run.rate)} round trips/s, ${Math.round(run.cpuRate)} per CPU-s`,
          );
        } catch (error) {
          slot.side.ok = false;
          slot.side.reason = (error as Error).message;
        }
      }
    }
  } finally {
    await Promise.all(sides.map((slot) => slot.server?.stop()));
  }
  const [tsuv, raw, crossws] = sides.map((slot) => slot.side) as [
    WebSocketSide,
    WebSocketSide,
    WebSocketSide?,
  ];
  const result: WebSocketResult = {
    runtime,
    tsuv,
    raw,
    ...(native ? { native } : {}),
    ...(crossws ? { crossws } : {}),
  };
  /** Median of the per-round ratios side / raw, over rounds both completed. */
  const against = (side: WebSocketSide, rate: (run: WebSocketRun) => number) =>
    side.ok && raw.ok && side.runs.length && side.runs.length === raw.runs.length
      ? median(side.runs.map((run, i) => rate(run) / rate(raw.runs[i] as WebSocketRun)))
      : undefined;
  result.ratio = against(tsuv, (run) => run.rate);
  result.cpuRatio = against(tsuv, (run) => run.cpuRate);
  if (crossws) result.crosswsRatio = against(crossws, (run) => run.rate);
  return result;
}

const fmt = (value: number | undefined, digits = 2) => (value === undefined ? "-" : value.toFixed(digits));

/** The report's section. */
export function renderWebSocketMarkdown(
  results: WebSocketResult[],
  options: Omit<WebSocketOptions, "log">,
): string[] {
  const lines = [
    "## WebSocket echo round trips",
    "",
    `${options.connections} sockets, each sending a ${options.messageBytes}-byte text message as soon as the echo of the last is back (scripts/bench/ws-client.ts, Bun's WebSocket client), ${options.durationS} s after ${options.warmupS} s of warm-up, ${options.rounds} alternated round(s). Compression off on both sides. Target (issue 5): tsuv >= ${WS_TARGET}x the raw server.`,
    "",
  ];
  // Results saved before the crossws control existed render as they did.
  const withCrossws = results.some((r) => r.crossws);
  lines.push(
    `| runtime | tsuv round trips/s | raw server | raw round trips/s | ratio | per CPU-s ratio | verdict |${withCrossws ? " crossws alone / raw |" : ""}`,
    `|---|---:|---|---:|---:|---:|---|${withCrossws ? "---:|" : ""}`,
  );
  for (const r of results) {
    const rate = (side: WebSocketSide) =>
      side.ok ? String(Math.round(median(side.runs.map((run) => run.rate)) ?? 0)) : `failed: ${side.reason}`;
    const verdict = r.ratio === undefined ? "-" : r.ratio >= WS_TARGET ? "meets" : "misses";
    const crossws = !r.crossws
      ? ""
      : r.crossws.ok
        ? `${fmt(r.crosswsRatio)} (${rate(r.crossws)}/s)`
        : rate(r.crossws);
    lines.push(
      `| ${RUNTIME_NAMES[r.runtime]}${r.native ? " (--ws bun)" : ""} | ${rate(r.tsuv)} | ${r.raw.label} | ${rate(r.raw)} | ${fmt(r.ratio)} | ${fmt(r.cpuRatio)} | ${verdict} |${withCrossws ? ` ${crossws} |` : ""}`,
    );
  }
  lines.push("");
  if (!withCrossws) return lines;
  lines.push(
    "`crossws alone / raw` (Node): crossws's own Node adapter serving the same hooks over node:http, without tsuv (bench/raw/node-crossws.mjs), in the same rounds. crossws gives the hooks each text message as a string and sends a string back, work the raw `ws` echo (bytes in, the same bytes out) never does; Bun's and Deno's raw servers read and send strings as tsuv's hooks do. So on Node the gap between that column and 1.00 is crossws's, and what is left between it and the ratio is tsuv's.",
    "",
  );
  return lines;
}
