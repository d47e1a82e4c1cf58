/**
 * Fakes for the supervisor tests, as the seed's FakeThread: WorkerPorts whose health, readiness and
 * stop behaviour a test sets, an adapter that hands them out, a virtual clock, and a logger that
 * records lines. Nothing here waits in real time (beyond a zero-delay turn to settle promises).
 */
import { type Config, resolveConfig } from "../../src/config.ts";
import type { Logger, LogLevel } from "../../src/logging.ts";
import type {
  BoundAddress,
  RuntimeAdapter,
  SharedSocket,
  SignalName,
  WorkerBoot,
  WorkerMessage,
  WorkerPort,
} from "../../src/runtime/adapter.ts";
import type { RuntimeInfo } from "../../src/runtime/detect.ts";
import type { Clock } from "../../src/supervisors/clock.ts";
import { fakeAdapter, fakeRuntime } from "../helpers/fake-runtime.ts";

/** Let queued microtasks and zero-delay timers run. */
export const settle = () => new Promise<void>((done) => setTimeout(done, 0));

/** Virtual time: sleep() advances it at once, running scheduled callbacks and tick hooks on the way. */
export class FakeClock implements Clock {
  t = 0;
  private scheduled: { at: number; fn: () => void }[] = [];
  /** Called after every sleep (the harness emits heartbeats from healthy fakes here). */
  readonly onAdvance: (() => void)[] = [];
  private sleeps = 0;

  now(): number {
    return this.t;
  }

  /** Run `fn` once virtual time reaches `at` (ms). */
  at(at: number, fn: () => void): void {
    this.scheduled.push({ at, fn });
    this.scheduled.sort((a, b) => a.at - b.at);
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps += 1;
    if (this.sleeps > 200_000) throw new Error("FakeClock: runaway loop");
    const end = this.t + ms;
    while (this.scheduled.length > 0 && (this.scheduled[0] as { at: number }).at <= end) {
      const next = this.scheduled.shift() as { at: number; fn: () => void };
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    for (const hook of this.onAdvance) hook();
    await settle();
  }

  /** Advance without a supervisor sleeping (for direct-call tests). */
  advance(ms: number): Promise<void> {
    return this.sleep(ms);
  }
}

let nextPid = 1000;

/** A worker the test controls (seed: FakeThread). */
export class FakeWorkerPort implements WorkerPort {
  readonly pid: number | undefined;
  readonly sent: WorkerMessage[] = [];
  /** Answers heartbeats/pings (seed: `healthy`). */
  healthy = true;
  /** Exits when asked to stop (seed: `join_result`). */
  exitOnStop = true;
  /** Dies when killed (a Deno thread in `while (true)` would not, but its exit event still fires). */
  dieOnKill = true;
  killed = false;
  stopped = false;
  ready = false;
  exitCode: number | null | undefined = undefined;
  private messageListeners: ((message: WorkerMessage) => void)[] = [];
  private exitListeners: ((code: number | null) => void)[] = [];

  constructor(
    readonly kind: "thread" | "process",
    readonly boot: WorkerBoot,
    readonly shared: SharedSocket | null = null,
  ) {
    this.pid = kind === "process" ? nextPid++ : undefined;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  send(message: WorkerMessage): void {
    this.sent.push(message);
    if (!this.alive) return;
    if (message.type === "stop") {
      this.stopped = true;
      if (this.exitOnStop) this.exit(0);
    } else if (message.type === "ping" && this.healthy) {
      this.emit({ type: "pong", id: message.id });
    }
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (code: number | null) => void): void {
    this.exitListeners.push(listener);
  }

  kill(): void {
    this.killed = true;
    if (this.dieOnKill) this.exit(null);
  }

  emit(message: WorkerMessage): void {
    if (!this.alive) return;
    for (const listener of this.messageListeners) listener(message);
  }

  markReady(address: BoundAddress = { kind: "tcp", host: "127.0.0.1", port: 8000 }): void {
    this.ready = true;
    this.emit({ type: "ready", address });
  }

  heartbeat(): void {
    this.emit({ type: "heartbeat" });
  }

  fatal(exitCode = 3, message = "Application startup failed. Exiting."): void {
    this.emit({ type: "fatal", exitCode, message });
  }

  exit(code: number | null): void {
    if (!this.alive) return;
    this.exitCode = code;
    for (const listener of this.exitListeners) listener(code);
  }

  pings(): number {
    return this.sent.filter((m) => m.type === "ping").length;
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { level: LogLevel; message: string }[] = [];
  readonly accessEnabled = false;
  private log = (level: LogLevel) => (message: string) => {
    this.lines.push({ level, message });
  };
  critical = this.log("critical");
  error = this.log("error");
  warning = this.log("warning");
  info = this.log("info");
  debug = this.log("debug");
  trace = this.log("trace");
  exception(message: string, error: unknown): void {
    this.lines.push({ level: "error", message: `${message}: ${String(error)}` });
  }
  access(): void {}
  enabled(): boolean {
    return true;
  }
  child(): Logger {
    return this;
  }
  flush(): void {}
  messages(level?: LogLevel): string[] {
    return this.lines.filter((line) => !level || line.level === level).map((line) => line.message);
  }
  get last(): string | undefined {
    return this.lines.at(-1)?.message;
  }
}

export interface HarnessOptions {
  argv?: string[];
  runtime?: RuntimeInfo;
  /** Fakes report ready on their own right after they start (default true). */
  autoReady?: boolean;
  /** What the fake adapter's reservePort answers for port 0. */
  probedPort?: number;
  /** The fd the fake adapter's bindSharedSocket returns (null: it declines). */
  sharedFd?: number | null;
}

export interface Harness {
  config: Config;
  clock: FakeClock;
  /**
   * What a supervisor under test gets: the virtual clock, and net.ipv4.tcp_migrate_req at its
   * default 0, so the host's sysctl does not change how the fakes listen (at 1, Node workers would
   * take reusePort: src/runtime/detect.ts nodeBalancesWithReusePort).
   */
  deps: { clock: FakeClock; readTcpMigrateReq: () => string };
  logger: RecordingLogger;
  adapter: RuntimeAdapter;
  /** Every fake port started, in order. */
  ports: FakeWorkerPort[];
  /** Deliver a signal to the supervisor's listeners (queued, as a real signal handler does). */
  raise(signal: SignalName): void;
  subscribed: Set<SignalName>;
  sharedClosed: () => boolean;
  probed: { host: string; port: number }[];
  /** How many times release() of the reserved port was called (reservePort; the real one is idempotent). */
  released: () => number;
}

export function harness(kind: "thread" | "process", options: HarnessOptions = {}): Harness {
  const runtime = options.runtime ?? fakeRuntime();
  const argv = options.argv ?? [
    "main:app",
    "--workers",
    "2",
    ...(kind === "thread" ? ["--worker-class", "thread"] : []),
  ];
  const config = resolveConfig(argv, {}, { runtime });
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const ports: FakeWorkerPort[] = [];
  const listeners = new Map<SignalName, Set<() => void>>();
  const subscribed = new Set<SignalName>();
  let closed = false;
  const probed: { host: string; port: number }[] = [];
  let released = 0;
  const autoReady = options.autoReady ?? true;

  const make = (boot: WorkerBoot, shared: SharedSocket | null) => {
    const port = new FakeWorkerPort(kind, boot, shared);
    ports.push(port);
    if (autoReady) queueMicrotask(() => port.markReady());
    return port;
  };
  const sharedFd = options.sharedFd === undefined ? 10 : options.sharedFd;
  const adapter: RuntimeAdapter = {
    ...fakeAdapter(runtime),
    pid: 4242,
    onSignal(signal, listener) {
      subscribed.add(signal);
      const set = listeners.get(signal) ?? new Set();
      set.add(listener);
      listeners.set(signal, set);
      return () => {
        set.delete(listener);
        subscribed.delete(signal);
      };
    },
    async bindSharedSocket(target) {
      if (sharedFd === null) return null;
      const address: BoundAddress =
        target.kind === "tcp"
          ? { kind: "tcp", host: target.host, port: target.port || 5555 }
          : target.kind === "unix"
            ? { kind: "unix", path: target.path }
            : { kind: "fd", fd: target.fd };
      return {
        // An inherited socket (--fd) is shared as it is.
        fd: target.kind === "fd" ? target.fd : sharedFd,
        address,
        close: () => {
          closed = true;
        },
      };
    },
    async reservePort(host, port) {
      probed.push({ host, port });
      return {
        port: port === 0 ? (options.probedPort ?? 4321) : port,
        release: () => {
          released++;
        },
      };
    },
    startThread: (boot) => make(boot, null),
    spawnProcess: (boot, shared) => make(boot, shared),
  };
  // Healthy, ready fakes heartbeat whenever time passes (a Server ticks once a second).
  clock.onAdvance.push(() => {
    for (const port of ports) if (port.alive && port.ready && port.healthy) port.heartbeat();
  });
  return {
    config,
    clock,
    deps: { clock, readTcpMigrateReq: () => "0" },
    logger,
    adapter,
    ports,
    raise(signal) {
      for (const listener of listeners.get(signal) ?? []) listener();
    },
    subscribed,
    sharedClosed: () => closed,
    probed,
    released: () => released,
  };
}
