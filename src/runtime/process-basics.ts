/**
 * A process's basics for a runtime adapter: pid, environment, signals, stray errors, exit and
 * timers. Node's and Bun's come from node:process here; Deno brings its own (deno-process.ts), so
 * that a single server there loads no node:* module. Both subscribe to signals the same way.
 */
import { deniedByPermissions } from "../errors.ts";
import type { RuntimeAdapter, SignalName } from "./adapter.ts";
import { nodeFs, nodeProcess } from "./builtin.ts";
import type { RuntimeInfo } from "./detect.ts";

/** pid, env, signals, exit and timers: node:process's on Node and Bun, the Deno namespace's on Deno. */
export type ProcessBasics = Pick<
  RuntimeAdapter,
  "pid" | "env" | "onSignal" | "signalListenerCount" | "hangupIgnored" | "onStrayError" | "exit" | "after"
>;

/** pid, env, signals and exit through node:process; timers are the global setTimeout. */
export function nodeProcessBasics(info: RuntimeInfo): ProcessBasics {
  const process = nodeProcess();
  return {
    pid: process.pid,
    env: process.env,
    onSignal: signalSubscriber(
      info,
      (signal, handler) => process.on(signal, handler),
      (signal, handler) => process.off(signal, handler),
    ),
    signalListenerCount: (signal) => process.listenerCount(signal) - ownSignalListeners(signal),
    hangupIgnored: () => hangupIgnoredFrom(() => nodeFs().readFileSync(PROC_STATUS, "utf8")),
    // A listener for either event is what keeps node:process (Node, Bun, in threads too) alive.
    onStrayError(listener) {
      const exception = (error: unknown) => listener("exception", error);
      const rejection = (reason: unknown) => listener("rejection", reason);
      process.on("uncaughtException", exception);
      process.on("unhandledRejection", rejection);
      return () => {
        process.off("uncaughtException", exception);
        process.off("unhandledRejection", rejection);
      };
    },
    exit: (code) => process.exit(code),
    after: timerAfter,
  };
}

/** Where Linux says which signals the process ignores. */
export const PROC_STATUS = "/proc/self/status";

/**
 * RuntimeAdapter.hangupIgnored from /proc/self/status, as `read` reads it; undefined where it cannot
 * be read (no /proc: macOS, Windows). Where a permission model hides it (Deno without -A; Node's
 * --permission without read access to it), no: those are Node and Deno, and both reset an ignored
 * SIGHUP to its default at start-up (measured under nohup), so SIGHUP would end the process at once.
 */
export function hangupIgnoredFrom(read: () => string): boolean | undefined {
  try {
    return hangupIgnoredIn(read());
  } catch (error) {
    return deniedByPermissions(error) ? false : undefined;
  }
}

/**
 * RuntimeAdapter.hangupIgnored from /proc/self/status: its `SigIgn:` line is a hex mask with bit
 * n-1 set for each ignored signal n, and SIGHUP is 1. Undefined without that line.
 */
export function hangupIgnoredIn(procStatus: string | undefined): boolean | undefined {
  const mask = procStatus?.match(/^SigIgn:\s*([0-9a-fA-F]+)\s*$/m)?.[1];
  if (mask === undefined) return undefined;
  return (Number.parseInt(mask.slice(-1), 16) & 1) === 1;
}

/** RuntimeAdapter.after with the global setTimeout (Node, Bun, and test doubles). */
export function timerAfter(ms: number, callback: () => void): () => void {
  const timer = setTimeout(callback, ms);
  return () => clearTimeout(timer);
}

/**
 * onSignal over a runtime's add/remove listener pair: a signal the OS or runtime does not have is
 * a no-op subscription rather than an error.
 */
export function signalSubscriber(
  info: RuntimeInfo,
  add: (signal: SignalName, handler: () => void) => void,
  remove: (signal: SignalName, handler: () => void) => void,
): RuntimeAdapter["onSignal"] {
  return (signal, listener) => {
    // SIGBREAK exists only on Windows; Deno throws for it (and for most signals on Windows).
    if (signal === "SIGBREAK" && info.os !== "win32") return () => {};
    const handler = () => listener();
    try {
      add(signal, handler);
    } catch {
      return () => {};
    }
    ownListeners.set(signal, ownSignalListeners(signal) + 1);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      remove(signal, handler);
      ownListeners.set(signal, ownSignalListeners(signal) - 1);
    };
  };
}

/**
 * tsuv's own signal listeners in this thread, whichever adapter added them: two servers that the
 * library's run() started in one process each count the other's as tsuv's, not as the app's.
 */
const ownListeners = new Map<SignalName, number>();

function ownSignalListeners(signal: SignalName): number {
  return ownListeners.get(signal) ?? 0;
}
