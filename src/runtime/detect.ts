/**
 * Runtime detection: which runtime runs tsuv, on which OS, and what it can do for workers.
 * `detectRuntime()` reads globals (and, on Deno, what its permissions allow: deno-permissions.ts).
 * What tsuv decides from the result (may this worker class or option run here, and if not, why)
 * is support.ts, pure functions tested with fake RuntimeInfo values (as the seed patches
 * `is_free_threaded_runtime`).
 */

import type { FetchDecoding } from "../fetch-decoding.ts";
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
   * proxy-header check looks at first while the access log is off (with it on, the peer is read for
   * every line anyway and comes first: src/request-handler.ts).
   */
  peerAddressCheap: boolean;
  /**
   * Which answers the runtime's fetch() decodes (fetch-decoding.ts), so that one returned as it is
   * goes out without the headers of its compressed form; null where tsuv leaves that to the
   * runtime's server (Bun.serve sends the decoded body with its Content-Encoding: oven-sh/bun#35546).
   * Measured against an upstream sending each coding: Deno 2.9 decodes `gzip` and `br` alone;
   * Node's undici `gzip`, `x-gzip`, `deflate`, `br` and lists of them, and `zstd` from undici 7
   * (Node 24) where zlib has it.
   */
  fetchDecoding: FetchDecoding | null;
  /**
   * Which client-certificate levels (--ssl-cert-reqs) the TLS server can enforce: Node both;
   * Bun.serve only "required" (with rejectUnauthorized off it takes any certificate, unverified,
   * where uvicorn's 1 refuses a bad one); Deno.serve none (denoland/deno#26825).
   */
  clientCertificates: "optional-and-required" | "required" | "none";
  /** The TLS server takes an OpenSSL cipher list (--ssl-ciphers); Deno.serve has no such option. */
  tlsCiphers: boolean;
  /**
   * When the server closes a kept-alive connection left idle (--timeout-keep-alive): after any time
   * it is given ("unbounded": Node's keepAliveTimeout), after at most `maxSeconds` (Bun.serve's
   * idleTimeout is whole seconds up to 255), or never: Deno.serve has no idle timeout, so such a
   * connection stays open until the client closes it (denoland/deno#32497).
   */
  idleConnectionTimeout: "unbounded" | { maxSeconds: number } | "never";
  /**
   * The listen backlog the server keeps whatever --backlog says, by kind of socket; null where
   * --backlog is honoured. Bun.serve (and Bun's node:http, built on it) has no backlog option and
   * listens with 512; Deno.serve takes one for TCP (tcpBacklog) but not for a unix socket, 1024.
   */
  fixedBacklog: { tcp: number | null; unix: number | null };
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
  /**
   * Why the runtime's permission model keeps this process from listening at all, worded to follow
   * `tsuv listens on a socket,`; null when nothing does. Node.js 25+ under --permission: --allow-net
   * (Node.js 20-24 have no network permission). Deno names the missing --allow-net itself, for the
   * exact address, when the bind fails.
   */
  listenDenied: string | null;
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

/** What Node's fetch() (its bundled undici) decodes: zstd from undici 7, where zlib has zstd. */
export function nodeFetchDecoding(versions: Partial<Record<string, string>>): FetchDecoding {
  const zstd = versions.zstd !== undefined && Number.parseInt(versions.undici ?? "0", 10) >= 7;
  return { codings: ["gzip", "x-gzip", "deflate", "br", ...(zstd ? ["zstd"] : [])], chains: true };
}

export function versionAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [m = 0, n = 0] = version.split(".").map((part) => Number.parseInt(part, 10));
  return m > major || (m === major && n >= minor);
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
    // this file is src/runtime/detect.ts; dist/ in the bundle, where it is dist/cli-bundle.mjs
    // (dist/deno/ in Deno's build, where it is a chunk there).
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
              allowedNodeEnvironmentFlags: ReadonlySet<string>;
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
        fetchDecoding: { codings: ["gzip", "br"], chains: false },
        clientCertificates: "none",
        tlsCiphers: false,
        idleConnectionTimeout: "never",
        fixedBacklog: { tcp: null, unix: 1024 },
        get respawn() {
          return denoPermissionFacts(deno).respawn;
        },
        get threadsDenied() {
          return denoPermissionFacts(deno).threadsDenied;
        },
        listenDenied: null,
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
        fetchDecoding: null,
        clientCertificates: "required",
        tlsCiphers: true,
        idleConnectionTimeout: { maxSeconds: BUN_MAX_IDLE_SECONDS },
        fixedBacklog: { tcp: 512, unix: 512 },
        respawn: { ok: true, runtimeArgs: proc?.execArgv ?? [] },
        threadsDenied: null,
        listenDenied: null,
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
      fetchDecoding: nodeFetchDecoding(proc?.versions ?? {}),
      clientCertificates: "optional-and-required",
      tlsCiphers: true,
      idleConnectionTimeout: "unbounded",
      fixedBacklog: { tcp: null, unix: null },
      ...nodePermissionFacts(proc?.permission, proc?.execArgv ?? [], () =>
        Boolean(proc?.allowedNodeEnvironmentFlags.has("--allow-net")),
      ),
    },
  };
}

/**
 * What Node.js's permission model (`--permission`; process.permission exists only under it) keeps
 * tsuv from doing: listening needs --allow-net where the model has a network permission (Node.js
 * 25+, `hasNetPermission`; Node 20-24 answer has("net") false yet never check it), starting Node
 * again needs --allow-child-process, and thread workers need --allow-worker, and
 * --allow-child-process too for the helper process that duplicates the listening socket for each
 * thread (node-fd-dup.ts).
 */
export function nodePermissionFacts(
  permission: { has(scope: string): boolean } | undefined,
  execArgv: string[],
  hasNetPermission: () => boolean,
): Pick<RuntimeCapabilities, "respawn" | "threadsDenied" | "listenDenied"> {
  const model = "which Node.js's permission model (--permission) allows only with";
  const child = permission?.has("child") ?? true;
  const worker = permission?.has("worker") ?? true;
  // Asked only under the model: allowedNodeEnvironmentFlags is a set Node builds on first read.
  const netAllowed = !permission || !hasNetPermission() || permission.has("net");
  return {
    listenDenied: netAllowed ? null : `${model} --allow-net`,
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

function normalizeOs(os: string): string {
  return os === "windows" ? "win32" : os;
}

function normalizeArch(arch: string): string {
  return arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
}
