/**
 * What a fetch app gets beside the Request on Node (RequestInfo, Deno's ServeHandlerInfo shape),
 * as bun-request-info.ts is for Bun: the peer, read from the socket only when asked; `completed`
 * per request when --limit-concurrency tracks it; the client a trusted proxy named; and the
 * `incoming.socket` that apps written for @hono/node-server read.
 */

import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { onResponseDone } from "../response-done.ts";
import type { ClientAddress, Completion, RequestInfo } from "./adapter.ts";
import { NO_PEER } from "./peer.ts";

const kInfo = Symbol("tsuv.requestInfo");

/**
 * One RequestInfo per connection: every request on a kept-alive connection has the same peer, and
 * the HTTP version of its first (a client keeps to one version on a connection).
 */
export function requestInfo(socket: Socket & { [kInfo]?: RequestInfo }, res: ServerResponse): RequestInfo {
  let info = socket[kInfo];
  if (!info) {
    info = new NodeRequestInfo(socket, res.req.httpVersion);
    socket[kInfo] = info;
  }
  return info;
}

/**
 * What @hono/node-server gives a Hono app as its env, as far as its getConnInfo (and the
 * `c.env.incoming.socket.remoteAddress` idiom) reads it: `incoming.socket`'s remoteAddress,
 * remotePort and remoteFamily. Here they name the client after proxy headers, as the access log
 * and `info.remoteAddr` do, and `incoming` is not the IncomingMessage itself (its body and response
 * are tsuv's to read and write). Built on each read; nothing is spent unless the app asks.
 */
abstract class NodeInfo implements RequestInfo {
  abstract readonly remoteAddr: ClientAddress;
  abstract readonly httpVersion: string | undefined;
  get incoming(): { socket: { remoteAddress?: string; remotePort?: number; remoteFamily?: string } } {
    const { hostname, port } = this.remoteAddr;
    if (hostname === "") return { socket: {} };
    return {
      socket: {
        remoteAddress: hostname,
        remotePort: port,
        remoteFamily: hostname.includes(":") ? "IPv6" : "IPv4",
      },
    };
  }
  /** The same request with the client a trusted proxy named (request-handler.ts). */
  withClient(client: ClientAddress): RequestInfo {
    return new ForwardedInfo(client, this);
  }
  abstract clientGone(): boolean;
}

/** The peer of a request: read from the socket only when the app (or the access log) asks. */
class NodeRequestInfo extends NodeInfo {
  #socket: Socket;
  #addr: ClientAddress | undefined;
  readonly httpVersion: string;
  constructor(socket: Socket, httpVersion: string) {
    super();
    this.#socket = socket;
    this.httpVersion = httpVersion;
  }
  get remoteAddr(): ClientAddress {
    if (!this.#addr) {
      const hostname = this.#socket.remoteAddress;
      this.#addr = hostname === undefined ? NO_PEER : { hostname, port: this.#socket.remotePort ?? 0 };
    }
    return this.#addr;
  }
  clientGone(): boolean {
    return this.#socket.destroyed;
  }
}

/** A request whose client a trusted proxy named; `completed` stays the connection's. */
class ForwardedInfo extends NodeInfo {
  readonly remoteAddr: ClientAddress;
  // Read now, as request-handler.ts did before this class: a CompletionInfo makes its promise on
  // the first read, which must come before the app runs.
  readonly completed: Completion | undefined;
  readonly httpVersion: string | undefined;
  readonly #peer: RequestInfo;
  constructor(client: ClientAddress, peer: RequestInfo) {
    super();
    this.remoteAddr = client;
    this.completed = peer.completed;
    this.httpVersion = peer.httpVersion;
    this.#peer = peer;
  }
  clientGone(): boolean {
    return this.#peer.clientGone?.() === true;
  }
}

/**
 * The RequestInfo of one request, with `completed` (ServeOptions.trackCompletion): settled once
 * node:http's response is finished or its client is gone (response-done.ts, which also covers a
 * pipelined response still queued when the client leaves).
 */
class CompletionInfo extends NodeInfo {
  readonly #peer: RequestInfo;
  readonly #socket: Socket;
  readonly #res: ServerResponse;
  #completed: Promise<void> | undefined = undefined;
  constructor(peer: RequestInfo, socket: Socket, res: ServerResponse) {
    super();
    this.#peer = peer;
    this.#socket = socket;
    this.#res = res;
  }
  /** Made on first read: for an admitted request, before the app runs; a refused one never has it. */
  get completed(): Promise<void> {
    this.#completed ??= new Promise((resolve) => onResponseDone(this.#res, this.#socket, () => resolve()));
    return this.#completed;
  }
  get remoteAddr(): ClientAddress {
    return this.#peer.remoteAddr;
  }
  get httpVersion(): string | undefined {
    return this.#peer.httpVersion;
  }
  clientGone(): boolean {
    return this.#socket.destroyed;
  }
}

export function trackedRequestInfo(socket: Socket, res: ServerResponse): RequestInfo {
  return new CompletionInfo(requestInfo(socket, res), socket, res);
}
