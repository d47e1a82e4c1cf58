/** Fake RuntimeInfo and RuntimeAdapter values, as the seed fakes Thread and patches the runtime check. */
import type { RuntimeAdapter } from "../../src/runtime/adapter.ts";
import type { RuntimeInfo } from "../../src/runtime/detect.ts";
import type { ProcessIO } from "../../src/runtime/index.ts";
import { timerAfter } from "../../src/runtime/process-basics.ts";

export function fakeRuntime(
  overrides: Partial<RuntimeInfo> & { caps?: Partial<RuntimeInfo["capabilities"]> } = {},
): RuntimeInfo {
  const { caps, ...rest } = overrides;
  return {
    name: "node",
    displayName: "Node.js",
    version: "24.9.0",
    os: "linux",
    arch: "x64",
    ...rest,
    capabilities: {
      webWorkers: true,
      reusePortBalances: true,
      listenOnFd: true,
      passSocketToChild: true,
      unstableNet: false,
      writesDateHeader: false,
      peerAddressCheap: true,
      fetchDecoding: null,
      clientCertificates: "optional-and-required",
      tlsCiphers: true,
      idleConnectionTimeout: "unbounded",
      fixedBacklog: { tcp: null, unix: null },
      respawn: { ok: true, runtimeArgs: [] },
      threadsDenied: null,
      listenDenied: null,
      ...caps,
    },
  };
}

/** An adapter whose every side effect is refused: CLI tests only resolve config and pick a mode. */
export function fakeAdapter(
  info: RuntimeInfo = fakeRuntime(),
  env: Record<string, string | undefined> = {},
): RuntimeAdapter {
  const refuse = (what: string) => () => {
    throw new Error(`fake adapter: ${what} not expected in this test`);
  };
  return {
    info,
    env,
    pid: 4242,
    serve: refuse("serve"),
    importModule: refuse("importModule"),
    onSignal: () => () => {},
    exit: refuse("exit") as () => never,
    after: timerAfter,
    bindSharedSocket: refuse("bindSharedSocket"),
    reservePort: refuse("reservePort"),
    startThread: refuse("startThread"),
    spawnProcess: refuse("spawnProcess"),
    supervisorChannel: () => null,
  };
}

export interface CapturedIO extends ProcessIO {
  out: string[];
  err: string[];
}

export function captureIO(argv: string[], exists: (path: string) => boolean = () => true): CapturedIO {
  const out: string[] = [];
  const err: string[] = [];
  return {
    argv,
    out,
    err,
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
    isTTY: false,
    noColor: true,
    exists,
  };
}
