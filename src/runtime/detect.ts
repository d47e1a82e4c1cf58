/**
 * Runtime detection: which runtime runs tsuv, on which OS, and what it can do for workers.
 * `detectRuntime()` reads globals (and, on Deno, what its permissions allow: deno-permissions.ts);
 * everything else here is a pure function of its result, so the capability matrix is tested with
 * fake RuntimeInfo values (as the seed patches `is_free_threaded_runtime`).
 */

import { type DenoPermissionsApi, denoRespawn, denoThreadsDenied, type Respawn } from "./deno-permissions.ts";

export type { Respawn };

export type RuntimeName = "node" | "bun" | "deno";

export interface RuntimeCapabilities {
  /** Web Workers / worker_threads are available. */
  webWorkers: boolean;
  /** Several listeners on one port with SO_REUSEPORT, and the kernel balances between them. */
  reusePortBalances: boolean;
  /** The HTTP server can listen on an already-bound socket given by fd (systemd, parent-bound). */
  listenOnFd: boolean;
  /** A bound listening socket can be handed to a child process. */
  passSocketToChild: boolean;
  /** Deno only: the unstable net API (needed for Deno.serve reusePort) is enabled. */
  unstableNet: boolean;
  /** The HTTP server writes a current `date` on every response that lacks one (Bun.serve, Deno.serve). */
  writesDateHeader: boolean;
  /**
   * A request's peer address costs less to read than its headers: a property on Deno and Node (Node
   * caches it per connection), a native requestIP() call per request on Bun. Decides which the
   * proxy-header check looks at first (src/request-handler.ts).
   */
  peerAddressCheap: boolean;
  /**
   * Which client-certificate levels (--ssl-cert-reqs) the TLS server can enforce: Node both;
   * Bun.serve only "required" (with rejectUnauthorized off it takes any certificate, unverified,
   * where uvicorn's 1 refuses a bad one); Deno.serve none (denoland/deno#26825).
   */
  clientCertificates: "optional-and-required" | "required" | "none";
  /** The TLS server takes an OpenSSL cipher list (--ssl-ciphers); Deno.serve has no such option. */
  tlsCiphers: boolean;
  /**
   * The longest --timeout-keep-alive the server can keep, in seconds; null for no bound. Bun.serve's
   * idleTimeout is whole seconds up to 255. Node's keepAliveTimeout has none, and Deno.serve has no
   * idle timeout at all (denoland/deno#32497).
   */
  keepAliveLimitSeconds: number | null;
  /**
   * How tsuv starts its runtime again for a process worker or --reload's server: the runtime's own
   * flags to pass (Node and Bun: process.execArgv; Deno: its command line, which it shows only
   * under -A, deno-permissions.ts), or why it cannot.
   */
  respawn: Respawn;
  /**
   * Why the runtime's permission model keeps this process from starting thread workers, worded to
   * follow `Worker class "thread"`; null when nothing does. Deno: read access to tsuv's modules
   * (deno-permissions.ts); Node.js under --permission: --allow-worker and --allow-child-process.
   */
  threadsDenied: string | null;
}

/** Bun.serve's idleTimeout: whole seconds, 0 (off) to 255. */
export const BUN_MAX_IDLE_SECONDS = 255;

export interface RuntimeInfo {
  name: RuntimeName;
  /** "Node.js", "Bun", "Deno". */
  displayName: string;
  version: string;
  os: string;
  arch: string;
  capabilities: RuntimeCapabilities;
}

/** How workers share the listening socket. */
export type SocketSharing = "fd" | "reusePort";

/** Can the runtime do what an option asks? If not, the reason, worded for the one-line error. */
export type Support = { ok: true } | Refusal;
export type Refusal = { ok: false; reason: string };

export type ModeSupport = { ok: true; sharing: SocketSharing } | Refusal;

/** Oldest Node for thread workers: module.register (esbuild TS hook) and listen({fd}) in threads. */
export const MIN_NODE_FOR_THREADS = [20, 6] as const;

export function versionAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [m = 0, n = 0] = version.split(".").map((part) => Number.parseInt(part, 10));
  return m > major || (m === major && n >= minor);
}

function found(info: RuntimeInfo): string {
  return `found ${info.displayName} ${info.version} on ${info.os}`;
}

/** Thread workers: can N Web Workers in one process serve one port? */
export function threadModeSupport(info: RuntimeInfo): ModeSupport {
  const caps = info.capabilities;
  if (!caps.webWorkers) {
    return { ok: false, reason: `Worker class "thread" requires Web Workers; ${found(info)}.` };
  }
  if (caps.threadsDenied !== null) {
    return { ok: false, reason: `Worker class "thread" ${caps.threadsDenied}; ${found(info)}.` };
  }
  if (info.name === "node") {
    if (!versionAtLeast(info.version, MIN_NODE_FOR_THREADS)) {
      return {
        ok: false,
        reason: `Worker class "thread" requires Node.js ${MIN_NODE_FOR_THREADS.join(".")} or newer; ${found(info)}.`,
      };
    }
    if (!caps.listenOnFd) {
      return {
        ok: false,
        reason: `Worker class "thread" requires a listening socket shared by fd (not available on ${info.os}); ${found(info)}.`,
      };
    }
    return { ok: true, sharing: "fd" };
  }
  if (info.name === "deno" && !caps.unstableNet) {
    return {
      ok: false,
      reason: `Worker class "thread" requires Deno's unstable net API (run with --unstable-net, or "unstable": ["net"] in deno.json); ${found(info)}.`,
    };
  }
  if (!caps.reusePortBalances) {
    return {
      ok: false,
      reason: `Worker class "thread" requires SO_REUSEPORT load balancing (Linux); ${found(info)}.`,
    };
  }
  return { ok: true, sharing: "reusePort" };
}

/** Process workers (more than one): can N child processes serve one port? */
export function processModeSupport(info: RuntimeInfo): ModeSupport {
  const respawn = info.capabilities.respawn;
  if (!respawn.ok) {
    const threads =
      info.capabilities.threadsDenied === null
        ? ", or use --worker-class thread, whose workers share this process's permissions"
        : "";
    return { ok: false, reason: `Worker class "process" ${respawn.reason}${threads}; ${found(info)}.` };
  }
  if (info.capabilities.passSocketToChild) return { ok: true, sharing: "fd" };
  if (info.name === "deno" && !info.capabilities.unstableNet) {
    return {
      ok: false,
      reason: `Worker class "process" requires Deno's unstable net API (run with --unstable-net, or "unstable": ["net"] in deno.json); ${found(info)}.`,
    };
  }
  if (info.capabilities.reusePortBalances) return { ok: true, sharing: "reusePort" };
  return {
    ok: false,
    reason: `Worker class "process" with more than one worker requires SO_REUSEPORT load balancing (Linux) on ${info.displayName}; ${found(info)}.`,
  };
}

/** --reload: can the runtime start itself again to serve the app? */
export function reloadSupport(info: RuntimeInfo): Support {
  const respawn = info.capabilities.respawn;
  if (respawn.ok) return { ok: true };
  return { ok: false, reason: `--reload ${respawn.reason}; ${found(info)}.` };
}

/** Can `--fd` be served at all? */
export function fdSupport(info: RuntimeInfo): Support {
  if (info.capabilities.listenOnFd) return { ok: true };
  return {
    ok: false,
    reason: `--fd requires a runtime that can listen on an inherited socket; ${info.displayName} cannot (${found(info)}).`,
  };
}

/** --ssl-ciphers: can this runtime's TLS server be given a cipher list? */
export function cipherSupport(info: RuntimeInfo): Support {
  if (info.capabilities.tlsCiphers) return { ok: true };
  return {
    ok: false,
    reason: `--ssl-ciphers is not available: ${info.displayName}'s server takes no cipher list (it uses its TLS library's defaults); ${found(info)}.`,
  };
}

/** --ws bun: Bun.serve's own WebSocket handlers exist on Bun alone. */
export function nativeWebSocketSupport(info: RuntimeInfo): Support {
  if (info.name === "bun") return { ok: true };
  return {
    ok: false,
    reason: `--ws bun serves the app's websocket object as Bun.serve's own handlers (server.upgrade() in fetch), which only Bun has; ${found(info)}. Serve crossws hooks with --ws auto on every runtime (docs/websockets.md).`,
  };
}

declare const Bun: { version: string } | undefined;
declare const Deno:
  | (DenoPermissionsApi & {
      version: { deno: string };
      build: { os: string; arch: string };
      listen: unknown;
      [key: string]: unknown;
    })
  | undefined;

/** Deno's permission facts (deno-permissions.ts), read once: detectRuntime() runs several times. */
let denoFacts: Pick<RuntimeCapabilities, "respawn" | "threadsDenied"> | undefined;

/**
 * Read on first use, not at every start: a /proc read and a permission query, 2.2-3.1 ms of Deno
 * 2.9.6 start-up (9 ms in a cold first run), that a single server, which starts no worker, never
 * needs.
 */
function denoPermissionFacts(
  deno: DenoPermissionsApi,
): Pick<RuntimeCapabilities, "respawn" | "threadsDenied"> {
  denoFacts ??= {
    respawn: denoRespawn(deno),
    // The thread entry's directory (plumbing.ts, defaultThreadEntry): src/ from source, where
    // this file is src/runtime/detect.ts; dist/ in the bundle, where it is dist/cli.mjs.
    threadsDenied: denoThreadsDenied(
      deno,
      new URL(import.meta.url.endsWith(".ts") ? ".." : ".", import.meta.url),
    ),
  };
  return denoFacts;
}

function denoUnstableNet(): boolean {
  // Deno exposes the unstable-net-only API `Deno.listenDatagram` exactly when --unstable-net
  // (or "unstable": ["net"] in deno.json) is on; reusePort on Deno.serve needs the same flag.
  return typeof Deno !== "undefined" && typeof Deno.listenDatagram === "function";
}

/** Read the running runtime. */
export function detectRuntime(): RuntimeInfo {
  // Not on Deno: its first touch of the global `process` starts Node compatibility (~30 ms).
  const proc =
    typeof Deno !== "undefined"
      ? undefined
      : (
          globalThis as {
            process?: {
              versions: Record<string, string>;
              platform: string;
              arch: string;
              execArgv: string[];
              permission?: { has(scope: string): boolean };
            };
          }
        ).process;
  const os = typeof Deno !== "undefined" ? normalizeOs(Deno.build.os) : (proc?.platform ?? "unknown");
  const arch = typeof Deno !== "undefined" ? normalizeArch(Deno.build.arch) : (proc?.arch ?? "unknown");
  const linux = os === "linux";
  const webWorkers = typeof (globalThis as { Worker?: unknown }).Worker === "function" || proc !== undefined;

  if (typeof Deno !== "undefined") {
    const unstableNet = denoUnstableNet();
    const deno = Deno;
    return {
      name: "deno",
      displayName: "Deno",
      version: Deno.version.deno,
      os,
      arch,
      capabilities: {
        webWorkers: true,
        reusePortBalances: linux,
        listenOnFd: false, // denoland/deno#14006
        passSocketToChild: false,
        unstableNet,
        writesDateHeader: true,
        peerAddressCheap: true,
        clientCertificates: "none",
        tlsCiphers: false,
        keepAliveLimitSeconds: null,
        get respawn() {
          return denoPermissionFacts(deno).respawn;
        },
        get threadsDenied() {
          return denoPermissionFacts(deno).threadsDenied;
        },
      },
    };
  }
  if (typeof Bun !== "undefined") {
    return {
      name: "bun",
      displayName: "Bun",
      version: Bun.version,
      os,
      arch,
      capabilities: {
        webWorkers: true,
        reusePortBalances: linux, // macOS: the last binder gets every connection
        listenOnFd: false, // oven-sh/bun#36491 is not merged
        passSocketToChild: false,
        unstableNet: false,
        writesDateHeader: true,
        peerAddressCheap: false,
        clientCertificates: "required",
        tlsCiphers: true,
        keepAliveLimitSeconds: BUN_MAX_IDLE_SECONDS,
        respawn: { ok: true, runtimeArgs: proc?.execArgv ?? [] },
        threadsDenied: null,
      },
    };
  }
  const version = proc?.versions.node ?? "0.0.0";
  const unixLike = os !== "win32";
  return {
    name: "node",
    displayName: "Node.js",
    version,
    os,
    arch,
    capabilities: {
      webWorkers,
      reusePortBalances: linux && versionAtLeast(version, [22, 12]),
      listenOnFd: unixLike,
      passSocketToChild: unixLike,
      unstableNet: false,
      writesDateHeader: false,
      peerAddressCheap: true,
      clientCertificates: "optional-and-required",
      tlsCiphers: true,
      keepAliveLimitSeconds: null,
      ...nodePermissionFacts(proc?.permission, proc?.execArgv ?? []),
    },
  };
}

/**
 * What Node.js's permission model (`--permission`; process.permission exists only under it) keeps
 * tsuv's workers from doing: starting Node again needs --allow-child-process, and thread workers
 * need --allow-worker, and --allow-child-process too for the helper process that duplicates the
 * listening socket for each thread (node-fd-dup.ts).
 */
function nodePermissionFacts(
  permission: { has(scope: string): boolean } | undefined,
  execArgv: string[],
): Pick<RuntimeCapabilities, "respawn" | "threadsDenied"> {
  const model = "which Node.js's permission model (--permission) allows only with";
  const child = permission?.has("child") ?? true;
  const worker = permission?.has("worker") ?? true;
  return {
    respawn: child
      ? { ok: true, runtimeArgs: execArgv }
      : { ok: false, reason: `starts Node.js again, ${model} --allow-child-process` },
    threadsDenied: !worker
      ? `starts threads, ${model} --allow-worker`
      : !child
        ? `gives each thread its own copy of the listening socket through a helper process, ${model} --allow-child-process`
        : null,
  };
}

/** --ssl-cert-reqs 1 or 2: can this runtime's TLS server ask for and check client certificates so? */
export function clientCertSupport(info: RuntimeInfo, level: "1" | "2"): Support {
  const can = info.capabilities.clientCertificates;
  if (can === "optional-and-required" || (can === "required" && level === "2")) return { ok: true };
  const reason =
    can === "none"
      ? `${info.displayName}'s server cannot ask clients for certificates (denoland/deno#26825)`
      : `${info.displayName}'s server either requires a verified client certificate (--ssl-cert-reqs 2) or takes any certificate unverified, where 1 must refuse a bad one`;
  return { ok: false, reason: `--ssl-cert-reqs ${level} is not available: ${reason}; ${found(info)}.` };
}

function normalizeOs(os: string): string {
  return os === "windows" ? "win32" : os;
}

function normalizeArch(arch: string): string {
  return arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
}

/**
 * Node's workers share one parent-bound socket: one accept queue, so a restart resets nothing, but
 * whichever worker wakes first takes every connection waiting, and a burst of keep-alive
 * connections can all land on one worker and stay there (docs/workers.md, "Connection balance").
 * Where Node can listen with reusePort (22.12+, Linux, where the kernel balances) and the kernel
 * moves a closing listener's queued connections to another one (net.ipv4.tcp_migrate_req=1, read
 * by sysctl.ts), each worker gets its own reusePort listener instead: balanced, and still no
 * resets on restart. With the sysctl at 0 the shared socket stays.
 */
export function nodeBalancesWithReusePort(
  info: Pick<RuntimeInfo, "name" | "capabilities">,
  sysctl: string | undefined,
): boolean {
  return info.name === "node" && info.capabilities.reusePortBalances && sysctl?.trim() === "1";
}

/**
 * The start-up advice for workers that share a port with SO_REUSEPORT (Bun, Deno) on Linux while
 * net.ipv4.tcp_migrate_req is 0 (`sysctl` is its value, read by sysctl.ts; undefined when unreadable).
 * Why: each worker has its own listen queue, and when a worker closes its listener (rolling restart,
 * SIGTTOU, a replaced worker) the kernel resets the connections still queued on it; with
 * tcp_migrate_req=1 (Linux 5.14+) it moves them to another listener of the group instead.
 * A parent-bound shared socket (Node) has one queue and no such reset, so it gets no advice.
 */
export function tcpMigrateReqAdvice(
  info: Pick<RuntimeInfo, "os">,
  reusePort: boolean,
  workers: number,
  sysctl: string | undefined,
): string | undefined {
  if (info.os !== "linux" || !reusePort || workers < 2 || sysctl?.trim() !== "0") return undefined;
  return (
    "net.ipv4.tcp_migrate_req is 0: connections queued on a worker's listener are reset when that " +
    "worker stops (restart, scale-down). Run `sysctl -w net.ipv4.tcp_migrate_req=1` to have the " +
    "kernel move them to another worker instead."
  );
}
