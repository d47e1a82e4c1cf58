/**
 * What the running runtime can be asked to do: each worker class or option that needs a capability
 * gets its decision here, drawn from detect.ts's RuntimeInfo (and, for the kernel's part, the sysctl
 * value sysctl.ts reads): ok, or a refusal worded for the one-line error. Pure functions, so the
 * capability matrix is tested with fake RuntimeInfo values (test/detect.test.ts).
 */
import { type RuntimeInfo, versionAtLeast } from "./detect.ts";

/** How workers share the listening socket. */
export type SocketSharing = "fd" | "reusePort";

/** Can the runtime do what an option asks? If not, the reason, worded for the one-line error. */
export type Support = { ok: true } | Refusal;
export type Refusal = { ok: false; reason: string };

export type ModeSupport = { ok: true; sharing: SocketSharing } | Refusal;

/** Oldest Node for thread workers: module.register (esbuild TS hook) and listen({fd}) in threads. */
export const MIN_NODE_FOR_THREADS = [20, 6] as const;

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

/**
 * Listening at all: refused before the app is loaded where the permission model forbids it. Node.js
 * 26 under --permission without --allow-net threw from inside listen() (given a host, even an IP, from
 * its DNS lookup callback): an uncaught exception with its stack, then exit 3, where a bind error is
 * one line, exit 1.
 */
export function listenSupport(info: RuntimeInfo): Support {
  const denied = info.capabilities.listenDenied;
  if (denied === null) return { ok: true };
  return { ok: false, reason: `tsuv listens on a socket, ${denied}; ${found(info)}.` };
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

/**
 * Node's workers share one parent-bound socket: one accept queue, so a restart resets nothing, but
 * whichever worker wakes first takes every connection waiting, and a burst of keep-alive
 * connections can all land on one worker, until the supervisor moves some (supervisors/balance.ts,
 * docs/workers.md, "Connection balance").
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
