/**
 * The per-request path around a fetch-interface app: concurrency limit, proxy headers, the app
 * call (errors become a logged 500), default headers, the access log, and in-flight tracking for
 * graceful shutdown. This is the hot path: no per-request work that can be shared, no promise
 * wrapping when the app answers synchronously, no string work when the access log is off.
 */
import { BackgroundTasks, type FetchWithContext, installRequestWaitUntil } from "./background-tasks.ts";
import type { Config } from "./config.ts";
import { adoptForeignResponse } from "./foreign-response.ts";
import { internalServerError } from "./http-status.ts";
import { InFlight } from "./in-flight.ts";
import { clientLabel, type Logger } from "./logging.ts";
import type { DefaultHeaders } from "./middleware/default-headers.ts";
import { type ConcurrencyLimit, serviceUnavailable } from "./middleware/limits.ts";
import { applyProxyHeaders } from "./middleware/proxy-headers.ts";
import { isNativeResponse, responseGlobalReplaced } from "./native-response.ts";
import { attachInfo, installRequestIp } from "./request-ip.ts";
import { createRequestPolicy, type SharedPolicy } from "./request-policy.ts";
import { withUrl } from "./request-url.ts";
import type { FetchHandler, RequestInfo, RuntimeAdapter } from "./runtime/adapter.ts";
import type { RuntimeCapabilities } from "./runtime/detect.ts";

export interface HandlerState extends SharedPolicy {
  /**
   * Requests being handled now: the app returned a promise that has not settled. A request the app
   * answers synchronously is never in it (nothing else runs until it has its Response).
   */
  readonly inFlight: InFlight<Request>;
  /** What the app handed to waitUntil, for the drain to wait for (background-tasks.ts). */
  readonly background: BackgroundTasks;
  /** What the runtime's server cannot send (RuntimeAdapter.unsendableResponse), for the WebSocket layer's refusals too. */
  readonly unsendableResponse?: Unsendable;
}

/** RuntimeAdapter.unsendableResponse: why the runtime's server cannot send a response, if so. */
export type Unsendable = NonNullable<RuntimeAdapter["unsendableResponse"]>;

/**
 * `response`, or where the runtime's server cannot send it (Deno ends the process on a control
 * character in a header value) a 500 with the default headers, the reason logged as an error, as
 * Node's server refuses such a response and tsuv logs it there.
 */
export function sendableResponse(
  response: Response,
  unsendable: Unsendable,
  logger: Logger,
  defaultHeaders: DefaultHeaders | null,
): Response {
  const reason = unsendable(response);
  if (reason === undefined) return response;
  logger.error(`Exception while sending the response: ${reason}`);
  return defaultHeaders ? defaultHeaders.apply(internalServerError()) : internalServerError();
}

/** "/a?x=1" from "http://host:8000/a?x=1" without parsing a URL. */
export function requestTarget(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? "/" : url.slice(slash);
}

function notAResponse(value: unknown): TypeError {
  // An app where its Response was due: the export is a factory served without --factory (uvicorn
  // calls an app that takes no arguments; in JavaScript nothing tells a factory from a handler).
  if (typeof (value as { fetch?: unknown } | null)?.fetch === "function")
    return new TypeError(
      "The app returned an app (an object with fetch()), not a Response: is the export a factory? Serve it with --factory.",
    );
  return new TypeError(`The app returned ${typeof value}, not a Response.`);
}

export function createRequestHandler(
  config: Config,
  app: FetchHandler,
  logger: Logger,
  onMaxRequests: () => void,
  /**
   * What the runtime's server does for us or makes cheap (RuntimeCapabilities), and what it cannot
   * send (RuntimeAdapter.unsendableResponse).
   */
  runtime: Pick<RuntimeCapabilities, "writesDateHeader" | "peerAddressCheap" | "fetchDecoding"> &
    Pick<RuntimeAdapter, "unsendableResponse"> = {
    writesDateHeader: false,
    peerAddressCheap: false,
    fetchDecoding: null,
  },
  /**
   * Given when the app has no WebSocket hooks for tsuv to serve: called with each response that
   * carries crossws hooks (`response.crossws`, what h3's defineWebSocketHandler returns), which
   * would otherwise go out as a bare 426 with nothing said (server.ts warns once).
   */
  onUnservedHooks?: () => void,
): { handler: FetchHandler; state: HandlerState } {
  const { defaultHeaders, concurrency, trusted, countRequest } = createRequestPolicy(
    config,
    logger,
    onMaxRequests,
    runtime.writesDateHeader,
    runtime.fetchDecoding,
  );
  // Fixed for the logger's life (logging.ts): read once, not per request.
  const accessEnabled = logger.accessEnabled;
  // Did the app replace globalThis.Response as it loaded or started? Then `instanceof Response` also
  // holds for its look-alikes, which are adopted (native-response.ts); otherwise nothing is asked.
  const lookAlikes = responseGlobalReplaced();
  if (lookAlikes) {
    logger.warning(
      "The app replaced globalThis.Response with a class of its own (as @hono/node-server's serve() does): each of its answers is copied into the runtime's Response.",
    );
  }
  // Which question is cheaper first: is the peer a trusted proxy, or did the request come with
  // X-Forwarded-* at all? Both must hold. Reading headers is dear on Deno (the whole list is copied
  // out of its HTTP layer) and the peer is dear on Bun (a native call), so each runtime asks the
  // cheap one first; a client connecting directly to a Deno or Node server costs a memoised lookup.
  // With the access log on, every request's peer is read for its line anyway (and kept: RequestInfo
  // memoises it), so the peer comes first there too: on Bun a direct client's request then never
  // builds its Headers (1,500 and 2,200 instructions of Bun.serve's own in two runs of
  // bench/raw/bun-headers.ts; 1,900 fewer for tsuv on Bun with an untrusted client).
  const peerFirst = runtime.peerAddressCheap || accessEnabled;
  installRequestIp();
  const background = new BackgroundTasks((error) =>
    logger.exception("Exception in a task the app handed to waitUntil", error),
  );
  installRequestWaitUntil(background);
  const callApp = app as FetchWithContext;
  const { executionContext } = background;
  const inFlight = new InFlight<Request>();
  // --ws bun: the app's fetch may upgrade with Bun's server.upgrade() (RequestInfo.upgraded).
  const nativeUpgrades = config.ws === "bun";
  const unsendable = runtime.unsendableResponse;

  /** `late`: the answer came after the app awaited something, time in which its client may have gone. */
  const finish = (request: Request, info: RequestInfo, response: Response, late = false): Response => {
    // What fetch returned after upgrading is not sent; the socket has its own log lines.
    if (nativeUpgrades && info.upgraded) return response;
    if (onUnservedHooks !== undefined && (response as { crossws?: unknown }).crossws !== undefined)
      onUnservedHooks();
    let out = defaultHeaders.apply(response);
    if (unsendable !== undefined) out = sendableResponse(out, unsendable, logger, defaultHeaders);
    // A response to a client that has gone is never sent: no access line, as uvicorn writes none
    // (and as node-app-handler.ts writes none when nothing was sent). The app's exception, if it
    // failed on the lost body, is still logged (fail), as uvicorn logs it.
    if (accessEnabled && !(late && info.clientGone?.() === true)) {
      try {
        const { hostname, port } = info.remoteAddr;
        logger.access(
          clientLabel(hostname, port),
          request.method,
          requestTarget(request.url),
          info.httpVersion ?? "1.1",
          // Response.error() (status 0), and a Response whose body the app already read, go out as
          // every adapter's 500. Asked only here: the line must say what the client got.
          out.bodyUsed ? 500 : out.status || 500,
        );
      } catch {
        // Deno closes a request the app upgraded itself (Deno.upgradeWebSocket): its method and
        // url getters throw "Request closed". There is no access line to write for it.
      }
    }
    return out;
  };

  const fail = (request: Request, info: RequestInfo, error: unknown): Response => {
    logger.exception("Exception in fetch handler", error);
    return finish(request, info, internalServerError(), true);
  };

  /** An answer that is not the runtime's Response: another fetch implementation's is adopted. */
  const notNative = (request: Request, info: RequestInfo, value: unknown, late: boolean): Response => {
    const adopted = adoptForeignResponse(value);
    return adopted ? finish(request, info, adopted, late) : fail(request, info, notAResponse(value));
  };

  /**
   * The app answered with a promise: tracked in flight until it settles. The adapter's own work
   * around the wait runs in this one (RequestInfo.awaiting/answered), not in a promise it would
   * chain on ours: on Bun that second promise cost ~1,300 instructions per async request.
   */
  const settleLater = (request: Request, info: RequestInfo, result: Promise<Response>): Promise<Response> => {
    const entry = inFlight.add(request);
    if (info.awaiting !== undefined) info.awaiting();
    return result.then(
      (response) => {
        inFlight.delete(entry);
        try {
          return (response instanceof Response && (!lookAlikes || isNativeResponse(response))) ||
            (nativeUpgrades && info.upgraded)
            ? finish(request, info, response, true)
            : notNative(request, info, response, true);
        } finally {
          if (info.answered !== undefined) info.answered();
        }
      },
      (error) => {
        inFlight.delete(entry);
        try {
          return fail(request, info, error);
        } finally {
          if (info.answered !== undefined) info.answered();
        }
      },
    );
  };

  const handle: FetchHandler = (request, peer) => {
    if (countRequest !== null) countRequest();

    let info = peer;
    let forwarded = request;
    if (
      trusted !== null &&
      (peerFirst
        ? (trusted.all || trusted.has(peer.remoteAddr.hostname)) && hasForwardedHeaders(request.headers)
        : hasForwardedHeaders(request.headers))
    ) {
      const proxied = applyProxyHeaders(request, peer.remoteAddr, trusted);
      if (proxied.client !== peer.remoteAddr)
        info = peer.withClient
          ? peer.withClient(proxied.client)
          : { remoteAddr: proxied.client, completed: peer.completed };
      if (proxied.scheme) forwarded = withScheme(request, proxied.scheme);
    }

    attachInfo(forwarded, info);
    let result: Response | Promise<Response>;
    try {
      result = callApp(forwarded, info, executionContext);
    } catch (error) {
      return fail(request, info, error);
    }
    if (result instanceof Response && (!lookAlikes || isNativeResponse(result))) {
      return finish(request, info, result);
    }
    if (result && typeof (result as Promise<Response>).then === "function") {
      return settleLater(request, info, result as Promise<Response>);
    }
    // Bun's convention after server.upgrade(): fetch returns nothing.
    if (nativeUpgrades && info.upgraded) return result;
    return notNative(request, info, result, false);
  };

  // Without --limit-concurrency (the default), `handle` is the handler: no per-request work for it.
  // uvicorn's 503 over the limit, access-logged as uvicorn does (with the peer as it connected).
  const refuse = (request: Request, peer: RequestInfo) => finish(request, peer, serviceUnavailable());
  const handler = concurrency === null ? handle : limitConcurrency(concurrency, handle, refuse);
  return {
    handler,
    state: { inFlight, background, defaultHeaders, concurrency, trusted, unsendableResponse: unsendable },
  };
}

/**
 * --limit-concurrency around the handler: over the limit, uvicorn's 503; an admitted request holds
 * its slot, as uvicorn's task does, until its response is done: body sent completely, or the client
 * gone. Only the adapter sees that (a streamed body goes on long after the app returned its
 * Response), so it says so per request with RequestInfo.completed (ServeOptions.trackCompletion):
 * Deno's own `info.completed`, node:http's `res` 'close', Bun's pendingRequests count (settled
 * synchronously as the next request arrives, see adapter.ts Completion). That is exact and leaves
 * the Response as the app made it: wrapping its body to see the end would cost a stream per
 * response and, on Bun, change its framing (a string body goes out chunked, without its
 * content-type). An adapter that gives no `completed` gets the slot back once the app has answered.
 */
export function limitConcurrency(
  concurrency: ConcurrencyLimit,
  handle: FetchHandler,
  refuse: (request: Request, peer: RequestInfo) => Response,
): FetchHandler {
  const release = () => concurrency.release();
  const answered = (response: Response): Response => {
    release();
    return response;
  };
  const failed = (error: unknown): never => {
    release();
    throw error;
  };
  return (request, peer) => {
    if (!concurrency.acquire()) return refuse(request, peer);
    const completed = peer.completed;
    if (completed !== undefined) {
      completed.then(release, release);
      return handle(request, peer);
    }
    let result: Response | Promise<Response>;
    try {
      result = handle(request, peer);
    } catch (error) {
      return failed(error);
    }
    return result instanceof Response ? answered(result) : result.then(answered, failed);
  };
}

function hasForwardedHeaders(headers: Headers): boolean {
  return headers.has("x-forwarded-for") || headers.has("x-forwarded-proto");
}

/**
 * A trusted X-Forwarded-Proto changes the URL the app sees (http -> https). Shared with the
 * WebSocket upgrade (src/websocket.ts), whose proxies may say ws/wss: those map to http/https.
 */
export function withScheme(request: Request, scheme: string): Request {
  const url = request.url;
  const colon = url.indexOf(":");
  const current = url.slice(0, colon);
  const wanted = scheme === "wss" ? "https" : scheme === "ws" ? "http" : scheme;
  if (current === wanted) return request;
  return withUrl(request, wanted + url.slice(colon));
}
