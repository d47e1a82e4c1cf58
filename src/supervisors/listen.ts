/**
 * Where a supervisor's workers listen. The parent binds first where the runtime can share the
 * socket (Node: a parent-bound fd that threads listen on and children inherit), so a busy port
 * fails before any worker starts and connections queue while a worker restarts. Elsewhere (Bun,
 * Deno) workers each bind with reusePort; the parent still reserves the port first, which fails
 * fast on a busy port and turns port 0 into one real port that every worker then binds. Node on TCP
 * takes reusePort too where the kernel migrates queued connections (nodeBalancesWithReusePort).
 */
import type { Config } from "../config.ts";
import { ConfigError, EXIT, errorMessage, TsuvError } from "../errors.ts";
import { describeAddress, listenTargetFromConfig } from "../listen-address.ts";
import type { Logger } from "../logging.ts";
import type {
  BoundAddress,
  ListenTarget,
  PortReservation,
  RuntimeAdapter,
  SharedSocket,
} from "../runtime/adapter.ts";
import { nodeBalancesWithReusePort } from "../runtime/support.ts";

export interface PreparedListen {
  /** What each worker's boot says to listen on. */
  listen: ListenTarget;
  /** The parent-bound socket handed to workers, if any (closed by the supervisor at the end). */
  shared: SharedSocket | null;
  /** The port workers bind with reusePort, held by the parent until the first of them listens. */
  reserved: PortReservation | null;
  /** What to announce ("tsuv running on ..."). */
  address: BoundAddress;
}

/**
 * Run a supervisor's prepare step; a failure (busy port, unshareable socket) is logged and becomes
 * the exit code the supervisor stops with before any worker starts.
 */
export async function prepareOrExitCode(
  prepare: () => Promise<PreparedListen>,
  logger: Pick<Logger, "error">,
): Promise<PreparedListen | number> {
  try {
    return await prepare();
  } catch (error) {
    logger.error(errorMessage(error));
    return error instanceof TsuvError ? error.exitCode : EXIT.config;
  }
}

/** The URL of the "tsuv running on ..." line: https once TLS is configured. */
export function announcedUrl(
  config: Pick<Config, "sslKeyfile" | "sslCertfile">,
  address: BoundAddress,
): string {
  return describeAddress(address, config.sslKeyfile && config.sslCertfile ? "https" : "http");
}

export async function prepareListen(
  config: Config,
  adapter: Pick<RuntimeAdapter, "bindSharedSocket" | "reservePort" | "info">,
  /** net.ipv4.tcp_migrate_req as sysctl.ts reads it (undefined: unreadable). */
  tcpMigrateReq?: string,
): Promise<PreparedListen> {
  const target = listenTargetFromConfig(config);
  const balance = target.kind === "tcp" && nodeBalancesWithReusePort(adapter.info, tcpMigrateReq);
  if (config.socketSharing === "fd" && !balance) {
    const shared = await adapter.bindSharedSocket(target, config.backlog);
    if (shared)
      return { listen: { kind: "fd", fd: shared.fd }, shared, reserved: null, address: shared.address };
  }
  if (target.kind !== "tcp") {
    const flag = target.kind === "unix" ? "--uds" : "--fd";
    throw new ConfigError(
      `${flag} with more than one worker requires a socket the parent can share with its workers, which ${adapter.info.displayName} cannot do; use --host/--port.`,
    );
  }
  const reserved = await adapter.reservePort(target.host, target.port);
  const port = reserved.port;
  return {
    listen: { kind: "tcp", host: target.host, port, reusePort: true },
    shared: null,
    reserved,
    address: { kind: "tcp", host: target.host, port },
  };
}
