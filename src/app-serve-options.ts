/**
 * What an app object written for `bun app.ts`, `deno serve` or the srvx CLI carries beside its
 * fetch, and means to be served with (Bun.serve's `routes` are bun-routes.ts's):
 * - `error(error)` (Bun.serve's and srvx's): an error the app's fetch (or a route, or a middleware)
 *   throws or rejects with is handed to it, and the Response it gives is the answer. Where it gives
 *   none (undefined, or it throws too), the request fails as without the hook: tsuv logs the app's
 *   own error and answers 500. An answered error is not logged: the hook took it, as there.
 * - `middleware` (srvx's): `(request, next) => Response`, run in order in front of fetch, as the
 *   srvx CLI runs an exported list; inside `error`, as srvx puts its error handler first.
 * - `onListen(addr)` (Deno.serve's): called with the address as Deno gives it (denoAddr).
 * Read from an object literal only (app-shapes.ts): a framework's app has its own meanings for these.
 */
import { isResponseLike } from "./foreign-response.ts";
import type { BoundAddress, FetchHandler, RequestInfo } from "./runtime/adapter.ts";

/**
 * An object literal's (or Object.create(null)'s): not a class instance, whose options of these
 * names are its framework's own (Elysia's error(), Hono's routes).
 */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type ErrorHook = (error: unknown) => unknown;

/** `fetch`, with `hook` (called with `holder` as this) answering what it throws. */
export function withErrorHook(fetch: FetchHandler, hook: ErrorHook, holder: object): FetchHandler {
  const recover = async (error: unknown): Promise<Response> => {
    let answer: unknown;
    try {
      answer = await hook.call(holder, error);
    } catch {
      throw error;
    }
    if (isResponseLike(answer)) return answer as Response;
    throw error;
  };
  return (request: Request, info: RequestInfo) => {
    let result: Response | Promise<Response>;
    try {
      result = fetch(request, info);
    } catch (error) {
      return recover(error);
    }
    return result instanceof Promise ? result.catch(recover) : result;
  };
}

type Middleware = (
  request: Request,
  next: () => Response | Promise<Response>,
) => Response | Promise<Response>;

/** srvx's `middleware` option, if it is a list of functions (anything else is not srvx's). */
export function middlewareOf(holder: Record<string, unknown>): Middleware[] | undefined {
  const list = holder.middleware;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.every((item) => typeof item === "function") ? (list as Middleware[]) : undefined;
}

/** `fetch` behind `middleware`, the first outermost; each `next()` goes on with the same request. */
export function withMiddleware(fetch: FetchHandler, middleware: readonly Middleware[]): FetchHandler {
  let composed = fetch;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const layer = middleware[i] as Middleware;
    const next = composed;
    composed = (request, info) => layer(request, () => next(request, info));
  }
  return composed;
}

/**
 * The address as Deno.serve's onListen gets it (a Deno.NetAddr or Deno.UnixAddr), for an app object
 * written for `deno serve` (`export default { fetch, onListen(addr) {...} }`).
 */
export function denoAddr(address: BoundAddress): object {
  if (address.kind === "tcp") return { transport: "tcp", hostname: address.host, port: address.port };
  if (address.kind === "unix") return { transport: "unix", path: address.path };
  return address.tcp
    ? { transport: "tcp", hostname: address.tcp.host, port: address.tcp.port }
    : { transport: "unix", path: "" };
}
