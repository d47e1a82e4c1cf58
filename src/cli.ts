#!/usr/bin/env node
/**
 * The tsuv command: argv -> Config -> run(). Owns the exit codes: every failure becomes one line
 * on stderr and a documented code (0 ok, 1 config, 2 usage, 3 app), never a stack trace.
 */
import { EXIT, errorMessage, TsuvError } from "./errors.ts";
import { defaultSupervisors, type Supervisors } from "./run.ts";
import type { RuntimeAdapter } from "./runtime/adapter.ts";
import type { ProcessIO } from "./runtime/index.ts";
import { startServing } from "./start.ts";
import { VERSION } from "./version.ts";

/** The help text, derived from the option table; imported only for --help. */
export async function usage(): Promise<string> {
  const { renderHelp } = await import("./help.ts");
  return renderHelp("Serve a fetch-handler app on Node.js, Bun or Deno.", VERSION);
}

export function versionLine(adapter: Pick<RuntimeAdapter, "info">): string {
  const { displayName, version, os, arch } = adapter.info;
  return `tsuv ${VERSION} running on ${displayName} ${version} (${os}/${arch})`;
}

function wants(argv: string[], flag: string, short?: string): boolean {
  const end = argv.indexOf("--");
  const scanned = end === -1 ? argv : argv.slice(0, end);
  return scanned.includes(flag) || (short !== undefined && scanned.includes(short));
}

/**
 * The whole CLI, with argv and I/O injected so tests drive it without spawning or mocking
 * process.exit. Resolves with the exit code.
 */
export async function main(
  adapter: RuntimeAdapter,
  io: ProcessIO,
  supervisors: Supervisors = defaultSupervisors,
): Promise<number> {
  const { argv } = io;
  try {
    if (wants(argv, "--help", "-h")) {
      io.stdout(await usage());
      return EXIT.ok;
    }
    if (wants(argv, "--version")) {
      io.stdout(versionLine(adapter));
      return EXIT.ok;
    }
    return await startServing(argv, adapter, io, supervisors);
  } catch (error) {
    if (error instanceof TsuvError) {
      io.stderr(`Error: ${error.message}`);
      return error.exitCode;
    }
    io.stderr(`Error: ${errorMessage(error)}`);
    return EXIT.config;
  }
}

/**
 * The event loop emptied while tsuv still waited: an app's import or startup hook awaits a promise
 * nothing can settle any more (an itty-router app used to be such a thenable). Every runtime would
 * exit 0 with nothing said, and a supervisor (systemd Restart=on-failure, Kubernetes) take it for a
 * clean stop; uvicorn would wait forever. Say so and exit 3. Every normal end calls adapter.exit(),
 * which emits neither event. Deno gets its own `beforeunload` event: touching `process` there would
 * start its Node layer (~30 ms of start-up).
 */
function exitIfStranded(): void {
  const host = globalThis as {
    Deno?: { exit(code: number): never };
    addEventListener?: (type: string, listener: () => void) => void;
    process?: { once?(event: string, listener: () => void): unknown; exit(code: number): void };
  };
  const stranded = () => {
    console.error(
      "Error: The event loop has nothing left to do, but the app has not finished loading, starting up or shutting down: it awaits a promise that can no longer settle.",
    );
    if (host.Deno) host.Deno.exit(EXIT.app);
    else host.process?.exit(EXIT.app);
  };
  if (host.Deno) host.addEventListener?.("beforeunload", stranded);
  else host.process?.once?.("beforeExit", stranded);
}

/** Entry: a process worker (TSUV_WORKER_BOOT set by its supervisor) or the CLI. */
async function entry(): Promise<void> {
  exitIfStranded();
  const { loadAdapter, processIO, startDirectory } = await import("./runtime/index.ts");
  const adapter = await loadAdapter();
  // Named now, before a deploy can swap a symlink under it (runtime/start-directory.ts).
  startDirectory();
  if (adapter.env.TSUV_WORKER_BOOT) {
    // A split specifier: see runtime/index.ts loadAdapter.
    const { runWorker } = (await import("./worker" + ".ts")) as typeof import("./worker.ts");
    adapter.exit(await runWorker(adapter));
  }
  adapter.exit(await main(adapter, processIO()));
}

/**
 * Run the command in this process, with this process's argv: what running this file does, and what
 * a launcher that imports it calls (bin/tsuv.mjs, the npm package's `tsuv` on Bun).
 */
export function runCommand(): void {
  entry().catch((error) => {
    console.error(`Error: ${errorMessage(error)}`);
    // Exit code 1 as a last resort: the error escaped every handler above.
    (globalThis as { process?: { exit(code: number): void } }).process?.exit(EXIT.config);
  });
}

const meta = import.meta as ImportMeta & { main?: boolean };
// Bun and Deno set import.meta.main; the Node bundle defines TSUV_NODE_ENTRY at build time.
declare const TSUV_NODE_ENTRY: boolean | undefined;
if (meta.main || (typeof TSUV_NODE_ENTRY !== "undefined" && TSUV_NODE_ENTRY)) runCommand();
