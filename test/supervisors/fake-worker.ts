/**
 * The worker side of a supervisor channel, faked: a channel and a server that drive the real
 * runWorker() (src/worker.ts), for the thread and process twins of the seed's Thread tests.
 */
import type { SignalName, SupervisorChannel, WorkerMessage } from "../../src/runtime/adapter.ts";
import type { ServerOptions } from "../../src/server.ts";
import { runWorker, type WorkerServer } from "../../src/worker.ts";
import { fakeAdapter } from "../helpers/fake-runtime.ts";
import { RecordingLogger } from "./fakes.ts";

export interface FakeWorkerOptions {
  /** A thread worker (true) or a child process (false). */
  thread: boolean;
  /** The fd the boot names. */
  fd: number;
  /** The server finishes with exit code 0 as soon as it is asked to shut down. */
  finishOnShutdown?: boolean;
  /** What the server says of its connections (Server.connections); none by default, as on Bun. */
  connections?: () => number | undefined;
  /** The options after the app in the boot's argv. */
  args?: string[];
}

export function fakeWorker({
  thread,
  fd,
  finishOnShutdown = false,
  connections,
  args = [],
}: FakeWorkerOptions) {
  const sent: WorkerMessage[] = [];
  let deliver: (message: WorkerMessage) => void = () => {};
  const channel: SupervisorChannel = {
    boot: { argv: ["main:app", ...args], listen: { kind: "fd", fd } },
    send: (message) => sent.push(message),
    onMessage: (listener) => {
      deliver = listener;
    },
    onDisconnect: () => {},
  };
  /** One entry per shutdown request: whether it was forced. */
  const shutdowns: boolean[] = [];
  let finish: (code: number) => void = () => {};
  /** The counts the server was asked to shed, in order. */
  const sheds: number[] = [];
  const server: WorkerServer = {
    started: true,
    connections,
    shed: (count) => sheds.push(count),
    serve: () => new Promise<number>((done) => (finish = done)),
    requestShutdown: (force = false) => {
      shutdowns.push(force);
      if (finishOnShutdown) finish(0);
    },
  };
  const signals = new Map<SignalName, () => void>();
  const adapter = {
    ...fakeAdapter(),
    supervisorChannel: () => channel,
    onSignal: (signal: SignalName, listener: () => void) => {
      signals.set(signal, listener);
      return () => signals.delete(signal);
    },
  };
  let serverOptions: ServerOptions | undefined;
  const running = runWorker(adapter, {
    thread,
    createLogger: () => new RecordingLogger(),
    createServer: (_config, _adapter, _logger, options) => {
      serverOptions = options;
      return server;
    },
  });
  return {
    sent,
    deliver: (message: WorkerMessage) => deliver(message),
    shutdowns,
    sheds,
    finish: (code: number) => finish(code),
    signals,
    running,
    /** What runWorker passed to createServer (its hooks: onTick, onReady). */
    serverOptions: () => serverOptions,
  };
}
