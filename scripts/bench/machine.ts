/** What the numbers were measured on: the machine, its load, and every version involved. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { bun, deno, node20, node24, node26, ROOT } from "../tools.mjs";

export interface Machine {
  cpuModel: string;
  nproc: number;
  memoryGiB: number;
  kernel: string;
  loadAvg: string;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    cpuModel =
      readFileSync("/proc/cpuinfo", "utf8")
        .match(/^model name\s*:\s*(.+)$/m)?.[1]
        ?.trim() ?? cpuModel;
  } catch {}
  return {
    cpuModel,
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: firstLine(["uname", "-sr"]) ?? "unknown",
    loadAvg: currentLoad(),
  };
}

export function currentLoad(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
}

/** First line of a command's output; `anyStatus` for tools like `wrk -v` that exit 1 after printing it. */
function firstLine(cmd: string[], anyStatus = false): string | undefined {
  try {
    const result = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: "utf8" });
    if (result.error || (result.status !== 0 && !anyStatus)) return undefined;
    return `${result.stdout}${result.stderr}`.trim().split("\n")[0]?.trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "not installed";
  }
}

export function versions(extra: Record<string, string | undefined>): Record<string, string> {
  const tsuv = readFileSync(join(ROOT, "src", "version.ts"), "utf8").match(/VERSION = "([^"]+)"/)?.[1];
  const out: Record<string, string> = {
    tsuv: tsuv ?? "unknown",
    "Node 20": firstLine([node20(), "--version"]) ?? "missing",
    "Node 24": firstLine([node24(), "--version"]) ?? "missing (run node scripts/install-tools.mjs)",
    "Node 26": firstLine([node26(), "--version"]) ?? "missing (run node scripts/install-tools.mjs)",
    Bun: firstLine([bun(), "--version"]) ?? "missing",
    Deno: firstLine([deno(), "--version"]) ?? "missing",
    srvx: packageVersion("srvx"),
    wrk: firstLine(["wrk", "-v"], true)?.replace(/ Copyright.*/, "") ?? "missing",
    hyperfine: firstLine(["hyperfine", "--version"]) ?? "missing",
  };
  for (const [key, value] of Object.entries(extra)) if (value) out[key] = value;
  return out;
}
