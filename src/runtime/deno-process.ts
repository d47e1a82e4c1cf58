/**
 * Deno's pid, environment, signals and exit from the Deno namespace rather than node:process, and
 * its timers from the web platform rather than node:timers (web-timer.ts): a single server on Deno
 * then never starts Deno's Node compatibility layer, which the first touch of node:process (or any
 * node:* module) does, ~30 ms of Deno 2.9.6 start-up (see paths.ts).
 * Thread and process workers still use the node:* plumbing (plumbing.ts), loaded when first used.
 */
import { nodeProcess } from "./builtin.ts";
import type { RuntimeInfo } from "./detect.ts";
import { hangupIgnoredFrom, PROC_STATUS, type ProcessBasics, signalSubscriber } from "./process-basics.ts";
import { webTimerAfter } from "./web-timer.ts";

/** The part of the Deno namespace used here (declared locally so tsc and deno check agree). */
interface DenoProcessApi {
  pid: number;
  env: {
    get(key: string): string | undefined;
    set(key: string, value: string): void;
    delete(key: string): void;
    has(key: string): boolean;
    toObject(): Record<string, string>;
  };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  readTextFileSync(path: string): string;
  stdin: { read(buffer: Uint8Array): Promise<number | null> };
}
declare const Deno: DenoProcessApi;

/** The global events Deno dispatches for stray errors; preventDefault() keeps the process alive. */
interface StrayEvent {
  preventDefault(): void;
  readonly error?: unknown;
  readonly reason?: unknown;
}
declare function addEventListener(type: string, listener: (event: StrayEvent) => void): void;
declare function removeEventListener(type: string, listener: (event: StrayEvent) => void): void;

export function denoProcessBasics(info: RuntimeInfo): ProcessBasics {
  return {
    pid: Deno.pid,
    env: liveEnv(Deno.env),
    onSignal: signalSubscriber(
      info,
      (signal, handler) => Deno.addSignalListener(signal, handler),
      (signal, handler) => Deno.removeSignalListener(signal, handler),
    ),
    hangupIgnored: () => hangupIgnoredFrom(() => Deno.readTextFileSync(PROC_STATUS)),
    // Deno's own global events (in workers too): node:process's would start the Node layer.
    onStrayError(listener) {
      const exception = (event: StrayEvent) => {
        event.preventDefault();
        listener("exception", event.error);
      };
      const rejection = (event: StrayEvent) => {
        event.preventDefault();
        listener("rejection", event.reason);
      };
      addEventListener("error", exception);
      addEventListener("unhandledrejection", rejection);
      return () => {
        removeEventListener("error", exception);
        removeEventListener("unhandledrejection", rejection);
      };
    },
    // Through node:process (builtin.ts), read only now: its exit runs the app's process.on("exit") handlers,
    // which Deno.exit skips. At exit the Node compatibility layer's start-up cost does not matter.
    exit: (code: number) => nodeProcess().exit(code),
    after: webTimerAfter,
  };
}

/**
 * Resolves once stdin reads its end: a process worker's stdin is a pipe its supervisor never writes
 * to (WorkerBoot.parentPipe), so its end means the supervisor is gone (plumbing.ts, parentPipeEnd).
 * A read that fails (the pipe broken) says the same. Waiting costs no wake-ups.
 */
export async function stdinEnd(): Promise<void> {
  const buffer = new Uint8Array(64);
  try {
    while ((await Deno.stdin.read(buffer)) !== null) {}
  } catch {
    // An error on the pipe is its end too.
  }
}

/**
 * The environment as a plain-looking object that reads and writes Deno.env, as process.env does
 * on Deno: what an env file sets is seen by the app, whichever API it reads.
 */
function liveEnv(env: DenoProcessApi["env"]): Record<string, string | undefined> {
  return new Proxy({} as Record<string, string | undefined>, {
    get: (_target, key) => (typeof key === "string" ? env.get(key) : undefined),
    set: (_target, key, value) => {
      if (typeof key !== "string") return false;
      env.set(key, String(value));
      return true;
    },
    deleteProperty: (_target, key) => {
      if (typeof key === "string") env.delete(key);
      return true;
    },
    has: (_target, key) => typeof key === "string" && env.has(key),
    ownKeys: () => Object.keys(env.toObject()),
    getOwnPropertyDescriptor: (_target, key) => {
      if (typeof key !== "string") return undefined;
      const value = env.get(key);
      return value === undefined
        ? undefined
        : { value, writable: true, enumerable: true, configurable: true };
    },
  });
}
