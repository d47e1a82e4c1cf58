/**
 * A/B cost of a request: start every command given, then load them in turn (A B ..., then ... B A)
 * with wrk and report each one's CPU-us per request (CPU seconds of its whole process tree over
 * the requests served), median of the rounds. CPU per request hardly moves when neighbours load
 * the machine, unlike req/s, so this is how a hot-path change is judged on a shared machine.
 *
 *   bun scripts/bench/ab.ts [--rounds N] [--duration S] [--workload plaintext|json] CMD...
 *
 * Each CMD is one shell-style string (split on spaces); `$PORT` in it is replaced, and PORT/HOST
 * are in its environment. Example, tsuv on Bun against a copy of the old tree:
 *   bun scripts/bench/ab.ts 'bun /tmp/base/src/cli.ts bench/apps/hello.ts --port $PORT --no-access-log' \
 *                           'bun src/cli.ts bench/apps/hello.ts --port $PORT --no-access-log'
 */
import { parseArgs } from "node:util";
import { runWrk, type Workload } from "./load.ts";
import { type Running, startCommand, stopAll, treeCpuSeconds } from "./proc.ts";
import { median } from "./throughput.ts";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "3" },
      workload: { type: "string", default: "plaintext" },
      connections: { type: "string", default: "50" },
    },
  });
  const rounds = Number(values.rounds);
  const durationS = Number(values.duration);
  const workload = values.workload as Workload;
  if (positionals.length === 0) {
    console.error("usage: bun scripts/bench/ab.ts [--rounds N] [--duration S] [--workload W] CMD...");
    return 2;
  }
  const servers: { cmd: string; server: Running; us: number[]; rps: number[] }[] = [];
  try {
    for (const cmd of positionals) {
      const server = await startCommand(cmd);
      servers.push({ cmd, server, us: [], rps: [] });
    }
    const load = { connections: Number(values.connections), threads: 1, durationS };
    for (const s of servers) await runWrk(s.server.port, workload, { ...load, durationS: 1 }); // warm-up
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const before = treeCpuSeconds(s.server.pid);
        const m = await runWrk(s.server.port, workload, load);
        const cpu = treeCpuSeconds(s.server.pid) - before;
        if (m.errors) throw new Error(`${s.cmd}: ${m.errors} errors`);
        s.us.push((cpu * 1e6) / m.requests);
        s.rps.push(m.rps);
      }
    }
    const base = median(servers[0]?.us ?? [1]);
    for (const s of servers) {
      const us = median(s.us);
      console.log(
        `${us.toFixed(2).padStart(7)} CPU-us/req  ${(us / base).toFixed(3)}x  ${Math.round(median(s.rps))} req/s  [${s.us.map((u) => u.toFixed(1)).join(" ")}]  ${s.cmd}`,
      );
    }
  } finally {
    await stopAll();
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
