/**
 * Bun.serve's `routes` (Bun 1.2.3+), served on every runtime: an app object written for `bun app.ts`
 * (`export default { routes: { "/users/:id": (req) => ... }, fetch }`) answers the same under tsuv on
 * Node, Bun and Deno. tsuv matches the routes itself, in front of the app's fetch, instead of handing
 * them to Bun.serve: every request then takes tsuv's one path (access log, default headers,
 * --limit-concurrency, drain), on Bun as on the others.
 *
 * Bun's rules, as Bun 1.4.5 answers (test/bun-routes.test.ts asks Bun.serve and tsuv the same):
 * - a route matches the request's path as sent (percent-encoded, no query), segment by segment: a
 *   literal segment before a `:param` before a trailing `*`, trying the next where a deeper one fails;
 * - `:name` takes one non-empty segment, percent-decoded (a bad escape becomes U+FFFD), as
 *   `request.params.name` (`{}` on a route without any); `*` takes the rest, one segment at least
 *   (`/api/*` serves `/api/` and `/api/a/b`, not `/api`);
 * - a route's value is a handler `(request, server)`, a Response (the same answer to every method), an
 *   object of methods (HEAD falls back to GET; a method it lacks passes on to the next route that
 *   matches), or false (straight to fetch);
 * - no route: the app's fetch, or an empty 404 without one;
 * - the table is `routes`, or `static` where there is no `routes` (bunRoutesOf).
 * A static Response is answered as Bun.serve answers it, ETag, 304, 412 and content type included
 * (static-response.ts); `request.cookies` is a CookieMap's common part (request-cookies.ts). Not
 * done, and said in the README: `{ dir }` routes, HTML imports and Bun.file() routes (refused at
 * start-up, naming the route).
 */
import { isPlainObject } from "./app-serve-options.ts";
import { AppLoadError } from "./errors.ts";
import { isResponseLike } from "./foreign-response.ts";
import { newResponse } from "./native-response.ts";
import { percentDecode } from "./percent-decode.ts";
import { RequestCookies, withSetCookies } from "./request-cookies.ts";
import { requestTarget } from "./request-handler.ts";
import type { FetchHandler } from "./runtime/adapter.ts";
import { staticAnswer } from "./static-response.ts";

type RouteHandler = (request: Request, server: unknown) => Response | Promise<Response>;

/** What a route answers with: its handler for any method, or by method. */
interface RouteEntry {
  /** The route's `:param` names, in the order of their segments. */
  names: string[];
  /** Straight to fetch (the route's value is false). */
  off: boolean;
  any?: RouteHandler;
  methods?: Map<string, RouteHandler>;
}

/** One path segment's worth of the route tree. */
interface RouteNode {
  literal: Map<string, RouteNode>;
  param?: RouteNode;
  /** The route that ends here. */
  end?: RouteEntry;
  /** The route whose `*` starts here. */
  rest?: RouteEntry;
}

const newNode = (): RouteNode => ({ literal: new Map() });

/** An app object's route table, and the property it came from (for errors). */
export interface RouteTable {
  key: "routes" | "static";
  table: Record<string, unknown>;
}

/**
 * The app object's own `routes` if it is a plain object (Hono's and Elysia's `routes` are arrays).
 * Where `routes` is absent or undefined, its `static` instead: the option's name before Bun 1.2.3,
 * which Bun 1.4.5 still serves that way (functions and objects of methods too; beside a `routes`,
 * even `{}`, Bun ignores it).
 */
export function bunRoutesOf(holder: Record<string, unknown>): RouteTable | undefined {
  const key = Object.hasOwn(holder, "routes") && holder.routes !== undefined ? "routes" : "static";
  if (!Object.hasOwn(holder, key)) return undefined;
  const table = holder[key];
  if (typeof table !== "object" || table === null) return undefined;
  return isPlainObject(table) ? { key, table: table as Record<string, unknown> } : undefined;
}

/** A static route: a Response of any implementation (foreign-response.ts). */
const isResponse = (value: unknown): value is Response => isResponseLike(value);

function routeHandler(value: unknown, where: string): RouteHandler {
  if (typeof value === "function") return value as RouteHandler;
  if (isResponse(value)) return staticAnswer(value);
  throw new AppLoadError(`${where} is ${kindOf(value)}; a method's handler is a function or a Response.`);
}

/** What a value tsuv does not serve as a route is, for the error. */
function kindOf(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return typeof value === "string" ? `the string "${value}"` : String(value);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.dir === "string") return "a directory route ({ dir }), which only Bun.serve serves";
  // Bun.file(path): Bun.serve serves the file (Range, Last-Modified, 304), or falls through to fetch
  // where it does not exist. A plain Blob it refuses.
  if (value instanceof Blob) {
    return typeof record.exists === "function" && typeof record.name === "string"
      ? `a file (Bun.file("${record.name}")), which only Bun.serve serves as a route: answer it from a function instead, () => new Response(Bun.file(...))`
      : "a Blob";
  }
  // An HTML import: Bun's HTMLBundle as `bun app.ts` gives it (its only property, `index`, is a
  // getter on its prototype), or the manifest `bun build` writes in its place.
  const htmlBundle = Object.prototype.toString.call(value) === "[object HTMLBundle]";
  if (htmlBundle || (typeof record.index === "string" && Array.isArray(record.files))) {
    return "an HTML import, which Bun's bundler serves through Bun.serve";
  }
  return "an object";
}

function routeEntry(value: unknown, names: string[], where: string): RouteEntry {
  if (value === false) return { names, off: true };
  if (typeof value === "function" || isResponse(value)) {
    return { names, off: false, any: routeHandler(value, where) };
  }
  if (kindOf(value) !== "an object") {
    throw new AppLoadError(
      `${where} is ${kindOf(value)}; tsuv serves a route that is a function, a Response, an object of methods or false.`,
    );
  }
  const methods = new Map<string, RouteHandler>();
  for (const [method, handler] of Object.entries(value as object)) {
    if (!/^[A-Z]+$/.test(method)) {
      throw new AppLoadError(
        `${where} has the key "${method}"; the keys of a route's object are methods (GET, POST, ...).`,
      );
    }
    methods.set(method, routeHandler(handler, `${where}.${method}`));
  }
  // Bun.serve refuses one too: it would match and answer nothing, leaving each request to fetch.
  if (methods.size === 0) {
    throw new AppLoadError(
      `${where} is an object with no methods; tsuv serves a route that is a function, a Response, an object of methods (GET, POST, ...) or false.`,
    );
  }
  return { names, off: false, methods };
}

/** The route tree; throws AppLoadError naming the first route tsuv cannot serve. */
function compile({ key, table }: RouteTable, label: string): RouteNode {
  const root = newNode();
  for (const [path, value] of Object.entries(table)) {
    const where = `Error loading app. "${label}" ${key}["${path}"]`;
    if (!path.startsWith("/")) throw new AppLoadError(`${where}: a route is a path starting with "/".`);
    // Bun.serve refuses these too (its router matches the path as sent, percent-encoded).
    if (/[^\x21-\x7e]/.test(path)) {
      throw new AppLoadError(
        `${where}: encode the characters outside printable ASCII (%C3%A9 for é), as Bun requires.`,
      );
    }
    const segments = path.slice(1).split("/");
    const names: string[] = [];
    let node = root;
    let wildcard = false;
    for (const [i, segment] of segments.entries()) {
      if (segment === "*" && i === segments.length - 1) {
        wildcard = true;
      } else if (segment.startsWith(":") && segment.length > 1) {
        names.push(segment.slice(1));
        node.param ??= newNode();
        node = node.param;
      } else {
        const next = node.literal.get(segment) ?? newNode();
        node.literal.set(segment, next);
        node = next;
      }
    }
    const entry = routeEntry(value, names, where);
    if (wildcard) node.rest = entry;
    else node.end = entry;
  }
  return root;
}

/** The handler of `entry` for `method`, or undefined where the route passes it on. */
function handlerFor(entry: RouteEntry, method: string): RouteHandler | "fetch" | undefined {
  if (entry.off) return "fetch";
  if (entry.any) return entry.any;
  const methods = entry.methods as Map<string, RouteHandler>;
  return methods.get(method) ?? (method === "HEAD" ? methods.get("GET") : undefined);
}

/** The path of request.url as sent: requestTarget's, without its query or fragment. */
function pathOf(url: string): string {
  const target = requestTarget(url);
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

interface Match {
  handler: RouteHandler | "fetch";
  entry: RouteEntry;
}

function find(
  node: RouteNode,
  segments: string[],
  i: number,
  values: string[],
  method: string,
): Match | undefined {
  if (i === segments.length) {
    const handler = node.end && handlerFor(node.end, method);
    return handler === undefined ? undefined : { handler, entry: node.end as RouteEntry };
  }
  const segment = segments[i] as string;
  const literal = node.literal.get(segment);
  const found = literal && find(literal, segments, i + 1, values, method);
  if (found) return found;
  if (node.param && segment !== "") {
    values.push(segment);
    const inParam = find(node.param, segments, i + 1, values, method);
    if (inParam) return inParam;
    values.pop();
  }
  const handler = node.rest && handlerFor(node.rest, method);
  return handler === undefined ? undefined : { handler, entry: node.rest as RouteEntry };
}

/**
 * `request[key] = value`, or a property defined over one the request's class has (a request that
 * reached tsuv through a Bun.serve route of its own is a BunRequest, whose params and cookies are
 * getters without setters).
 */
function setOwn(request: Request, key: "params" | "cookies", value: unknown): void {
  if (key in request) {
    Object.defineProperty(request, key, { value, enumerable: true, configurable: true, writable: true });
  } else {
    (request as unknown as Record<string, unknown>)[key] = value;
  }
}

/** An empty 404, as Bun.serve answers a request no route takes when the app has no fetch. */
const notFound: FetchHandler = () => newResponse(null, { status: 404 });

/**
 * The app's fetch with its routes in front. `fetch` is the app's own (bound), or undefined; `label`
 * names the app in errors. Throws AppLoadError for a route tsuv cannot serve.
 */
export function withBunRoutes(
  routes: RouteTable,
  fetch: FetchHandler | undefined,
  label: string,
): FetchHandler {
  const root = compile(routes, label);
  const fallback = fetch ?? notFound;
  return (request, info) => {
    const values: string[] = [];
    const match = find(root, pathOf(request.url).slice(1).split("/"), 0, values, request.method);
    if (match === undefined || match.handler === "fetch") return fallback(request, info);
    const params: Record<string, string> = {};
    const names = match.entry.names;
    for (let i = 0; i < names.length; i++) params[names[i] as string] = percentDecode(values[i] as string);
    // Plain assignments where they can be (cheaper per request than defining a getter); the
    // cookies read their header at first use.
    const cookies = new RequestCookies(request);
    setOwn(request, "params", params);
    setOwn(request, "cookies", cookies);
    const result = match.handler(request, info);
    if (result instanceof Promise) return result.then((response) => withSetCookies(response, cookies));
    return withSetCookies(result, cookies);
  };
}
