/**
 * The client address given to the app when the transport has none (a unix socket): one shared,
 * frozen object, so the per-request path allocates nothing for it. uvicorn has no client there
 * either (scope["client"] is None); an empty host and port 0 keep the ClientAddress shape.
 */
import type { ClientAddress, RequestInfo } from "./adapter.ts";

export const NO_PEER: ClientAddress = Object.freeze({ hostname: "", port: 0 });

export const NO_PEER_INFO: RequestInfo = Object.freeze({ remoteAddr: NO_PEER });
