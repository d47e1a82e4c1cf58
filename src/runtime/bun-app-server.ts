/**
 * What an app that holds Bun's Server itself gets under tsuv (RunningServer.appServer): Elysia's
 * `app.server`, which its own listen() would set, read by `context.server` (IP plugins call
 * `server.requestIP(request)`) and by its `.ws()` routes (`server.upgrade(request, { data })`).
 * Per-request calls go through the request's own info (BunRequestInfo, found by the request the
 * app was given), so the client is the one proxy headers name and upgrades get tsuv's bookkeeping
 * (--ws bun); a request tsuv did not hand the app is not known here (null, false).
 */
import { requestIP } from "../app-server.ts";
import { requestInfoOf } from "../request-ip.ts";
import type { NativeUpgradeOptions } from "../websocket-native.ts";
import { BunRequestInfo } from "./bun-request-info.ts";

/** The part of Bun's Server read here. */
export interface BunServerLike {
  readonly port: number | undefined;
  readonly hostname?: string | undefined;
  readonly url?: URL;
  readonly pendingRequests: number;
  publish(topic: string, data: string | ArrayBufferView | ArrayBuffer, compress?: boolean): number;
  subscriberCount?(topic: string): number;
}

function infoOf(request: Request): BunRequestInfo | undefined {
  const info = requestInfoOf(request);
  return info instanceof BunRequestInfo ? info : undefined;
}

export function bunAppServer(server: BunServerLike): object {
  return {
    get port() {
      return server.port;
    },
    get hostname() {
      return server.hostname;
    },
    get url() {
      return server.url;
    },
    get pendingRequests() {
      return server.pendingRequests;
    },
    requestIP,
    timeout: (request: Request, seconds: number) => infoOf(request)?.timeout(request, seconds),
    upgrade: (request: Request, options?: NativeUpgradeOptions) =>
      infoOf(request)?.upgrade(request, options) ?? false,
    publish: (topic: string, data: string | ArrayBufferView | ArrayBuffer, compress?: boolean) =>
      server.publish(topic, data, compress),
    subscriberCount: (topic: string) => server.subscriberCount?.(topic) ?? 0,
  };
}
