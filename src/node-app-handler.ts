/**
 * The per-request path around a node-interface app (Express, Koa, a `(req, res)` listener): what
 * request-handler.ts does for fetch apps, on node:http's request and response objects, so that
 * uvicorn's per-request options mean the same for both kinds of app:
 * - --limit-concurrency: over the limit, uvicorn's 503 and a closed connection; a slot is held
 *   until the response is finished or the client is gone (response-done.ts), streamed bodies
 *   included; at the limit, a response the app has ended counts as finished (see admit()).
 * - --limit-max-requests: counted per request, as for fetch apps.
 * - default headers (`server`, --header): set before the app runs, so any header the app sets
 *   replaces ours. node:http writes its own `date` (res.sendDate); --no-date-header turns it off.
 * - the access log: one line per response, once it is done, with the status the app sent. With
 *   --proxy-headers the line names the client from a trusted X-Forwarded-For, as uvicorn's does.
 *   The app's own view of the peer (req.socket) is left alone: Express (`trust proxy`) and Koa
 *   (`app.proxy`) read X-Forwarded-* themselves.
 * - --root-path: put in front of req.url, as uvicorn puts it in front of the ASGI path.
 * - an exception thrown by the app: logged, and a 500 if nothing was sent yet.
 *
 * Portable: it only touches the node:http objects it is given, never a runtime global.
 */
import type { Config } from "./config.ts";
import { statusPhrase } from "./http-status.ts";
import { InFlight } from "./in-flight.ts";
import { clientLabel, type Logger } from "./logging.ts";
import type { DefaultHeaders } from "./middleware/default-headers.ts";
import { SERVICE_UNAVAILABLE } from "./middleware/limits.ts";
import { proxiedClient, type TrustedHosts } from "./middleware/proxy-headers.ts";
import { withRootPathTarget } from "./middleware/root-path.ts";
import { createRequestPolicy, type SharedPolicy } from "./request-policy.ts";
import { onResponseDone } from "./response-done.ts";
import type { ClientAddress, NodeRequestListener } from "./runtime/adapter.ts";
import { NO_PEER } from "./runtime/peer.ts";

/** The parts of node:http's IncomingMessage used here (typed locally: the core has no node types). */
interface NodeRequest {
  method?: string;
  url?: string;
  httpVersion?: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: {
    remoteAddress?: string;
    remotePort?: number;
    once(event: "close", listener: () => void): unknown;
  } | null;
}

/** The parts of node:http's ServerResponse used here. */
interface NodeResponse {
  statusCode: number;
  sendDate: boolean;
  readonly headersSent: boolean;
  /** The app called end(): the whole response is written, if not yet sent. */
  readonly writableEnded: boolean;
  setHeader(name: string, value: string | string[]): unknown;
  end(body?: string): unknown;
  destroy(): unknown;
  readonly socket?: unknown;
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

export interface NodeAppState extends SharedPolicy {
  /** Requests whose response is not finished yet, for the drain's "Cancel N running request(s)" line. */
  readonly inFlight: InFlight<NodeRequest>;
}

/** uvicorn's over-limit answer (limits.ts), as node:http writes it. */
function refuse(res: NodeResponse): void {
  const { status, body, headers } = SERVICE_UNAVAILABLE;
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(body);
}

function internalError(res: NodeResponse): void {
  answerWith(res, 500);
}

/** A plain-text answer with `status`'s phrase, or a cut connection once the app has sent headers. */
function answerWith(res: NodeResponse, status: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.end(statusPhrase(status));
}

/** An error's own HTTP status (http-errors' `status`, serve-static's `statusCode`), if it has one. */
function errorStatus(error: unknown): number | undefined {
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = typeof status === "number" ? status : statusCode;
  return typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599 ? code : undefined;
}

/**
 * The `next` a connect-style middleware served as the whole app gets (serve-static, an Express
 * Router, SvelteKit's handler): what finalhandler does after Express's last middleware, so that a
 * request no middleware answers is not left hanging (serve-static threw `next is not a function`,
 * the Router refused every request). next() (or Express's next('route'/'router')) -> 404; next(err)
 * -> the error's own 4xx/5xx status, or 500; a 5xx is logged as the app's exception. A second call,
 * or one after the app ended the response, changes nothing.
 */
function chainEnd(res: NodeResponse, logger: Logger): (error?: unknown) => void {
  return (error) => {
    if (res.writableEnded) return;
    if (error === undefined || error === null || error === "route" || error === "router") {
      answerWith(res, 404);
      return;
    }
    const status = errorStatus(error) ?? 500;
    if (status >= 500) logger.exception("Exception in node handler", error);
    answerWith(res, status);
  };
}

/**
 * The default headers as node:http takes them: one setHeader per name, repeated names as a list.
 * `sendDate`: node:http writes the built-in date itself, so it is left out here.
 */
function headerList(defaults: DefaultHeaders, sendDate: boolean): [string, string | string[]][] {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of defaults.entries()) {
    if (name === "date" && sendDate) continue;
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  return [...grouped].map(([name, values]) => [name, values.length === 1 ? (values[0] as string) : values]);
}

function peerOf(req: NodeRequest): ClientAddress {
  const socket = req.socket;
  const hostname = socket?.remoteAddress;
  // A unix socket has no peer address (uvicorn's client is None there too): see runtime/peer.ts.
  return hostname === undefined ? NO_PEER : { hostname, port: socket?.remotePort ?? 0 };
}

/** The peer as uvicorn's access log names it: the forwarded client when a trusted proxy says so. */
function clientOf(req: NodeRequest, peer: ClientAddress, trusted: TrustedHosts | null): ClientAddress {
  const forwardedFor = req.headers["x-forwarded-for"];
  if (trusted === null || forwardedFor === undefined) return peer;
  // node:http joins a repeated X-Forwarded-For with ", " already; an array would come from a shim.
  return proxiedClient(peer, Array.isArray(forwardedFor) ? forwardedFor.join(", ") : forwardedFor, trusted);
}

export function createNodeAppHandler(
  config: Config,
  app: NodeRequestListener,
  logger: Logger,
  onMaxRequests: () => void,
  /** `app` is a middleware that calls next() for what it does not answer (LoadedApp.middleware). */
  middleware = false,
): { listener: NodeRequestListener; state: NodeAppState } {
  const { defaultHeaders, concurrency, trusted, countRequest } = createRequestPolicy(
    config,
    logger,
    onMaxRequests,
  );
  // node:http's own date, unless --no-date-header, or a --header date:X that preset carries instead.
  const sendDate = config.dateHeader && !config.headers.some(([name]) => name === "date");
  const preset = headerList(defaultHeaders, sendDate);
  const accessEnabled = logger.accessEnabled;
  const inFlight = new InFlight<NodeRequest>();

  const rootPath = config.rootPath;
  // The responses holding a --limit-concurrency slot, each with what gives it back.
  const holding = new Map<NodeResponse, () => void>();

  /**
   * A slot for `res`, or false (over the limit). At the limit, a response the app has ended but
   * whose 'finish' has not come yet is done for uvicorn's purposes (its task would have ended) and
   * gives its slot back first: Deno's node:http emits 'finish' a turn or more after the client
   * already has the response and has sent its next request on the connection, so under load the
   * count ran ahead of the requests really in flight (140 refusals in 3 s of `wrk -c50` against a
   * limit of 60, before this). The sweep runs only at the limit: no cost below it.
   */
  const admit = (res: NodeResponse): boolean => {
    if (concurrency === null) return true;
    if (!concurrency.acquire()) {
      for (const [held, release] of holding) if (held.writableEnded) release();
      if (!concurrency.acquire()) return false;
    }
    let held = true;
    holding.set(res, () => {
      if (!held) return;
      held = false;
      holding.delete(res);
      concurrency.release();
    });
    return true;
  };

  const listener: NodeRequestListener = (req: NodeRequest, res: NodeResponse) => {
    if (rootPath !== "" && req.url !== undefined) req.url = withRootPathTarget(req.url, rootPath);
    if (!sendDate) res.sendDate = false;
    for (const [name, value] of preset) res.setHeader(name, value);
    const admitted = admit(res);
    const entry = inFlight.add(req);
    // Read now: once the connection is gone (the 503 closes it) some runtimes no longer say (Bun).
    const peer = accessEnabled ? peerOf(req) : NO_PEER;
    onResponseDone(res, req.socket, () => {
      inFlight.delete(entry);
      if (admitted) holding.get(res)?.();
      // Nothing was sent when the client left before the app answered: there is no line to write.
      if (accessEnabled && res.headersSent) {
        const { hostname, port } = clientOf(req, peer, trusted);
        logger.access(
          clientLabel(hostname, port),
          req.method ?? "GET",
          req.url ?? "/",
          req.httpVersion ?? "1.1",
          res.statusCode,
        );
      }
    });
    if (!admitted) {
      refuse(res);
      return;
    }
    if (countRequest !== null) countRequest();
    try {
      const result = (middleware ? app(req, res, chainEnd(res, logger)) : app(req, res)) as unknown;
      // An async listener's rejection would otherwise end the process (an unhandled rejection).
      if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
        (result as Promise<unknown>).then(undefined, (error: unknown) => {
          logger.exception("Exception in node handler", error);
          internalError(res);
        });
      }
    } catch (error) {
      logger.exception("Exception in node handler", error);
      internalError(res);
    }
  };
  return { listener, state: { inFlight, defaultHeaders, concurrency, trusted } };
}
