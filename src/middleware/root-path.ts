/**
 * --root-path (uvicorn's ASGI root_path): an app mounted below a URL path by a proxy that strips
 * that prefix. As uvicorn does since 0.26, the prefix is put back in front of the path the app sees
 * (and the access log shows), so the app can route on, and build links with, the public path.
 */
import { UsageError } from "../errors.ts";
import { withUrl } from "../request-url.ts";

/**
 * The flag's value as it is prepended: `/api` for `/api` or `/api/`, "" (nothing to do) for none
 * or `/`. A value that is not a path would make every request URL wrong: a usage error.
 */
export function normalizeRootPath(raw: string | undefined, source = "--root-path"): string {
  if (raw === undefined || raw === "") return "";
  if (!raw.startsWith("/")) {
    throw new UsageError(`Invalid value for '${source}': '${raw}' must start with '/'.`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[?#\s\u0000-\u001f\u007f]/.test(raw)) {
    throw new UsageError(
      `Invalid value for '${source}': '${raw}' must be a URL path (no query, fragment or spaces).`,
    );
  }
  return raw.replace(/\/+$/, "");
}

/** `http://host/users?x=1` with root `/api`: `http://host/api/users?x=1`. */
export function withRootPathUrl(url: string, rootPath: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? `${url}${rootPath}/` : `${url.slice(0, slash)}${rootPath}${url.slice(slash)}`;
}

/** A node:http request target (`/users?x=1`); `*` (OPTIONS *) and absolute-form targets are left. */
export function withRootPathTarget(target: string, rootPath: string): string {
  return target.startsWith("/") ? rootPath + target : target;
}

/**
 * A fetch handler that sees every request with the root path in front of its path. Outside the
 * request handler, so its access log shows the full path too, as uvicorn's does (request-url.ts:
 * a copy, or for a WebSocket upgrade the original behind a Proxy).
 */
export function withRootPath<Info>(
  handler: (request: Request, info: Info) => Response | Promise<Response>,
  rootPath: string,
): (request: Request, info: Info) => Response | Promise<Response> {
  return (request, info) => handler(withUrl(request, withRootPathUrl(request.url, rootPath)), info);
}
