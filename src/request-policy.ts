/**
 * What uvicorn's per-request options make of a Config, built once per server and shared by the
 * fetch path (request-handler.ts) and the node path (node-app-handler.ts): the default headers,
 * the --limit-concurrency count, the trusted proxies, and the --limit-max-requests count.
 */
import type { Config } from "./config.ts";
import type { FetchDecoding } from "./fetch-decoding.ts";
import type { Logger } from "./logging.ts";
import { createDefaultHeaders, type DefaultHeaders } from "./middleware/default-headers.ts";
import { ConcurrencyLimit, MaxRequests, maxRequestsMessage } from "./middleware/limits.ts";
import { createTrustedHosts, type TrustedHosts } from "./middleware/proxy-headers.ts";

export interface RequestPolicy {
  readonly defaultHeaders: DefaultHeaders;
  /** --limit-concurrency, or null when unlimited. */
  readonly concurrency: ConcurrencyLimit | null;
  /** Proxies trusted for X-Forwarded-* (--proxy-headers), or null when off. */
  readonly trusted: TrustedHosts | null;
  /**
   * Count one request against --limit-max-requests (null when unlimited): at the limit, uvicorn's
   * warning and onMaxRequests, once.
   */
  readonly countRequest: (() => void) | null;
}

/** What a server shares with its WebSocket layer (server.ts): the same headers, slots and proxies. */
export type SharedPolicy = Pick<RequestPolicy, "defaultHeaders" | "concurrency" | "trusted">;

export function createRequestPolicy(
  config: Config,
  logger: Logger,
  onMaxRequests: () => void,
  /** The runtime's server writes a current date itself (default-headers.ts). */
  runtimeDate = false,
  /** What the runtime's fetch() decodes (default-headers.ts, fetch-decoding.ts). */
  fetchDecoding: FetchDecoding | null = null,
): RequestPolicy {
  const defaultHeaders = createDefaultHeaders({
    serverHeader: config.serverHeader,
    dateHeader: config.dateHeader,
    headers: config.headers,
    runtimeDate,
    fetchDecoding,
  });
  const maxRequests = config.limitMaxRequests
    ? new MaxRequests(config.limitMaxRequests, config.limitMaxRequestsJitter)
    : null;
  let reached = false;
  return {
    defaultHeaders,
    concurrency: config.limitConcurrency ? new ConcurrencyLimit(config.limitConcurrency) : null,
    trusted: config.proxyHeaders ? createTrustedHosts(config.forwardedAllowIps) : null,
    countRequest:
      maxRequests === null
        ? null
        : () => {
            if (!maxRequests.count() || reached) return;
            reached = true;
            logger.warning(maxRequestsMessage(maxRequests.limit as number));
            onMaxRequests();
          },
  };
}
