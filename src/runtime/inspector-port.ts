/**
 * The debugger of a runtime started with --inspect, for the process workers and --reload's server
 * that tsuv starts with the same flags: each gets an inspector on a port of its own, the parent's
 * port plus 1, 2, 3... in the order they start, as node:cluster gives its workers. On the parent's
 * own port a child's inspector cannot listen: Bun's child then died at start (so --workers and
 * --reload never served), Node's printed "Starting inspector ... failed: address already in use"
 * and ran without one, and Deno's would stop at start.
 */
import type { RuntimeName } from "./detect.ts";

/** Where each runtime's inspector listens when its flag names no port. */
const DEFAULT_PORT: Record<RuntimeName, number> = { node: 9229, bun: 6499, deno: 9229 };

/** Node's and Deno's inspector flags; Bun's too, whose value may also be a ws:// URL. */
const INSPECT_FLAG = /^(--inspect(?:-brk|-wait)?)(?:=(.*))?$/;

/** node:cluster's range: past 65535 the ports wrap around to 1024. */
const MIN_PORT = 1024;
const MAX_PORT = 65535;

/** How many children have been given an inspector port so far (this process's offset, as node:cluster's). */
let started = 0;

/**
 * `runtimeArgs` for the next child: every inspector flag moved to the parent's port plus the number
 * of children started before it and this one. On Node --inspect-port is added instead (as
 * node:cluster does), from `node.parentPort` (process.debugPort), and an --inspect in NODE_OPTIONS
 * counts too. Arguments without an inspector flag come back unchanged.
 */
export function withChildInspectorPort(
  runtime: RuntimeName,
  runtimeArgs: readonly string[],
  node: { parentPort: number; nodeOptions: string } = { parentPort: DEFAULT_PORT.node, nodeOptions: "" },
): string[] {
  const inspecting =
    runtimeArgs.some((arg) => INSPECT_FLAG.test(arg) || arg.startsWith("--inspect-port")) ||
    // NODE_OPTIONS reaches the child too (node:cluster looks there as well).
    (runtime === "node" && /--inspect/.test(node.nodeOptions));
  if (!inspecting) return [...runtimeArgs];
  started += 1;
  if (runtime === "node") {
    // Node's own flag for the port, whatever form the --inspect flag took; the last one wins.
    return [...runtimeArgs, `--inspect-port=${shifted(node.parentPort, started)}`];
  }
  return runtimeArgs.map((arg) => {
    const match = INSPECT_FLAG.exec(arg);
    if (!match) return arg;
    const [, flag, value] = match;
    return `${flag}=${movedTo(value, DEFAULT_PORT[runtime], started)}`;
  });
}

function shifted(port: number, offset: number): number {
  const next = port + offset;
  return next > MAX_PORT ? next - MAX_PORT + MIN_PORT - 1 : next;
}

/** `[scheme://]host[:port][/path]`: what an inspector flag's value is when not a bare port. */
const ADDRESS = /^((?:[a-z]+:\/\/)?(?:\[[^\]]*\]|[^/:[\]]*))(?::(\d+))?(\/.*)?$/i;

/** An inspector address (`9229`, `host:9229`, `host:9229/path`, Bun's `ws://host:9229/path`) on port + offset. */
function movedTo(value: string | undefined, defaultPort: number, offset: number): string {
  if (value === undefined || value === "") return `127.0.0.1:${shifted(defaultPort, offset)}`;
  if (/^\d+$/.test(value)) return String(shifted(Number(value), offset));
  const match = ADDRESS.exec(value);
  if (!match) return value;
  const [, host, port, path = ""] = match;
  return `${host}:${shifted(port === undefined ? defaultPort : Number(port), offset)}${path}`;
}
